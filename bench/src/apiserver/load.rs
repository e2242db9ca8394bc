//! The two measurements: create latency with N concurrent clients, and watch events delivered per second to M watchers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use skiff_proto::skiffapi::api_client::ApiClient;
use skiff_proto::skiffapi::{CreateRequest, ListRequest, PatchRequest, WatchRequest};
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::{ApiTarget, ApiserverBenchError, Latency};

/// Puts `authorization: Bearer TOKEN` on every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A gRPC client of the apiserver, its bearer token on every call.
pub type Client = ApiClient<InterceptedService<Channel, Bearer>>;

/// `url` as an endpoint, over `tls` when given and the URL is `https://`.
fn endpoint(url: &str, tls: Option<&ClientTlsConfig>) -> Result<Endpoint, ApiserverBenchError> {
    let fail = |message: String| ApiserverBenchError::Connect {
        url: url.to_string(),
        message,
    };
    if tls.is_none() && url.starts_with("https://") {
        return Err(fail(
            "https:// needs the cluster CA (--certificate-authority)".to_string(),
        ));
    }
    let endpoint = Endpoint::from_shared(url.to_string()).map_err(|e| fail(e.to_string()))?;
    let endpoint = skiff_common::tls::with_tls(endpoint, tls).map_err(|e| fail(e.to_string()))?;
    Ok(endpoint.tcp_nodelay(true))
}

/// A client on its own connection.
pub async fn connect(api: &ApiTarget) -> Result<Client, ApiserverBenchError> {
    let (url, token) = (api.url.as_str(), api.token.as_str());
    let fail = |message: String| ApiserverBenchError::Connect {
        url: url.to_string(),
        message,
    };
    let channel = endpoint(url, api.tls.as_ref())?
        .connect()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let header = format!("Bearer {token}")
        .parse()
        .map_err(|_| fail("the token is not ASCII".to_string()))?;
    Ok(ApiClient::with_interceptor(channel, Bearer(header))
        .max_decoding_message_size(256 * 1024 * 1024))
}

pub async fn ensure_namespace(c: &mut Client, ns: &str) -> Result<(), ApiserverBenchError> {
    let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    let req = CreateRequest {
        resource: "namespaces".into(),
        namespace: String::new(),
        object: obj.to_string().into_bytes(),
    };
    match c.create(req).await {
        Ok(_) => Ok(()),
        Err(s) if s.code() == tonic::Code::AlreadyExists => Ok(()),
        Err(s) => Err(s.into()),
    }
}

/// A small pod, as the create benchmarks write it (the same body through either API).
pub fn pod(name: &str) -> Vec<u8> {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}
    })
    .to_string()
    .into_bytes()
}

#[derive(Debug, Clone)]
pub struct CreateReport {
    pub clients: usize,
    pub latency: Latency,
    pub errors: usize,
    pub elapsed: Duration,
}

impl CreateReport {
    pub fn per_second(&self) -> f64 {
        self.latency.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `total` pod creates spread over `clients` concurrent clients, each on its own connection.
pub async fn measure_creates(
    api: &ApiTarget,
    ns: &str,
    clients: usize,
    total: usize,
) -> Result<CreateReport, ApiserverBenchError> {
    let mut admin = connect(api).await?;
    ensure_namespace(&mut admin, ns).await?;
    let run = std::process::id();
    let mut conns = Vec::new();
    for _ in 0..clients.max(1) {
        conns.push(connect(api).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut c in conns {
        let next = next.clone();
        let ns = ns.to_string();
        tasks.push(tokio::spawn(async move {
            let (mut samples, mut errors) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return (samples, errors);
                }
                let req = CreateRequest {
                    resource: "pods".into(),
                    namespace: ns.clone(),
                    object: pod(&format!("c-{run}-{i}")),
                };
                let t = Instant::now();
                match c.create(req).await {
                    Ok(_) => samples.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
        }));
    }
    let (mut samples, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (s, e) = t
            .await
            .map_err(|e| ApiserverBenchError::Setup(format!("a client task failed: {e}")))?;
        samples.extend(s);
        errors += e;
    }
    Ok(CreateReport {
        clients,
        latency: Latency::of(samples),
        errors,
        elapsed: started.elapsed(),
    })
}

/// The same creates as transactions straight on the store (compare create_revision == 0, then
/// put), to tell the store's share of the create latency from the apiserver's.
pub async fn measure_store_baseline(
    store: &str,
    tls: Option<&ClientTlsConfig>,
    clients: usize,
    total: usize,
) -> Result<CreateReport, ApiserverBenchError> {
    use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
    use skiff_proto::etcdserverpb::kv_client::KvClient;
    use skiff_proto::etcdserverpb::request_op::Request;
    use skiff_proto::etcdserverpb::{Compare, PutRequest, RequestOp, TxnRequest};
    let channel =
        endpoint(store, tls)?
            .connect()
            .await
            .map_err(|e| ApiserverBenchError::Connect {
                url: store.to_string(),
                message: e.to_string(),
            })?;
    let run = std::process::id();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let mut kv = KvClient::new(channel.clone());
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let (mut samples, mut errors) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return (samples, errors);
                }
                let key = format!("/bench/baseline/{run}/{i}").into_bytes();
                let compare = Compare {
                    result: CompareResult::Equal as i32,
                    target: CompareTarget::Create as i32,
                    key: key.clone(),
                    target_union: Some(TargetUnion::CreateRevision(0)),
                    range_end: Vec::new(),
                };
                let put = PutRequest {
                    key,
                    value: pod(&format!("b-{i}")),
                    ..Default::default()
                };
                let txn = TxnRequest {
                    compare: vec![compare],
                    success: vec![RequestOp {
                        request: Some(Request::RequestPut(put)),
                    }],
                    failure: vec![],
                };
                let t = Instant::now();
                match kv.txn(txn).await {
                    Ok(_) => samples.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
        }));
    }
    let (mut samples, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (s, e) = t
            .await
            .map_err(|e| ApiserverBenchError::Setup(format!("a client task failed: {e}")))?;
        samples.extend(s);
        errors += e;
    }
    Ok(CreateReport {
        clients,
        latency: Latency::of(samples),
        errors,
        elapsed: started.elapsed(),
    })
}

