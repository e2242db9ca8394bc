//! An in-memory stand-in for skiff-apiserver, served over real gRPC on 127.0.0.1:0, with knobs to break it.

mod server;
mod state;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures::Stream;
use parking_lot::Mutex;
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_proto::skiffapi::api_server::Api;
use skiff_proto::skiffapi::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

pub use server::{dead_endpoint, FakeServer};
use state::{fields_match, labels_match, meta};
pub use state::{Hook, State};

/// State shared by every fake apiserver of one test, as real apiservers share one store.
pub struct Shared {
    pub state: Mutex<State>,
    /// Cancelled (and replaced) to end every open watch.
    watch_breaker: Mutex<CancellationToken>,
}

impl Shared {
    pub fn new() -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State::new()),
            watch_breaker: Mutex::new(CancellationToken::new()),
        })
    }

    /// Requires `authorization: Bearer <token>` with one of these tokens.
    pub fn add_token(&self, token: &str, user: &str, role: &str) {
        self.state.lock().tokens.insert(
            token.to_string(),
            (
                user.to_string(),
                vec!["skiff:users".to_string()],
                role.to_string(),
            ),
        );
    }

    pub fn block_token(&self, token: &str, blocked: bool) {
        let mut state = self.state.lock();
        if blocked {
            state.blocked_tokens.insert(token.to_string());
        } else {
            state.blocked_tokens.remove(token);
        }
    }

    /// Ends every open watch stream.
    pub fn break_watches(&self) {
        let old = std::mem::replace(&mut *self.watch_breaker.lock(), CancellationToken::new());
        old.cancel();
    }

    pub fn block_watches(&self, blocked: bool) {
        self.state.lock().watches_blocked = blocked;
    }

    pub fn compact(&self) {
        self.state.lock().compact();
    }

    pub fn lists(&self) -> u64 {
        self.state.lock().lists
    }

    pub fn before_next_update(&self, resource: &str, hook: Hook) {
        self.state.lock().before_update = Some((resource.to_string(), hook));
    }
}

/// One fake apiserver process.
#[derive(Clone)]
struct Service {
    shared: Arc<Shared>,
    requests: Arc<AtomicU64>,
    killed: CancellationToken,
    /// Creates and updates fail with a bare Unavailable, as if the connection broke mid-request.
    flaky_writes: Arc<AtomicBool>,
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("bad JSON: {e}")).to_status())
}

fn reply(object: Value) -> Result<Response<ObjectReply>, Status> {
    Ok(Response::new(ObjectReply {
        object: serde_json::to_vec(&object).unwrap_or_default(),
    }))
}

type EventStream = Pin<Box<dyn Stream<Item = Result<WatchEvent, Status>> + Send>>;
type ChunkStream = Pin<Box<dyn Stream<Item = Result<LogChunk, Status>> + Send>>;

fn event(kind: &str, object: &Value) -> WatchEvent {
    WatchEvent {
        r#type: kind.to_string(),
        object: serde_json::to_vec(object).unwrap_or_default(),
    }
}

impl Service {
    /// Authenticates the caller; returns its token.
    fn admit<M>(&self, request: &Request<M>) -> Result<String, Status> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_string();
        let state = self.shared.state.lock();
        if state.blocked_tokens.contains(&token) {
            return Err(Status::unavailable("network partition (simulated)"));
        }
        if !state.tokens.is_empty() && !state.tokens.contains_key(&token) {
            return Err(ApiError::unauthorized("Unauthorized").to_status());
        }
        Ok(token)
    }
}

