//! The log proxy: streams a container's log from the NodeLogs service of the pod's node.

use skiff_api::error::ApiError;
use skiff_proto::skiffapi::{LogChunk, LogsRequest};
use tonic::Streaming;

use crate::pod_node;
use crate::registry::Registry;

/// Opens the log stream of a pod's container on its node.
pub async fn open(registry: &Registry, req: LogsRequest) -> Result<Streaming<LogChunk>, ApiError> {
    let mut node = pod_node::connect(registry, &req.namespace, &req.name, &req.container).await?;
    let forwarded = LogsRequest {
        namespace: node.namespace,
        container: node.container,
        ..req
    };
    let stream = node
        .client
        .logs(forwarded)
        .await
        .map_err(|s| ApiError::from_status(&s))?
        .into_inner();
    Ok(stream)
}
