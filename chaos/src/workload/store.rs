//! Store clients: each talks to one member over the etcd API and reads (linearizable Range), writes (Put) and compare-and-sets (Txn on the value) a handful of keys, recording a Jepsen-style history.
//!
//! A write or cas that errs or times out is `info` (it may still apply), after which the
//! client continues as a new process, as Jepsen does, so a process never has two operations
//! open. A read that errs is `fail`: it changed nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::request_op::Request;
use skiff_proto::etcdserverpb::{Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::history::{Event, EventType, Func};
use crate::tls::ClientTls;

/// How long one operation may take before its outcome counts as unknown.
pub const OP_TIMEOUT: Duration = Duration::from_secs(1);

/// What the store clients share: the history and the run's clock.
#[derive(Clone)]
pub struct Recorder {
    pub start: Instant,
    pub events: Arc<Mutex<Vec<Event>>>,
}

impl Recorder {
    pub fn new(start: Instant) -> Recorder {
        Recorder {
            start,
            events: Arc::default(),
        }
    }

    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn push(&self, e: Event) {
        self.events.lock().push(e);
    }
}

/// The keys of a run: `/chaos/<run>/k0` ...
pub fn keys(run: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("/chaos/{run}/k{i}")).collect()
}

fn channel(tls: &ClientTls, url: &str) -> Option<Channel> {
    tls.store_endpoint(url).ok().map(|e| {
        e.connect_timeout(OP_TIMEOUT)
            .timeout(OP_TIMEOUT)
            .connect_lazy()
    })
}

/// The store member a client talks to, and how (TLS for `https://` URLs).
pub struct Member {
    pub url: String,
    pub tls: ClientTls,
}

/// One client on `member`, until `cancel`; `process` is its first process id, and it takes
/// `process + stride`, `process + 2 * stride`... after each unknown outcome.
pub async fn client(
    member: Member,
    keys: Vec<String>,
    mut process: u64,
    stride: u64,
    seed: u64,
    rec: Recorder,
    cancel: CancellationToken,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let Member { url, tls } = member;
    let Some(channel) = channel(&tls, &url) else {
        return;
    };
    let mut kv = KvClient::new(channel);
    // The last value this client saw per key: cas compares against it.
    let mut seen: Vec<Option<String>> = vec![None; keys.len()];
    let mut n = 0u64;
    while !cancel.is_cancelled() {
        n += 1;
        let k = rng.gen_range(0..keys.len());
        let key = &keys[k];
        let f = match rng.gen_range(0..10) {
            0..=4 => Func::Read,
            5..=7 => Func::Write,
            _ => Func::Cas,
        };
        let value = format!("p{process}-{n}");
        let mut invoke = Event::invoke(process, f, key, rec.now());
        if f != Func::Read {
            invoke.value = Some(value.clone());
        }
        if f == Func::Cas {
            invoke.from = Some(seen[k].clone().unwrap_or_else(|| "none".into()));
        }
        invoke.note = Some(url.clone());
        rec.push(invoke.clone());
        let call = async {
            match f {
                Func::Read => kv
                    .range(RangeRequest {
                        key: key.as_bytes().to_vec(),
                        ..Default::default()
                    })
                    .await
                    .map(|r| {
                        let kvs = r.into_inner().kvs;
                        (
                            kvs.first()
                                .map(|kv| String::from_utf8_lossy(&kv.value).into_owned()),
                            None,
                        )
                    }),
                Func::Write => kv
                    .put(PutRequest {
                        key: key.as_bytes().to_vec(),
                        value: value.as_bytes().to_vec(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| (None, None)),
                Func::Cas => kv
                    .txn(TxnRequest {
                        compare: vec![Compare {
                            result: CompareResult::Equal as i32,
                            target: CompareTarget::Value as i32,
                            key: key.as_bytes().to_vec(),
                            target_union: Some(TargetUnion::Value(
                                invoke.from.clone().unwrap_or_default().into_bytes(),
                            )),
                            range_end: Vec::new(),
                        }],
                        success: vec![RequestOp {
                            request: Some(Request::RequestPut(PutRequest {
                                key: key.as_bytes().to_vec(),
                                value: value.as_bytes().to_vec(),
                                ..Default::default()
                            })),
                        }],
                        failure: Vec::new(),
                    })
                    .await
                    .map(|r| (None, Some(r.into_inner().succeeded))),
            }
        };
        let outcome = tokio::time::timeout(OP_TIMEOUT, call).await;
        let now = rec.now();
        match outcome {
            Ok(Ok((read, succeeded))) => {
                let mut done = invoke.complete(EventType::Ok, now);
                if f == Func::Read {
                    done.value = read.clone();
                    seen[k] = read;
                } else if succeeded != Some(false) {
                    seen[k] = Some(value);
                }
                done.succeeded = succeeded;
                rec.push(done);
            }
            other => {
                let why = match other {
                    Err(_) => "timeout".to_string(),
                    Ok(Err(status)) => format!("{:?}: {}", status.code(), status.message()),
                    Ok(Ok(_)) => String::new(),
                };
                let kind = if f == Func::Read {
                    EventType::Fail
                } else {
                    EventType::Info
                };
                let mut done = invoke.complete(kind, now);
                done.note = Some(why);
                rec.push(done);
                if kind == EventType::Info {
                    process += stride;
                }
                // Let a restarting member come back before the next try.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
