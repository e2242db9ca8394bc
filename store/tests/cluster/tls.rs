//! A TLS store cluster with client-certificate authentication on both ports: etcdctl gets
//! in with the cluster's certificate and nothing else does; a stranger on the peer port
//! cannot deliver a raft message.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use protobuf::Message as PbMessage;
use raft::eraftpb::{Message, MessageType};
use skiff_common::pki_layout::{issue_cluster, PkiLayout};
use skiff_proto::skiffstore::raft_peer_client::RaftPeerClient;
use skiff_proto::skiffstore::RaftEnvelope;
use skiff_store::config::{cluster_id, member_id, Peer};
use skiff_testkit::store::{tls_channel, StoreCluster, StoreSpec};

use crate::util::*;

fn etcdctl(endpoint: &str, tls: &[String], args: &[&str]) -> Output {
    Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(["--command-timeout=5s", "--dial-timeout=2s"])
        .args(tls)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("etcdctl must be installed (Debian package etcd-client)")
}

fn tls_args(ca: &Path, cert: Option<(&Path, &Path)>) -> Vec<String> {
    let mut args = vec![format!("--cacert={}", ca.display())];
    if let Some((cert, key)) = cert {
        args.push(format!("--cert={}", cert.display()));
        args.push(format!("--key={}", key.display()));
    }
    args
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits until member `i`'s log holds `needle` at least `count` times.
async fn wait_log(cluster: &StoreCluster, i: usize, needle: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = cluster.log(i);
        if log.matches(needle).count() >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "member {i}'s log does not say {needle:?} {count} times:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn tls_cluster() -> StoreCluster {
    let binary = Path::new(env!("CARGO_BIN_EXE_skiff-store"));
    StoreCluster::start(&StoreSpec::of(binary, 3).tls()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_clients_with_the_cluster_certificate_get_in() {
    let cluster = tls_cluster().await;
    let pki = cluster.pki().expect("a TLS cluster").clone();
    let client = pki.etcd_client();
    let member = &cluster.members()[1];
    let https = member.client_url();
    assert!(https.starts_with("https://"), "{https}");

    step("etcdctl with the cluster CA and a client certificate it signed");
    let right = tls_args(&pki.ca_cert(), Some((&client.cert, &client.key)));
    let out = etcdctl(&https, &right, &["put", "/tls/a", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = etcdctl(&https, &right, &["get", "/tls/a", "--print-value-only"]);
    assert_eq!(text(&out), "1\n");
    let all: Vec<String> = cluster.client_urls();
    let out = etcdctl(&all.join(","), &right, &["endpoint", "health"]);
    assert!(out.status.success(), "{}", text(&out));

    step("no client certificate: refused, and the member says why");
    let out = etcdctl(&https, &tls_args(&pki.ca_cert(), None), &["get", "/tls/a"]);
    assert!(!out.status.success(), "{}", text(&out));

    wait_log(&cluster, 1, "presented no certificate", 1).await;
    // etcdctl itself only says "context deadline exceeded" (as against etcd): the reason is
    // in the member's log, as etcd logs it.

    step("a client certificate from another CA: refused");
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = PkiLayout::new(&other_dir.path().join("pki"));
    issue_cluster(&other, &[], &[], &[]).expect("another CA");
    let foreign = other.etcd_client();
    let out = etcdctl(
        &https,
        &tls_args(&pki.ca_cert(), Some((&foreign.cert, &foreign.key))),
        &["get", "/tls/a"],
    );
    assert!(!out.status.success(), "{}", text(&out));

    wait_log(
        &cluster,
        1,
        "certificate is refused: not signed by the trusted CA",
        1,
    )
    .await;

    step("a server certificate from another CA: etcdctl refuses the member");
    let out = etcdctl(
        &https,
        &tls_args(&other.ca_cert(), Some((&client.cert, &client.key))),
        &["get", "/tls/a"],
    );
    assert!(!out.status.success(), "{}", text(&out));

    step("plain http on the TLS port: refused");
    let plain = format!("http://127.0.0.1:{}", member.client_port);
    let out = etcdctl(&plain, &[], &["get", "/tls/a"]);
    assert!(!out.status.success(), "{}", text(&out));

    wait_log(&cluster, 1, "not a TLS handshake", 1).await;

    step("nothing the refused clients tried was stored; the right client still works");
    let out = etcdctl(&https, &right, &["get", "--prefix", "/tls/", "--keys-only"]);
    assert_eq!(text(&out), "/tls/a\n\n");
}

/// Member ids and the cluster id, computed as the members do from their peer URLs.
fn identities(cluster: &StoreCluster) -> (Vec<Peer>, u64) {
    let peers: Vec<Peer> = cluster
        .members()
        .iter()
        .map(|m| Peer {
            id: member_id(&m.peer_url(), "skiff-cluster"),
            name: m.name.clone(),
            url: m.peer_url(),
        })
        .collect();
    let cid = cluster_id(&peers, "skiff-cluster");
    (peers, cid)
}

/// A leader's order to campaign at once (raft's leadership transfer), forged: delivered,
/// it starts an election.
fn forged_timeout_now(
    peers: &[Peer],
    cid: u64,
    leader: usize,
    target: usize,
    term: u64,
) -> RaftEnvelope {
    let mut msg = Message::default();
    msg.set_msg_type(MessageType::MsgTimeoutNow);
    msg.from = peers[leader].id;
    msg.to = peers[target].id;
    msg.term = term;
    RaftEnvelope {
        cluster_id: cid,
        from: peers[leader].id,
        messages: vec![msg.write_to_bytes().expect("encode")],
    }
}

async fn term(cluster: &StoreCluster, i: usize) -> u64 {
    let status = cluster.status(i).await.expect("status");
    status.raft_term
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_without_the_cluster_certificate_cannot_deliver_raft_messages() {
    step("control: on a plain cluster the forged message starts an election");
    let plain = start(3, &[]).await;
    let leader = plain.wait_for_leader(Duration::from_secs(10)).await;
    let target = (leader + 1) % 3;
    let (peers, cid) = identities(&plain);
    let before = term(&plain, target).await;
    let mut client = RaftPeerClient::new(channel(&plain.members()[target].peer_url()).await);
    let forged = forged_timeout_now(&peers, cid, leader, target, before);
    let _ = client.send(tokio_stream::iter(vec![forged])).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while term(&plain, target).await == before {
        assert!(
            Instant::now() < deadline,
            "the forged message started no election"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(plain);

    step("TLS cluster: the same message without a certificate, and over plain http");
    let cluster = tls_cluster().await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let target = (leader + 1) % 3;
    let (peers, cid) = identities(&cluster);
    let terms_before: Vec<u64> = {
        let mut terms = Vec::new();
        for i in 0..3 {
            terms.push(term(&cluster, i).await);
        }
        terms
    };
    let pki = cluster.pki().expect("a TLS cluster").clone();
    let peer_url = cluster.members()[target].peer_url();
    let ca_only = skiff_common::tls::ClientTlsFiles::ca_only(&pki.ca_cert())
        .config(["ca", "cert", "key"])
        .expect("CA");
    let plain_url = format!("http://127.0.0.1:{}", cluster.members()[target].peer_port);
    for (how, url, tls) in [
        (
            "TLS without a certificate",
            peer_url.as_str(),
            ca_only.as_ref(),
        ),
        ("plain http", plain_url.as_str(), None),
    ] {
        let mut client = RaftPeerClient::new(tls_channel(url, tls));
        let forged = forged_timeout_now(&peers, cid, leader, target, terms_before[target]);
        let sent = client.send(tokio_stream::iter(vec![forged])).await;
        assert!(sent.is_err(), "{how}: the member accepted the stream");
    }

    step("the member logged and dropped both; no election started");
    wait_log(&cluster, target, "presented no certificate", 1).await;
    wait_log(&cluster, target, "not a TLS handshake", 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (i, before) in terms_before.iter().enumerate() {
        assert_eq!(term(&cluster, i).await, *before, "member {i}'s term moved");
    }
    assert_eq!(
        cluster.wait_for_leader(Duration::from_secs(5)).await,
        leader
    );
}
