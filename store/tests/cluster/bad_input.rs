//! Bad input never takes a member down and never gets stored: oversized
//! requests, garbage on the peer port, and data dirs that are not this
//! member's.

use std::process::{Command, Stdio};
use std::time::Duration;

use protobuf::Message as PbMessage;
use raft::eraftpb::{Message, MessageType};
use skiff_proto::etcdserverpb::PutRequest;
use skiff_proto::skiffstore::raft_peer_client::RaftPeerClient;
use skiff_proto::skiffstore::RaftEnvelope;
use skiff_store::config::cluster_id;

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_size_limit_is_refused_with_etcds_message() {
    let cluster = start(1, &[]).await;
    let mut kv = cluster.kv(0).await;
    let big = vec![b'x'; 2 * 1024 * 1024];
    let err = kv
        .put(PutRequest {
            key: b"/big".to_vec(),
            value: big,
            ..Default::default()
        })
        .await
        .expect_err("a 2 MiB put must be refused");
    assert!(err.message().contains("request is too large"), "{err:?}");
    assert_eq!(
        get_local(&mut kv, "/big").await,
        None,
        "nothing may be stored"
    );
    // Just under the limit is fine.
    let fits = vec![b'y'; 1024 * 1024];
    kv.put(PutRequest {
        key: b"/fits".to_vec(),
        value: fits,
        ..Default::default()
    })
    .await
    .expect("1 MiB put");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_peer_messages_do_not_crash_a_member() {
    let cluster = start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let target = (leader + 1) % 3;
    let peers = peers(&cluster);
    let cid = cluster_id(&peers, "skiff-cluster");
    let leader_id = peers[leader].id;

    step("bytes that are no raft message, a foreign cluster id, and a well-formed but impossible heartbeat");
    let mut impossible = Message::default();
    impossible.set_msg_type(MessageType::MsgHeartbeat);
    impossible.from = leader_id;
    impossible.to = peers[target].id;
    impossible.term = 1_000_000;
    impossible.commit = u64::MAX / 2;
    let mut bad_append = Message::default();
    bad_append.set_msg_type(MessageType::MsgAppend);
    bad_append.from = 12345;
    bad_append.to = peers[target].id;
    let envelopes = vec![
        RaftEnvelope {
            cluster_id: cid,
            from: leader_id,
            messages: vec![vec![0xff; 64]],
        },
        RaftEnvelope {
            cluster_id: cid,
            from: leader_id,
            messages: vec![impossible.write_to_bytes().unwrap()],
        },
        RaftEnvelope {
            cluster_id: cid,
            from: 12345,
            messages: vec![bad_append.write_to_bytes().unwrap()],
        },
        RaftEnvelope {
            cluster_id: cid ^ 1,
            from: leader_id,
            messages: vec![vec![1, 2, 3]],
        },
    ];
    let mut client = RaftPeerClient::new(
        channel(&format!(
            "http://127.0.0.1:{}",
            cluster.members()[target].peer_port
        ))
        .await,
    );
    let refused = client
        .send(tokio_stream::iter(envelopes))
        .await
        .expect_err("the foreign cluster id ends the stream");
    // The member reads a stream in order: refusing the last envelope proves it read and
    // judged the three before it.
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("cluster id mismatch"),
        "{refused:?}"
    );

    step("each bad message was seen and dropped before raft-rs could trust it");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = cluster.log(target);
        let undecodable = log.matches("undecodable raft message dropped").count();
        let implausible = log.matches("implausible raft message dropped").count();
        if undecodable >= 1 && implausible >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected 1 undecodable and 2 implausible messages dropped, saw {undecodable} and {implausible}:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    step("the member still serves and replicates");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut kv = cluster.kv(target).await;
    put(&mut kv, "/still/alive", "yes")
        .await
        .expect("put through the member after garbage");
    assert!(
        cluster.status(target).await.is_some(),
        "member stopped answering"
    );
    assert!(
        !cluster.log(target).contains("panicked"),
        "member panicked:\n{}",
        cluster.log(target)
    );
}

fn start_on(dir: &std::path::Path, peer: u16) -> (bool, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_skiff-store"))
        .args(["--name", "s1", "--data-dir"])
        .arg(dir)
        .args(["--listen-client-urls", &format!("http://127.0.0.1:{port}")])
        .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
        .args(["--initial-cluster", &format!("s1=http://127.0.0.1:{peer}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start skiff-store");
    // A refused start exits at once; a healthy one keeps running.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.success(), err);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    (true, "still running".into())
}

#[test]
fn foreign_damaged_or_other_members_data_dirs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();

    step("a directory with someone else's files");
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("important.txt"), "do not touch").unwrap();
    let (ok, err) = start_on(&foreign, free_port());
    assert!(
        !ok && err.contains("is not a skiff-store data dir"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("important.txt")).unwrap(),
        "do not touch"
    );

    step("a damaged marker");
    let damaged = tmp.path().join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    std::fs::write(damaged.join("skiff-store.json"), "{{{{").unwrap();
    let (ok, err) = start_on(&damaged, free_port());
    assert!(!ok && err.contains("is damaged"), "{err}");

    step("a damaged database");
    let dbdir = tmp.path().join("db-damaged");
    let peer = free_port();
    let (ok, _) = start_on(&dbdir, peer); // creates a real data dir, runs until killed
    assert!(ok);
    for entry in std::fs::read_dir(dbdir.join("db")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, vec![0xa5u8; 4096]).unwrap();
        }
    }
    let (ok, err) = start_on(&dbdir, peer);
    assert!(
        !ok && err.contains("data dir"),
        "a damaged database must be refused with a clear message: {err}"
    );
}
