//! The NodeLogs gRPC service the apiserver's log proxy calls: a container's log by
//! namespace, pod and container, current or previous instance, whole, tailed or followed.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use skiff_api::error::ApiError;
use skiff_api::types::Pod;
use skiff_proto::skiffapi::node_logs_server::NodeLogs;
use skiff_proto::skiffapi::{LogChunk, LogsRequest};
use skiff_runtime::informer::Store;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::backend::Backend;
use crate::logs::LogOptions;
use crate::runtime::RuntimeError;

/// Bytes per message when a whole log is sent.
const CHUNK: usize = 64 * 1024;

type ChunkStream = Pin<Box<dyn Stream<Item = Result<LogChunk, Status>> + Send>>;

/// Serves logs of the pods in the informer's cache.
pub struct LogService {
    pub backend: Backend,
    pub pods: Store<Pod>,
    /// Ends followed streams when the agent stops.
    pub shutdown: CancellationToken,
    /// Callers present client certificates (`--client-ca-file`): only the apiserver's is
    /// answered.
    pub client_certificates: bool,
}

/// The container a request is about: the one named, or the pod's only one (Kubernetes'
/// wording when that is ambiguous or wrong).
pub fn pick_container(pod: &Pod, requested: &str) -> Result<String, ApiError> {
    let names: Vec<&str> = pod
        .spec
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let pod_name = &pod.metadata.name;
    if requested.is_empty() {
        return match names.as_slice() {
            [one] => Ok(one.to_string()),
            many => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                many.join(" ")
            ))),
        };
    }
    if names.contains(&requested) {
        Ok(requested.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "container {requested} is not valid for pod {pod_name}"
        )))
    }
}

/// Kubernetes' message for a log that does not exist (yet).
fn no_logs(pod: &Pod, container: &str, previous: bool) -> ApiError {
    let name = &pod.metadata.name;
    if previous {
        return ApiError::bad_request(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        ));
    }
    let reason = pod
        .status
        .container_statuses
        .iter()
        .find(|s| s.name == container)
        .and_then(|s| s.state.waiting.as_ref())
        .map_or("ContainerCreating", |w| w.reason.as_str());
    ApiError::bad_request(format!(
        "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
    ))
}

fn runtime_error(pod: &Pod, container: &str, previous: bool, e: RuntimeError) -> Status {
    match e {
        RuntimeError::NoLogs { .. } | RuntimeError::NotFound(_) => {
            no_logs(pod, container, previous).to_status()
        }
        other => ApiError::internal(other).to_status(),
    }
}

impl LogService {
    fn open(&self, req: &LogsRequest) -> Result<ChunkStream, Status> {
        let namespace = if req.namespace.is_empty() {
            "default"
        } else {
            req.namespace.as_str()
        };
        let pod = self
            .pods
            .get(namespace, &req.name)
            .ok_or_else(|| ApiError::not_found("pods", &req.name).to_status())?;
        let container = pick_container(&pod, &req.container).map_err(|e| e.to_status())?;
        let options = LogOptions {
            previous: req.previous,
            tail_lines: usize::try_from(req.tail_lines).ok(),
            timestamps: req.timestamps,
        };
        let uid = &pod.metadata.uid;
        if req.follow {
            let follower = self
                .backend
                .follow_log(uid, &container, &options)
                .map_err(|e| runtime_error(&pod, &container, req.previous, e))?;
            let Some(follower) = follower else {
                return Ok(Box::pin(futures::stream::empty()));
            };
            let stream = follower
                .into_stream()
                .map(|chunk| match chunk {
                    Ok(data) => Ok(LogChunk {
                        data: data.to_vec(),
                    }),
                    Err(e) => Err(ApiError::internal(format!("reading the log: {e}")).to_status()),
                })
                .take_until(self.shutdown.clone().cancelled_owned());
            return Ok(Box::pin(stream));
        }
        let data = self
            .backend
            .read_log(uid, &container, &options)
            .map_err(|e| runtime_error(&pod, &container, req.previous, e))?;
        let data = Bytes::from(data);
        let chunks: Vec<Result<LogChunk, Status>> = (0..data.len())
            .step_by(CHUNK)
            .map(|at| {
                Ok(LogChunk {
                    data: data.slice(at..(at + CHUNK).min(data.len())).to_vec(),
                })
            })
            .collect();
        Ok(Box::pin(futures::stream::iter(chunks)))
    }
}

#[tonic::async_trait]
impl NodeLogs for LogService {
    type LogsStream = ChunkStream;
    type ExecStream = super::exec::OutputStream;

    async fn exec(
        &self,
        request: Request<tonic::Streaming<skiff_proto::skiffapi::ExecInput>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        // The same client-certificate check as logs: only the apiserver may exec.
        super::tls::authorize(&request, self.client_certificates)?;
        super::exec::exec(&self.backend, &self.pods, request).await
    }

    async fn logs(
        &self,
        request: Request<LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        super::tls::authorize(&request, self.client_certificates)?;
        self.open(request.get_ref()).map(Response::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(containers: &[&str]) -> Pod {
        use skiff_api::types::Resource;
        let mut pod = Pod::named("default", "p");
        for name in containers {
            pod.spec.containers.push(skiff_api::types::Container {
                name: name.to_string(),
                ..Default::default()
            });
        }
        pod
    }

    #[test]
    fn container_choice_and_messages_follow_kubernetes() {
        assert_eq!(pick_container(&pod(&["a"]), "").unwrap(), "a");
        assert_eq!(pick_container(&pod(&["a", "b"]), "b").unwrap(), "b");
        let e = pick_container(&pod(&["a", "b"]), "").unwrap_err();
        assert_eq!(
            e.message,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        let e = pick_container(&pod(&["a", "b"]), "c").unwrap_err();
        assert_eq!(e.message, "container c is not valid for pod p");
        assert_eq!(
            no_logs(&pod(&["a"]), "a", true).message,
            "previous terminated container \"a\" in pod \"p\" not found"
        );
        assert_eq!(
            no_logs(&pod(&["a"]), "a", false).message,
            "container \"a\" in pod \"p\" is waiting to start: ContainerCreating"
        );
    }
}
