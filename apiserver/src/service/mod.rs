//! The gRPC face of the apiserver: authenticate, authorize, call the registry, count, and map errors to gRPC status in one place.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::{Stream, StreamExt};
use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_api::kinds::{self, KindInfo};
use skiff_proto::skiffapi::api_server::Api;
use skiff_proto::skiffapi::{
    BindRequest, CreateRequest, DeleteRequest, GetRequest, HistoryReply, HistoryRequest, ListReply,
    ListRequest, LogsRequest, ObjectReply, PatchRequest, ScaleReply, ScaleRequest, UpdateRequest,
    UpdateScaleRequest, WatchEvent, WatchRequest, WhoAmIReply, WhoAmIRequest,
};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::auth::authz::Attributes;
use crate::auth::{Authenticator, Caller};
use crate::cache::client::Start;
use crate::cache::list::json_array;
use crate::metrics::Metrics;
use crate::registry::filter::Filter;
use crate::registry::writer::{self, Writer};
use crate::registry::{
    effective_namespace, DeleteOptions, ListFrom, Propagation, Registry, Scale, UpdateKind,
};

mod history;
mod node_streams;

type EventStream = Pin<Box<dyn Stream<Item = Result<WatchEvent, Status>> + Send>>;

pub struct ApiService {
    registry: Arc<Registry>,
    auth: Arc<Authenticator>,
    metrics: Arc<Metrics>,
    /// Ends open watch and log streams when the server shuts down.
    shutdown: CancellationToken,
}

/// The kind a request names: its plural resource (`pods`), or any name the CLI accepts.
fn kind(resource: &str) -> Result<&'static KindInfo, ApiError> {
    match kinds::by_plural(resource) {
        Some(info) => Ok(info),
        None => kinds::lookup_cli(resource),
    }
}

fn object_reply(obj: &Value) -> Result<Response<ObjectReply>, ApiError> {
    Ok(Response::new(ObjectReply {
        object: serde_json::to_vec(obj).map_err(ApiError::internal)?,
    }))
}

fn scale_reply(s: Scale) -> Response<ScaleReply> {
    Response::new(ScaleReply {
        spec_replicas: s.spec_replicas,
        status_replicas: s.status_replicas,
        selector: s.selector,
        resource_version: s.resource_version,
    })
}

impl ApiService {
    pub fn new(
        registry: Arc<Registry>,
        auth: Arc<Authenticator>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> ApiService {
        ApiService {
            registry,
            auth,
            metrics,
            shutdown,
        }
    }

    fn caller<T>(&self, req: &Request<T>, a: &Attributes<'_>) -> Result<Caller, ApiError> {
        let header = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.auth.caller(header, a)
    }

    /// The writer a request's writes record: its user agent's product or its user (the
    /// request is authenticated again, with its verb, before anything is written).
    fn writer<T>(&self, req: &Request<T>, subresource: &'static str) -> Writer {
        let header = |name: &str| req.metadata().get(name).and_then(|v| v.to_str().ok());
        let user = self
            .auth
            .authenticate(header("authorization"))
            .map(|u| u.name.as_str())
            .unwrap_or("");
        Writer {
            manager: writer::manager(header("x-field-manager"), header("user-agent"), user),
            subresource,
        }
    }

    /// Authenticates and authorizes a request on one named object (or its
    /// subresource); the attributes carry the kind and the effective namespace.
    fn object<'a, T>(
        &self,
        request: &Request<T>,
        verb: &'static str,
        subresource: &'static str,
        resource: &str,
        namespace: &'a str,
        name: &'a str,
    ) -> Result<(Caller, Attributes<'a>), ApiError> {
        let info = kind(resource)?;
        let namespace = effective_namespace(info, namespace);
        let a = Attributes {
            verb,
            info,
            subresource,
            namespace,
            name,
        };
        Ok((self.caller(request, &a)?, a))
    }

    /// Authorizes a list or watch of a whole collection and parses its selectors.
    fn collection<T>(
        &self,
        request: &Request<T>,
        verb: &'static str,
        resource: &str,
        namespace: &str,
        label_selector: &str,
        field_selector: &str,
    ) -> Result<(&'static KindInfo, Filter), ApiError> {
        let info = kind(resource)?;
        let a = Attributes {
            verb,
            info,
            subresource: "",
            namespace,
            name: "",
        };
        self.caller(request, &a)?;
        let filter = Filter::new(info, namespace, label_selector, field_selector)?;
        Ok((info, filter))
    }

