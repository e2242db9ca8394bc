//! The exec proxy: finds the node running a pod and streams a command's stdin, stdout,
//! stderr and exit code to and from that node's NodeLogs service.

use futures::StreamExt;
use skiff_api::error::ApiError;
use skiff_proto::skiffapi::{ExecInput, ExecOutput, ExecStart};
use tonic::Streaming;

use crate::pod_node;
use crate::registry::Registry;

/// Reads the stream's first message, which must carry the start (pod, container, command).
pub async fn read_start(
    input: &mut Streaming<ExecInput>,
) -> Result<(ExecInput, ExecStart), ApiError> {
    let first = input
        .message()
        .await
        .map_err(|s| ApiError::from_status(&s))?
        .ok_or_else(|| ApiError::bad_request("exec: no start message"))?;
    let start = first
        .start
        .clone()
        .ok_or_else(|| ApiError::bad_request("exec: the first message must carry start"))?;
    Ok((first, start))
}

/// The stdin messages after the first of a gRPC exec stream, up to its end or first error.
pub fn grpc_input(
    rest: Streaming<ExecInput>,
) -> impl futures::Stream<Item = ExecInput> + Send + 'static {
    rest.take_while(|m| futures::future::ready(m.is_ok()))
        .filter_map(|m| async move { m.ok() })
}

/// Opens the command on the pod's node; `first` carries the start, `rest` the stdin (the
/// gRPC stream's or the WebSocket's).
pub async fn open(
    registry: &Registry,
    first: ExecInput,
    start: ExecStart,
    rest: impl futures::Stream<Item = ExecInput> + Send + 'static,
) -> Result<Streaming<ExecOutput>, ApiError> {
    if start.command.is_empty() {
        return Err(ApiError::bad_request(
            "you must specify at least one command for the container",
        ));
    }
    let mut node =
        pod_node::connect(registry, &start.namespace, &start.name, &start.container).await?;
    let first = ExecInput {
        start: Some(ExecStart {
            namespace: node.namespace,
            container: node.container,
            ..start
        }),
        ..first
    };
    let input = futures::stream::once(async move { first }).chain(rest);
    let stream = node
        .client
        .exec(input)
        .await
        .map_err(|s| ApiError::from_status(&s))?
        .into_inner();
    Ok(stream)
}