#[tonic::async_trait]
impl Api for Service {
    async fn create(
        &self,
        request: Request<CreateRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        self.admit(&request)?;
        if self.flaky_writes.load(Ordering::Relaxed) {
            return Err(Status::unavailable("connection reset by peer (simulated)"));
        }
        let r = request.into_inner();
        let object = parse(&r.object)?;
        reply(
            self.shared
                .state
                .lock()
                .create(&r.resource, &r.namespace, object)?,
        )
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<ObjectReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        reply(
            self.shared
                .state
                .lock()
                .get(&r.resource, &r.namespace, &r.name)?,
        )
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ListReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        let mut state = self.shared.state.lock();
        let items = state.list(
            &r.resource,
            &r.namespace,
            &r.label_selector,
            &r.field_selector,
        );
        Ok(Response::new(ListReply {
            items: serde_json::to_vec(&items).unwrap_or_default(),
            resource_version: state.rv.to_string(),
        }))
    }

    async fn update(
        &self,
        request: Request<UpdateRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        self.admit(&request)?;
        if self.flaky_writes.load(Ordering::Relaxed) {
            return Err(Status::unavailable("connection reset by peer (simulated)"));
        }
        let r = request.into_inner();
        let object = parse(&r.object)?;
        reply(
            self.shared
                .state
                .lock()
                .update(&r.resource, &r.namespace, object, false)?,
        )
    }

    async fn update_status(
        &self,
        request: Request<UpdateRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        let object = parse(&r.object)?;
        reply(
            self.shared
                .state
                .lock()
                .update(&r.resource, &r.namespace, object, true)?,
        )
    }