#[derive(Debug, Clone)]
pub struct FanoutReport {
    pub watchers: usize,
    pub changes: usize,
    /// Live: watchers receiving while writers write.
    pub live_elapsed: Duration,
    pub writes_per_second: f64,
    /// Replay: the same changes replayed from the cache's window to fresh watchers.
    pub replay_elapsed: Duration,
}

impl FanoutReport {
    pub fn live_events_per_second(&self) -> f64 {
        (self.watchers * self.changes) as f64 / self.live_elapsed.as_secs_f64().max(1e-9)
    }

    pub fn replay_events_per_second(&self) -> f64 {
        (self.watchers * self.changes) as f64 / self.replay_elapsed.as_secs_f64().max(1e-9)
    }
}

/// Opens `watchers` watches on one namespace's pods (10 connections), has `writers` clients
/// write `changes` pod changes, and times until every watcher has every change; then times
/// the same changes replayed from the watch cache to `watchers` new watches.
pub async fn measure_watch_fanout(
    api: &ApiTarget,
    ns: &str,
    watchers: usize,
    changes: usize,
    writers: usize,
) -> Result<FanoutReport, ApiserverBenchError> {
    let mut admin = connect(api).await?;
    ensure_namespace(&mut admin, ns).await?;
    let run = std::process::id();
    let writers = writers.max(1);
    for w in 0..writers {
        let req = CreateRequest {
            resource: "pods".into(),
            namespace: ns.into(),
            object: pod(&format!("w-{run}-{w}")),
        };
        admin.create(req).await?;
    }
    let list = ListRequest {
        resource: "pods".into(),
        namespace: ns.into(),
        ..Default::default()
    };
    let from = admin.list(list).await?.into_inner().resource_version;

    let live_started = Instant::now();
    let live = open_watchers(api, ns, watchers, &from, changes).await?;
    let write_started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let mut c = connect(api).await?;
        let (ns, name) = (ns.to_string(), format!("w-{run}-{w}"));
        let share = changes / writers + usize::from(w < changes % writers);
        tasks.push(tokio::spawn(async move {
            for i in 0..share {
                let patch = json!({"metadata": {"annotations": {"n": i.to_string()}}})
                    .to_string()
                    .into_bytes();
                let req = PatchRequest {
                    resource: "pods".into(),
                    namespace: ns.clone(),
                    name: name.clone(),
                    patch,
                };
                c.patch(req).await?;
            }
            Ok::<(), tonic::Status>(())
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| ApiserverBenchError::Setup(format!("a writer task failed: {e}")))??;
    }
    let write_elapsed = write_started.elapsed();
    for t in live {
        t.await
            .map_err(|e| ApiserverBenchError::Setup(format!("a watcher failed: {e}")))??;
    }
    let live_elapsed = write_started.elapsed();
    let _ = live_started;

    let replay_started = Instant::now();
    for t in open_watchers(api, ns, watchers, &from, changes).await? {
        t.await
            .map_err(|e| ApiserverBenchError::Setup(format!("a watcher failed: {e}")))??;
    }
    Ok(FanoutReport {
        watchers,
        changes,
        live_elapsed,
        writes_per_second: changes as f64 / write_elapsed.as_secs_f64().max(1e-9),
        replay_elapsed: replay_started.elapsed(),
    })
}

type WatcherTask = tokio::task::JoinHandle<Result<(), ApiserverBenchError>>;

/// Opens the watches (from `from`) and returns tasks that end once each has seen `changes`
/// MODIFIED events.
async fn open_watchers(
    api: &ApiTarget,
    ns: &str,
    watchers: usize,
    from: &str,
    changes: usize,
) -> Result<Vec<WatcherTask>, ApiserverBenchError> {
    let mut conns = Vec::new();
    for _ in 0..10 {
        conns.push(connect(api).await?);
    }
    let mut tasks = Vec::new();
    for i in 0..watchers {
        let c = &mut conns[i % 10];
        let req = WatchRequest {
            resource: "pods".into(),
            namespace: ns.into(),
            resource_version: from.into(),
            ..Default::default()
        };
        let mut stream = c.watch(req).await?.into_inner();
        tasks.push(tokio::spawn(async move {
            let mut seen = 0;
            while seen < changes {
                match stream.message().await? {
                    Some(ev) if ev.r#type == "MODIFIED" => seen += 1,
                    Some(ev) if ev.r#type == "ERROR" => {
                        return Err(ApiserverBenchError::Setup(format!(
                            "watch ended: {}",
                            String::from_utf8_lossy(&ev.object)
                        )))
                    }
                    Some(_) => {}
                    None => {
                        return Err(ApiserverBenchError::Setup(
                            "a watch ended early".to_string(),
                        ))
                    }
                }
            }
            Ok(())
        }));
    }
    Ok(tasks)
}
