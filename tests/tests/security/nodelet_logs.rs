//! A nodelet's log service answers only the apiserver's client certificate.

use std::time::{Duration, Instant};

use skiff_common::tls::ClientTlsFiles;
use skiff_proto::skiffapi::node_logs_client::NodeLogsClient;
use skiff_proto::skiffapi::LogsRequest;
use skiff_testkit::cluster::{ClusterSpec, NodeletSpec, TestCluster};
use skiff_testkit::step;
use skiff_testkit::store::tls_channel;

fn request() -> LogsRequest {
    LogsRequest {
        namespace: "default".into(),
        name: "no-such-pod".into(),
        container: String::new(),
        follow: false,
        previous: false,
        tail_lines: -1,
        timestamps: false,
    }
}

async fn wait_log(cluster: &TestCluster, name: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster.log(name).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "{name}'s log does not say {needle:?}:\n{}",
            cluster.log(name)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_log_port_refuses_callers_without_the_apiservers_certificate() {
    let cluster = TestCluster::start(ClusterSpec {
        nodelets: vec![NodeletSpec::new("n1")],
        ..ClusterSpec::default()
    })
    .await;
    let pki = cluster.pki().expect("TLS is the default").clone();
    let address = cluster.nodelet_address("n1");
    let https = format!("https://{address}");
    let with = |files: ClientTlsFiles| files.config(["ca", "cert", "key"]).expect("tls");

    step("the apiserver's kubelet client certificate: the request reaches the service");
    let apiserver = pki.apiserver_kubelet_client();
    let tls = with(ClientTlsFiles::new(
        &pki.ca_cert(),
        &apiserver.cert,
        &apiserver.key,
    ));
    let mut client = NodeLogsClient::new(tls_channel(&https, tls.as_ref()));
    let answer = client.logs(request()).await.expect_err("no such pod");
    assert_eq!(answer.code(), tonic::Code::NotFound, "{answer:?}");

    step("a certificate from the cluster CA that is not the apiserver's: permission denied");
    let other = pki.etcd_client();
    let tls = with(ClientTlsFiles::new(&pki.ca_cert(), &other.cert, &other.key));
    let mut client = NodeLogsClient::new(tls_channel(&https, tls.as_ref()));
    let refused = client.logs(request()).await.expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("only the apiserver"),
        "{refused:?}"
    );

    step("no client certificate, and plain http: refused before any request");
    let tls = with(ClientTlsFiles::ca_only(&pki.ca_cert()));
    let mut client = NodeLogsClient::new(tls_channel(&https, tls.as_ref()));
    assert!(client.logs(request()).await.is_err());
    wait_log(&cluster, "nodelet-n1", "presented no certificate").await;
    let mut client = NodeLogsClient::new(tls_channel(&format!("http://{address}"), None));
    assert!(client.logs(request()).await.is_err());
    wait_log(&cluster, "nodelet-n1", "not a TLS handshake").await;
}