    async fn patch(&self, request: Request<PatchRequest>) -> Result<Response<ObjectReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        let patch: Value = parse(&r.patch)?;
        reply(
            self.shared
                .state
                .lock()
                .patch(&r.resource, &r.namespace, &r.name, &patch)?,
        )
    }

    async fn delete(
        &self,
        request: Request<DeleteRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        let mut state = self.shared.state.lock();
        let deleted = state.delete(
            &r.resource,
            &r.namespace,
            &r.name,
            r.grace_period_seconds,
            &r.precondition_uid,
            &r.precondition_resource_version,
        )?;
        reply(deleted)
    }

    type WatchStream = EventStream;

    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<EventStream>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        let (tx, rx) = mpsc::channel(1024);
        let (backlog, mut changes, current) = {
            let state = self.shared.state.lock();
            if state.watches_blocked {
                return Err(Status::unavailable("watches are blocked (simulated)"));
            }
            let from: u64 = match r.resource_version.as_str() {
                "" | "0" => state.rv,
                rv => rv
                    .parse()
                    .map_err(|_| ApiError::bad_request("bad resourceVersion").to_status())?,
            };
            if from < state.compacted {
                let expired = ApiError::expired(format!(
                    "too old resource version: {from} ({})",
                    state.compacted
                ));
                let _ = tx.try_send(Ok(event("ERROR", &expired.to_status_json())));
                return Ok(Response::new(Box::pin(ReceiverStream::new(rx))));
            }
            let backlog: Vec<_> = state
                .history
                .iter()
                .filter(|c| c.rv > from)
                .cloned()
                .collect();
            (backlog, state.changes.subscribe(), state.rv)
        };
        let breaker = self.shared.watch_breaker.lock().clone();
        let killed = self.killed.clone();
        let wanted = move |c: &state::Change| {
            c.resource == r.resource
                && (r.namespace.is_empty() || c.namespace == r.namespace)
                && labels_match(&c.object, &r.label_selector)
                && fields_match(&c.object, &r.field_selector)
        };
        let bookmarks = r.allow_bookmarks;
        tokio::spawn(async move {
            for change in backlog {
                if wanted(&change)
                    && tx
                        .send(Ok(event(change.kind, &change.object)))
                        .await
                        .is_err()
                {
                    return;
                }
            }
            if bookmarks {
                let _ = tx
                    .send(Ok(event(
                        "BOOKMARK",
                        &json!({"metadata": {"resourceVersion": current.to_string()}}),
                    )))
                    .await;
            }
            loop {
                let change = tokio::select! {
                    _ = breaker.cancelled() => return,
                    _ = killed.cancelled() => return,
                    change = changes.recv() => match change {
                        Ok(change) => change,
                        Err(_) => return,
                    },
                };
                let sent = if wanted(&change) {
                    event(change.kind, &change.object)
                } else if bookmarks {
                    // Progress on other resources tells the watcher it missed nothing up to here.
                    event(
                        "BOOKMARK",
                        &json!({"metadata": {"resourceVersion": change.rv.to_string()}}),
                    )
                } else {
                    continue;
                };
                if tx.send(Ok(sent)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn bind(&self, request: Request<BindRequest>) -> Result<Response<ObjectReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        reply(
            self.shared
                .state
                .lock()
                .bind(&r.namespace, &r.name, &r.node_name, &r.uid)?,
        )
    }

    async fn get_scale(
        &self,
        request: Request<ScaleRequest>,
    ) -> Result<Response<ScaleReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        let object = self
            .shared
            .state
            .lock()
            .get(&r.resource, &r.namespace, &r.name)?;
        Ok(Response::new(scale_of(&object)))
    }

    async fn update_scale(
        &self,
        request: Request<UpdateScaleRequest>,
    ) -> Result<Response<ScaleReply>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        let mut state = self.shared.state.lock();
        let object = state.get(&r.resource, &r.namespace, &r.name)?;
        if r.current_replicas >= 0 && scale_of(&object).spec_replicas != r.current_replicas {
            return Err(ApiError::conflict(
                &r.resource,
                &r.name,
                "the current replicas precondition failed",
            )
            .to_status());
        }
        let updated = state.patch(
            &r.resource,
            &r.namespace,
            &r.name,
            &json!({"spec": {"replicas": r.replicas}}),
        )?;
        Ok(Response::new(scale_of(&updated)))
    }

    type LogsStream = ChunkStream;
    type ExecStream = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<skiff_proto::skiffapi::ExecOutput, Status>> + Send>,
    >;

    async fn exec(
        &self,
        _request: Request<tonic::Streaming<skiff_proto::skiffapi::ExecInput>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        Err(Status::unimplemented("the fake apiserver does not exec"))
    }

    async fn logs(&self, request: Request<LogsRequest>) -> Result<Response<ChunkStream>, Status> {
        self.admit(&request)?;
        let r = request.into_inner();
        self.shared
            .state
            .lock()
            .get("pods", &r.namespace, &r.name)?;
        let container = if r.container.is_empty() {
            "main".to_string()
        } else {
            r.container
        };
        let lines: Vec<String> = (1..=5).map(|i| format!("{container} line {i}\n")).collect();
        let skip = if r.tail_lines >= 0 {
            lines.len().saturating_sub(r.tail_lines as usize)
        } else {
            0
        };
        let chunks: Vec<Result<LogChunk, Status>> = lines
            .into_iter()
            .skip(skip)
            .map(|l| {
                Ok(LogChunk {
                    data: l.into_bytes(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }

    async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIReply>, Status> {
        let token = self.admit(&request)?;
        let state = self.shared.state.lock();
        let (user, groups, role) = state.tokens.get(&token).cloned().unwrap_or_default();
        Ok(Response::new(WhoAmIReply { user, groups, role }))
    }

    /// The fake keeps no store history: the client scenarios do not read it.
    async fn history(
        &self,
        _request: Request<HistoryRequest>,
    ) -> Result<Response<HistoryReply>, Status> {
        Err(Status::unimplemented("the fake apiserver keeps no history"))
    }
}

fn scale_of(object: &Value) -> ScaleReply {
    let int = |p: &str| object.pointer(p).and_then(Value::as_i64).unwrap_or(0) as i32;
    ScaleReply {
        spec_replicas: int("/spec/replicas"),
        status_replicas: int("/status/replicas"),
        selector: String::new(),
        resource_version: meta(object, "resourceVersion").to_string(),
    }
}
