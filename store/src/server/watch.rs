//! etcd's Watch service: one bidirectional stream carries many watches.
//!
//! Each watch runs as its own task that owns its [`Watcher`] and writes into
//! the stream's shared response channel, so a slow or catching-up watch never
//! holds up the others on the same stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use skiff_proto::etcdserverpb::watch_create_request::FilterType;
use skiff_proto::etcdserverpb::watch_request::RequestUnion;
use skiff_proto::etcdserverpb::watch_server::Watch;
use skiff_proto::etcdserverpb::{WatchCreateRequest, WatchRequest, WatchResponse};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::Member;
use crate::watch::{WatchItem, WatchSpec, Watcher};

/// How often a watch with progress_notify hears the current revision while
/// nothing happens to its keys (etcd's default is 10 minutes).
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(600);

/// The progress interval, overridable with SKIFF_STORE_WATCH_PROGRESS_MS (tests).
pub fn progress_interval() -> Duration {
    std::env::var("SKIFF_STORE_WATCH_PROGRESS_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(PROGRESS_INTERVAL, Duration::from_millis)
}

type Outbound = mpsc::Sender<Result<WatchResponse, Status>>;

pub struct WatchService {
    member: Arc<Member>,
    progress_interval: Duration,
}

impl WatchService {
    pub fn new(member: Arc<Member>, progress_interval: Duration) -> WatchService {
        WatchService {
            member,
            progress_interval,
        }
    }
}

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = ReceiverStream<Result<WatchResponse, Status>>;

    async fn watch(
        &self,
        request: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(256);
        let stream = WatchStream {
            member: self.member.clone(),
            out: tx,
            progress_interval: self.progress_interval,
            watches: HashMap::new(),
            next_id: 0,
            done: CancellationToken::new(),
        };
        tokio::spawn(stream.run(inbound));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

struct RunningWatch {
    cancel: CancellationToken,
    progress: mpsc::Sender<()>,
}

struct WatchStream {
    member: Arc<Member>,
    out: Outbound,
    progress_interval: Duration,
    watches: HashMap<i64, RunningWatch>,
    next_id: i64,
    /// Cancelled when the client's stream ends: stops every watch task.
    done: CancellationToken,
}

impl WatchStream {
    async fn run(mut self, mut inbound: Streaming<WatchRequest>) {
        loop {
            let message = tokio::select! {
                _ = self.out.closed() => break,
                m = inbound.message() => m,
            };
            let request = match message {
                Ok(Some(WatchRequest {
                    request_union: Some(r),
                })) => r,
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            };
            let sent = match request {
                RequestUnion::CreateRequest(create) => self.create(create).await,
                RequestUnion::CancelRequest(cancel) => self.cancel(cancel.watch_id).await,
                RequestUnion::ProgressRequest(_) => {
                    self.watches.retain(|_, w| !w.cancel.is_cancelled());
                    for w in self.watches.values() {
                        let _ = w.progress.try_send(());
                    }
                    true
                }
            };
            if !sent {
                break;
            }
        }
        self.done.cancel();
    }

    async fn create(&mut self, create: WatchCreateRequest) -> bool {
        self.watches.retain(|_, w| !w.cancel.is_cancelled());
        let id = if create.watch_id != 0 {
            create.watch_id
        } else {
            self.fresh_id()
        };
        if self.watches.contains_key(&id) {
            let refused = WatchResponse {
                header: self.member.header(self.member.state.revision()),
                watch_id: id,
                created: true,
                canceled: true,
                cancel_reason: "etcdserver: duplicate watch ID provided on the WatchStream".into(),
                ..Default::default()
            };
            return self.out.send(Ok(refused)).await.is_ok();
        }
        let spec = WatchSpec {
            key: create.key,
            range_end: create.range_end,
            start_revision: create.start_revision,
            prev_kv: create.prev_kv,
            no_put: create.filters.contains(&(FilterType::Noput as i32)),
            no_delete: create.filters.contains(&(FilterType::Nodelete as i32)),
        };
        // Registered before the created response goes out, so no event
        // applied after the client sees "created" can be missed.
        let watcher = self.member.state.watch(spec);
        let created = WatchResponse {
            header: self.member.header(self.member.state.revision()),
            watch_id: id,
            created: true,
            ..Default::default()
        };
        if self.out.send(Ok(created)).await.is_err() {
            return false;
        }
        let cancel = self.done.child_token();
        let (progress_tx, progress_rx) = mpsc::channel(1);
        let task = WatchTask {
            id,
            member: self.member.clone(),
            out: self.out.clone(),
            progress_notify: create.progress_notify.then_some(self.progress_interval),
        };
        tokio::spawn(task.run(watcher, cancel.clone(), progress_rx));
        self.watches.insert(
            id,
            RunningWatch {
                cancel,
                progress: progress_tx,
            },
        );
        true
    }

    fn fresh_id(&mut self) -> i64 {
        while self.watches.contains_key(&self.next_id) {
            self.next_id += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    async fn cancel(&mut self, id: i64) -> bool {
        let Some(watch) = self.watches.remove(&id) else {
            return true;
        };
        watch.cancel.cancel();
        let canceled = WatchResponse {
            header: self.member.header(self.member.state.revision()),
            watch_id: id,
            canceled: true,
            ..Default::default()
        };
        self.out.send(Ok(canceled)).await.is_ok()
    }
}

struct WatchTask {
    id: i64,
    member: Arc<Member>,
    out: Outbound,
    progress_notify: Option<Duration>,
}

impl WatchTask {
    async fn run(
        self,
        mut watcher: Watcher,
        cancel: CancellationToken,
        mut progress: mpsc::Receiver<()>,
    ) {
        let period = self
            .progress_notify
            .unwrap_or(Duration::from_secs(86_400 * 365));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut quiet = true;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                item = watcher.next() => match item {
                    WatchItem::Events { events, revision } => {
                        quiet = false;
                        let resp = WatchResponse {
                            header: self.member.header(revision),
                            watch_id: self.id,
                            events,
                            ..Default::default()
                        };
                        if self.out.send(Ok(resp)).await.is_err() {
                            return;
                        }
                    }
                    WatchItem::Compacted { compact_revision } => {
                        let resp = WatchResponse {
                            header: self.member.header(self.member.state.revision()),
                            watch_id: self.id,
                            canceled: true,
                            compact_revision,
                            cancel_reason: "mvcc: required revision has been compacted".into(),
                            ..Default::default()
                        };
                        let _ = self.out.send(Ok(resp)).await;
                        cancel.cancel();
                        return;
                    }
                },
                _ = ticker.tick(), if self.progress_notify.is_some() => {
                    if quiet && !self.send_progress(&watcher).await {
                        return;
                    }
                    quiet = true;
                }
                Some(()) = progress.recv() => {
                    if !self.send_progress(&watcher).await {
                        return;
                    }
                }
            }
        }
    }

    /// An empty response whose header revision tells the client it has seen
    /// everything up to there; only sent when that is true.
    async fn send_progress(&self, watcher: &Watcher) -> bool {
        let Some(revision) = watcher.progress_revision() else {
            return true;
        };
        let resp = WatchResponse {
            header: self.member.header(revision),
            watch_id: self.id,
            ..Default::default()
        };
        self.out.send(Ok(resp)).await.is_ok()
    }
}
