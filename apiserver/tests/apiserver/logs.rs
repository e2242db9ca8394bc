//! The log proxy, against a small fake NodeLogs server standing in for a node agent.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use serde_json::json;
use skiff_api::error::Reason;
use skiff_proto::skiffapi::node_logs_server::{NodeLogs, NodeLogsServer};
use skiff_proto::skiffapi::{LogChunk, LogsRequest};
use tonic::{Request, Response, Status};

use crate::util::*;

/// Answers with a line describing the request, then two log lines.
struct FakeNodelet;

#[tonic::async_trait]
impl NodeLogs for FakeNodelet {
    type LogsStream = Pin<Box<dyn Stream<Item = Result<LogChunk, Status>> + Send>>;
    type ExecStream =
        Pin<Box<dyn Stream<Item = Result<skiff_proto::skiffapi::ExecOutput, Status>> + Send>>;

    async fn exec(
        &self,
        _request: Request<tonic::Streaming<skiff_proto::skiffapi::ExecInput>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        Err(Status::unimplemented(
            "the log tests' nodelet does not exec",
        ))
    }

    async fn logs(
        &self,
        request: Request<LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        let r = request.into_inner();
        let head = format!(
            "{}/{} container={} previous={} tail={} follow={}\n",
            r.namespace, r.name, r.container, r.previous, r.tail_lines, r.follow
        );
        let chunks = vec![
            Ok(LogChunk {
                data: head.into_bytes(),
            }),
            Ok(LogChunk {
                data: b"line 1\n".to_vec(),
            }),
            Ok(LogChunk {
                data: b"line 2\n".to_vec(),
            }),
        ];
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }
}

async fn read_all(c: &mut Client, req: LogsRequest) -> Result<String, tonic::Status> {
    let mut stream = c.logs(req).await?.into_inner();
    let mut out = Vec::new();
    while let Some(chunk) = stream.message().await? {
        out.extend(chunk.data);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_proxied_to_the_node_running_the_pod() {
    let cluster = Cluster::start(1, &[]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(NodeLogsServer::new(FakeNodelet))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    within(Duration::from_secs(60), "logs", async {
        let api = &cluster.apiservers[0];
        let mut admin = api.client(ADMIN).await;
        let node = |name: &str, port: u16| {
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}})
        };
        create(&mut admin, "nodes", "", &node("n1", port)).await.unwrap();
        create(&mut admin, "nodes", "", &node("dead", free_port())).await.unwrap();
        let two = |name: &str, node: &str| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"nodeName": node, "containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}})
        };
        create(&mut admin, "pods", "default", &two("web", "n1")).await.unwrap();
        create(&mut admin, "pods", "default", &two("lost", "dead")).await.unwrap();
        let mut pending = two("pending", "");
        pending["spec"].as_object_mut().unwrap().remove("nodeName");
        create(&mut admin, "pods", "default", &pending).await.unwrap();
        let req = |name: &str, container: &str| LogsRequest {
            namespace: "default".into(), name: name.into(), container: container.into(), follow: false, previous: true, tail_lines: 10, timestamps: false,
        };

        step("the chunks of the named container come back in order");
        let text = read_all(&mut admin, req("web", "b")).await.unwrap();
        assert_eq!(text, "default/web container=b previous=true tail=10 follow=false\nline 1\nline 2\n");
        let mut viewer = api.client(VIEWER).await;
        assert!(read_all(&mut viewer, req("web", "a")).await.is_ok(), "viewers read logs");

        step("errors: no container named, unknown container, unscheduled pod, unreachable node, unknown pod, a node reading logs");
        let e = read_all(&mut admin, req("web", "")).await.unwrap_err();
        assert_eq!(message(&e), "a container name must be specified for pod web, choose one of: [a b]");
        let e = read_all(&mut admin, req("web", "c")).await.unwrap_err();
        assert_eq!((reason(&e), message(&e)), (Reason::BadRequest, "container c is not valid for pod web".to_string()));
        let e = read_all(&mut admin, req("pending", "a")).await.unwrap_err();
        assert_eq!(message(&e), "pod pending does not have a host assigned");
        let e = read_all(&mut admin, req("lost", "a")).await.unwrap_err();
        assert_eq!(reason(&e), Reason::ServiceUnavailable, "{}", message(&e));
        let e = read_all(&mut admin, req("nope", "a")).await.unwrap_err();
        assert_eq!(reason(&e), Reason::NotFound);
        let mut n1 = api.client(NODE1).await;
        assert_eq!(reason(&read_all(&mut n1, req("web", "a")).await.unwrap_err()), Reason::Forbidden);
    })
    .await;
    server.abort();
}
