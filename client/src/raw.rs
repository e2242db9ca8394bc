//! One function per RPC of the skiff API, with objects as JSON bytes; the typed and JSON layers decode them.

use skiff_proto::skiffapi::{
    BindRequest, CreateRequest, DeleteRequest, GetRequest, ListReply, ListRequest, LogChunk,
    LogsRequest, PatchRequest, ScaleReply, ScaleRequest, UpdateRequest, UpdateScaleRequest,
    WatchEvent as WireEvent, WatchRequest, WhoAmIReply, WhoAmIRequest,
};
use tonic::Streaming;

use super::options::{DeleteOptions, ListOptions, LogOptions, WatchOptions};
use super::transport::Retry;
use super::Client;
use skiff_api::error::ApiError;

/// Where an update goes: the whole object or its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subresource {
    Main,
    Status,
}

impl Client {
    pub(crate) async fn raw_create(
        &self,
        resource: &str,
        namespace: &str,
        object: Vec<u8>,
    ) -> Result<Vec<u8>, ApiError> {
        let message = CreateRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            object,
        };
        let reply = self
            .transport
            .call(
                "create",
                Retry::BeforeSend,
                message,
                |mut c, r| async move { c.create(r).await },
            )
            .await?;
        Ok(reply.object)
    }

    pub(crate) async fn raw_get(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let message = GetRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let reply = self
            .transport
            .call("get", Retry::Always, message, |mut c, r| async move {
                c.get(r).await
            })
            .await?;
        Ok(reply.object)
    }

    pub(crate) async fn raw_list(
        &self,
        resource: &str,
        namespace: &str,
        options: &ListOptions,
    ) -> Result<ListReply, ApiError> {
        let message = ListRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            label_selector: options.label_selector.clone(),
            field_selector: options.field_selector.clone(),
        };
        self.transport
            .call("list", Retry::Always, message, |mut c, r| async move {
                c.list(r).await
            })
            .await
    }

    /// `guarded`: the object carries a resourceVersion, so a repeat cannot apply twice.
    pub(crate) async fn raw_update(
        &self,
        subresource: Subresource,
        resource: &str,
        namespace: &str,
        object: Vec<u8>,
        guarded: bool,
    ) -> Result<Vec<u8>, ApiError> {
        let message = UpdateRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            object,
        };
        let retry = if guarded {
            Retry::Guarded
        } else {
            Retry::BeforeSend
        };
        let reply = match subresource {
            Subresource::Main => {
                self.transport
                    .call("update", retry, message, |mut c, r| async move {
                        c.update(r).await
                    })
                    .await?
            }
            Subresource::Status => {
                self.transport
                    .call("update status", retry, message, |mut c, r| async move {
                        c.update_status(r).await
                    })
                    .await?
            }
        };
        Ok(reply.object)
    }

    pub(crate) async fn raw_patch(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        patch: Vec<u8>,
    ) -> Result<Vec<u8>, ApiError> {
        let message = PatchRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            patch,
        };
        let reply = self
            .transport
            .call("patch", Retry::BeforeSend, message, |mut c, r| async move {
                c.patch(r).await
            })
            .await?;
        Ok(reply.object)
    }

    pub(crate) async fn raw_delete(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Vec<u8>, ApiError> {
        let message = DeleteRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            propagation_policy: options
                .propagation
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            grace_period_seconds: options.grace_period_seconds.unwrap_or(-1),
            precondition_uid: options.precondition_uid.clone().unwrap_or_default(),
            precondition_resource_version: options
                .precondition_resource_version
                .clone()
                .unwrap_or_default(),
        };
        let retry = if options.is_pinned() {
            Retry::Guarded
        } else {
            Retry::BeforeSend
        };
        let reply = self
            .transport
            .call("delete", retry, message, |mut c, r| async move {
                c.delete(r).await
            })
            .await?;
        Ok(reply.object)
    }

    pub(crate) async fn raw_watch(
        &self,
        resource: &str,
        namespace: &str,
        options: &WatchOptions,
    ) -> Result<Streaming<WireEvent>, ApiError> {
        let message = WatchRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            label_selector: options.label_selector.clone(),
            field_selector: options.field_selector.clone(),
            resource_version: options.resource_version.clone(),
            allow_bookmarks: options.allow_bookmarks,
        };
        self.transport
            .call("watch", Retry::Always, message, |mut c, r| async move {
                c.watch(r).await
            })
            .await
    }

    pub(crate) async fn raw_bind(
        &self,
        namespace: &str,
        name: &str,
        node: &str,
        uid: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        let message = BindRequest {
            namespace: namespace.to_string(),
            name: name.to_string(),
            node_name: node.to_string(),
            uid: uid.unwrap_or_default().to_string(),
        };
        // A pod is bound once: a repeat after success is a Conflict, never a second binding.
        let reply = self
            .transport
            .call("bind", Retry::Guarded, message, |mut c, r| async move {
                c.bind(r).await
            })
            .await?;
        Ok(reply.object)
    }

    pub(crate) async fn raw_get_scale(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<ScaleReply, ApiError> {
        let message = ScaleRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        self.transport
            .call("get scale", Retry::Always, message, |mut c, r| async move {
                c.get_scale(r).await
            })
            .await
    }

    pub(crate) async fn raw_update_scale(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        replicas: i32,
        current_replicas: Option<i32>,
    ) -> Result<ScaleReply, ApiError> {
        let message = UpdateScaleRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            replicas,
            current_replicas: current_replicas.unwrap_or(-1),
        };
        // With a current-replicas precondition a repeat after success is a Conflict.
        let retry = if current_replicas.is_some() {
            Retry::Guarded
        } else {
            Retry::BeforeSend
        };
        self.transport
            .call("update scale", retry, message, |mut c, r| async move {
                c.update_scale(r).await
            })
            .await
    }

    pub(crate) async fn raw_logs(
        &self,
        namespace: &str,
        name: &str,
        options: &LogOptions,
    ) -> Result<Streaming<LogChunk>, ApiError> {
        let message = LogsRequest {
            namespace: namespace.to_string(),
            name: name.to_string(),
            container: options.container.clone().unwrap_or_default(),
            follow: options.follow,
            previous: options.previous,
            tail_lines: options.tail_lines.unwrap_or(-1),
            timestamps: options.timestamps,
        };
        self.transport
            .call("logs", Retry::Always, message, |mut c, r| async move {
                c.logs(r).await
            })
            .await
    }

    pub(crate) async fn raw_who_am_i(&self) -> Result<WhoAmIReply, ApiError> {
        self.transport
            .call(
                "who am i",
                Retry::Always,
                WhoAmIRequest {},
                |mut c, r| async move { c.who_am_i(r).await },
            )
            .await
    }
}