    /// Counts a finished request and turns its error into a gRPC status.
    fn finish<T>(
        &self,
        verb: &str,
        resource: &str,
        started: Instant,
        result: Result<T, ApiError>,
    ) -> Result<T, Status> {
        let code = match &result {
            Ok(_) => "OK".to_string(),
            Err(e) => e.reason.to_string(),
        };
        self.metrics
            .record(verb, resource, &code, started.elapsed());
        result.map_err(|e| e.to_status())
    }
}

#[tonic::async_trait]
impl Api for ApiService {
    type WatchStream = EventStream;
    type LogsStream = node_streams::ChunkStream;
    type ExecStream = node_streams::ExecOutputStream;

    async fn create(
        &self,
        request: Request<CreateRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = writer::scope(self.writer(&request, ""), async {
            let info = kind(&req.resource)?;
            let a = Attributes {
                verb: "create",
                info,
                subresource: "",
                namespace: &req.namespace,
                name: "",
            };
            let caller = self.caller(&request, &a)?;
            let guard = caller.guard(&a);
            let obj = self
                .registry
                .create(info, &req.namespace, &req.object, &guard)
                .await?;
            object_reply(&obj)
        })
        .await;
        self.finish("create", &req.resource, started, result)
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<ObjectReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = async {
            let (_caller, a) = self.object(
                &request,
                "get",
                "",
                &req.resource,
                &req.namespace,
                &req.name,
            )?;
            let (info, ns) = (a.info, a.namespace);
            object_reply(&self.registry.get(info, ns, &req.name).await?)
        }
        .await;
        self.finish("get", &req.resource, started, result)
    }

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ListReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = async {
            let (info, filter) = self.collection(
                &request,
                "list",
                &req.resource,
                &req.namespace,
                &req.label_selector,
                &req.field_selector,
            )?;
            // Consistent, from the watch cache once it has caught up; the items are the
            // cached JSON bytes, written as they are.
            let listing = self
                .registry
                .list(info, &filter, ListFrom::Consistent)
                .await?;
            Ok(Response::new(ListReply {
                items: json_array(&listing.items),
                resource_version: listing.revision.to_string(),
            }))
        }
        .await;
        self.finish("list", &req.resource, started, result)
    }

    async fn update(
        &self,
        request: Request<UpdateRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        self.update_any(request, UpdateKind::Object).await
    }

    async fn update_status(
        &self,
        request: Request<UpdateRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        self.update_any(request, UpdateKind::Status).await
    }

    async fn patch(&self, request: Request<PatchRequest>) -> Result<Response<ObjectReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = writer::scope(self.writer(&request, ""), async {
            let (caller, a) = self.object(
                &request,
                "patch",
                "",
                &req.resource,
                &req.namespace,
                &req.name,
            )?;
            let (info, ns) = (a.info, a.namespace);
            let guard = caller.guard(&a);
            let obj = self
                .registry
                .patch(info, ns, &req.name, &req.patch, &guard)
                .await?;
            object_reply(&obj)
        })
        .await;
        self.finish("patch", &req.resource, started, result)
    }

    async fn delete(
        &self,
        request: Request<DeleteRequest>,
    ) -> Result<Response<ObjectReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = writer::scope(self.writer(&request, ""), async {
            let (caller, a) = self.object(
                &request,
                "delete",
                "",
                &req.resource,
                &req.namespace,
                &req.name,
            )?;
            let (info, ns) = (a.info, a.namespace);
            let opts = DeleteOptions {
                propagation: Propagation::parse(&req.propagation_policy)?,
                grace_period: (req.grace_period_seconds >= 0).then_some(req.grace_period_seconds),
                precondition_uid: req.precondition_uid.clone(),
                precondition_resource_version: req.precondition_resource_version.clone(),
            };
            let guard = caller.guard(&a);
            let obj = self
                .registry
                .delete(info, ns, &req.name, &opts, &guard)
                .await?;
            object_reply(&obj)
        })
        .await;
        self.finish("delete", &req.resource, started, result)
    }

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = async {
            let (info, filter) = self.collection(
                &request,
                "watch",
                &req.resource,
                &req.namespace,
                &req.label_selector,
                &req.field_selector,
            )?;
            let start = Start::parse(&req.resource_version)?;
            let watch = self
                .registry
                .watch(info, start, filter, req.allow_bookmarks)
                .await?;
            let stream: EventStream =
                Box::pin(watch.take_until(self.shutdown.clone().cancelled_owned()));
            Ok(Response::new(stream))
        }
        .await;
        self.finish("watch", &req.resource, started, result)
    }

    async fn bind(&self, request: Request<BindRequest>) -> Result<Response<ObjectReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = writer::scope(self.writer(&request, ""), async {
            let (_caller, a) = self.object(
                &request,
                "create",
                "binding",
                "pods",
                &req.namespace,
                &req.name,
            )?;
            let ns = a.namespace;
            object_reply(
                &self
                    .registry
                    .bind(ns, &req.name, &req.node_name, &req.uid)
                    .await?,
            )
        })
        .await;
        self.finish("bind", "pods", started, result)
    }

    async fn get_scale(
        &self,
        request: Request<ScaleRequest>,
    ) -> Result<Response<ScaleReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = async {
            let (_caller, a) = self.object(
                &request,
                "get",
                "scale",
                &req.resource,
                &req.namespace,
                &req.name,
            )?;
            let (info, ns) = (a.info, a.namespace);
            Ok(scale_reply(
                self.registry.get_scale(info, ns, &req.name).await?,
            ))
        }
        .await;
        self.finish("get_scale", &req.resource, started, result)
    }

    async fn update_scale(
        &self,
        request: Request<UpdateScaleRequest>,
    ) -> Result<Response<ScaleReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let result = writer::scope(self.writer(&request, ""), async {
            let (_caller, a) = self.object(
                &request,
                "update",
                "scale",
                &req.resource,
                &req.namespace,
                &req.name,
            )?;
            let (info, ns) = (a.info, a.namespace);
            let scale = self
                .registry
                .update_scale(info, ns, &req.name, req.replicas, req.current_replicas)
                .await?;
            Ok(scale_reply(scale))
        })
        .await;
        self.finish("update_scale", &req.resource, started, result)
    }

    async fn logs(
        &self,
        request: Request<LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        let started = Instant::now();
        let result = self.logs_stream(&request).await;
        self.finish("logs", "pods", started, result)
    }

    async fn exec(
        &self,
        request: Request<tonic::Streaming<skiff_proto::skiffapi::ExecInput>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        let started = Instant::now();
        let result = self.exec_stream(request).await;
        self.finish("exec", "pods", started, result)
    }

    async fn history(
        &self,
        request: Request<HistoryRequest>,
    ) -> Result<Response<HistoryReply>, Status> {
        let started = Instant::now();
        let result = self.history_reply(&request).await;
        self.finish("history", &request.get_ref().resource, started, result)
    }

    async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIReply>, Status> {
        let started = Instant::now();
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let result = self.auth.authenticate(header).map(|user| {
            Response::new(WhoAmIReply {
                user: user.name.clone(),
                groups: user.groups.clone(),
                role: user.role().name().to_string(),
            })
        });
        self.finish("whoami", "", started, result)
    }
}

impl ApiService {
    async fn update_any(
        &self,
        request: Request<UpdateRequest>,
        kind_of: UpdateKind,
    ) -> Result<Response<ObjectReply>, Status> {
        let started = Instant::now();
        let req = request.get_ref();
        let (verb, subresource) = match kind_of {
            UpdateKind::Object => ("update", ""),
            UpdateKind::Status => ("update_status", "status"),
        };
        let result = writer::scope(self.writer(&request, subresource), async {
            let info = kind(&req.resource)?;
            let a = Attributes {
                verb: "update",
                info,
                subresource,
                namespace: &req.namespace,
                name: "",
            };
            let caller = self.caller(&request, &a)?;
            let guard = caller.guard(&a);
            let obj = self
                .registry
                .update(info, &req.namespace, &req.object, kind_of, &guard)
                .await?;
            object_reply(&obj)
        })
        .await;
        self.finish(verb, &req.resource, started, result)
    }
}
