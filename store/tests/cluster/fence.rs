//! Write fences: a write stamped with a fence never enters the log after it, neither from a
//! member that held it while stopped nor as a follower's proposal reaching the leader late.
//! Without them, a client's retry on another member could be overtaken by its first attempt.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protobuf::Message as PbMessage;
use raft::eraftpb::{Entry, Message, MessageType};
use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::request_op::Request as Op;
use skiff_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
};
use skiff_proto::skiffstore::internal_request::Request as Internal;
use skiff_proto::skiffstore::raft_peer_client::RaftPeerClient;
use skiff_proto::skiffstore::{InternalRequest, RaftEnvelope};
use skiff_proto::WRITE_FENCE_HEADER;
use skiff_store::config::cluster_id;
use skiff_testkit::store::StoreCluster;

use crate::util::*;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The store client's create: put `value` at `key` if the key does not exist.
fn create_if_absent(key: &str, value: &str) -> TxnRequest {
    TxnRequest {
        compare: vec![Compare {
            result: CompareResult::Equal as i32,
            target: CompareTarget::Create as i32,
            key: key.into(),
            target_union: Some(TargetUnion::CreateRevision(0)),
            range_end: Vec::new(),
        }],
        success: vec![RequestOp {
            request: Some(Op::RequestPut(PutRequest {
                key: key.into(),
                value: value.into(),
                ..Default::default()
            })),
        }],
        failure: Vec::new(),
    }
}

/// `key`'s value by a linearizable read through member `i`.
async fn value_of(cluster: &StoreCluster, i: usize, key: &str) -> Option<Vec<u8>> {
    let resp = cluster
        .kv(i)
        .await
        .range(RangeRequest {
            key: key.into(),
            ..Default::default()
        })
        .await
        .expect("linearizable read")
        .into_inner();
    resp.kvs.into_iter().next().map(|kv| kv.value)
}

/// Waits until every member has applied what the leader has, then checks `key` is in no
/// member's own state (a serializable read on each).
async fn absent_everywhere(cluster: &StoreCluster, leader: usize, key: &str, what: &str) {
    let index = cluster
        .status(leader)
        .await
        .expect("leader status")
        .raft_index;
    for i in 0..cluster.len() {
        cluster
            .wait_applied(i, index, Duration::from_secs(10))
            .await;
        let value = get_local(&mut cluster.kv(i).await, key).await;
        assert_eq!(value, None, "s{} {what}: {key}", i + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_held_by_a_stopped_member_is_refused_once_its_fence_has_passed() {
    let cluster = start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let held = (leader + 1) % 3;
    let key = "/fence/held";
    // Connected before the stop, so the request really sits in the stopped member's socket.
    let mut late_kv = cluster.kv(held).await;
    value_of(&cluster, held, "/fence/warm-up").await;

    step(&format!(
        "SIGSTOP s{}; send it a create-if-absent fenced 500 ms ahead",
        held + 1
    ));
    cluster
        .process_ref(held)
        .signal(rustix::process::Signal::STOP);
    let mut late = tonic::Request::new(create_if_absent(key, "first attempt"));
    late.metadata_mut().insert(
        WRITE_FENCE_HEADER,
        tonic::metadata::MetadataValue::from(unix_ms() + 500),
    );
    let first_attempt = tokio::spawn(async move { late_kv.txn(late).await });

    step("past the fence, the client's retry creates the key elsewhere, and the key is deleted");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut kv = cluster.kv(leader).await;
    let retry = kv
        .txn(create_if_absent(key, "retry"))
        .await
        .expect("retry")
        .into_inner();
    assert!(retry.succeeded, "the retry found the key already there");
    kv.delete_range(DeleteRangeRequest {
        key: key.into(),
        ..Default::default()
    })
    .await
    .expect("delete");

    step("SIGCONT: the held attempt is refused, not applied after the delete");
    cluster
        .process_ref(held)
        .signal(rustix::process::Signal::CONT);
    let answer = tokio::time::timeout(Duration::from_secs(30), first_attempt)
        .await
        .expect("the held attempt is answered")
        .expect("task");
    let status = answer.expect_err("the held attempt must be refused, not applied");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("fence"), "{status:?}");
    absent_everywhere(&cluster, leader, key, "holds the deleted key again").await;

    step("a fence still ahead does not get in the way");
    let mut on_time = tonic::Request::new(create_if_absent(key, "on time"));
    on_time.metadata_mut().insert(
        WRITE_FENCE_HEADER,
        tonic::metadata::MetadataValue::from(unix_ms() + 60_000),
    );
    let resp = cluster
        .kv(held)
        .await
        .txn(on_time)
        .await
        .expect("fenced write")
        .into_inner();
    assert!(resp.succeeded);
    assert_eq!(
        value_of(&cluster, leader, key).await.as_deref(),
        Some(&b"on time"[..])
    );

    step("a fence that is no time is refused, naming the header");
    let mut bad = tonic::Request::new(create_if_absent("/fence/bad", "x"));
    bad.metadata_mut()
        .insert(WRITE_FENCE_HEADER, "tomorrow".parse().unwrap());
    let refused = cluster
        .kv(leader)
        .await
        .txn(bad)
        .await
        .expect_err("bad fence");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains(WRITE_FENCE_HEADER),
        "{refused:?}"
    );
    assert_eq!(value_of(&cluster, leader, "/fence/bad").await, None);
}

/// A follower's proposal as it travels to the leader: `MsgPropose` with one entry per write,
/// the fence in the entry's context.
fn forwarded_put(from: u64, to: u64, key: &str, fence: u64) -> Vec<u8> {
    let request = InternalRequest {
        proposer: from,
        id: unix_ms() ^ key.len() as u64,
        request: Some(Internal::Put(PutRequest {
            key: key.into(),
            value: b"forwarded".to_vec(),
            ..Default::default()
        })),
    };
    let entry = Entry {
        data: prost::Message::encode_to_vec(&request).into(),
        context: fence.to_be_bytes().to_vec().into(),
        ..Default::default()
    };
    let mut msg = Message::default();
    msg.set_msg_type(MessageType::MsgPropose);
    msg.from = from;
    msg.to = to;
    msg.set_entries(vec![entry].into());
    msg.write_to_bytes().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_drops_a_forwarded_proposal_whose_fence_has_passed() {
    let cluster = start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = (leader + 1) % 3;
    let peers = peers(&cluster);
    let (from, to) = (peers[follower].id, peers[leader].id);

    step("a follower's proposals reach the leader: one fenced a second ago, one a minute ahead");
    let now = unix_ms();
    let envelope = RaftEnvelope {
        cluster_id: cluster_id(&peers, "skiff-cluster"),
        from,
        messages: vec![
            forwarded_put(from, to, "/fence/late", now - 1_000),
            forwarded_put(from, to, "/fence/on-time", now + 60_000),
        ],
    };
    let url = format!("http://127.0.0.1:{}", cluster.members()[leader].peer_port);
    let mut client = RaftPeerClient::new(channel(&url).await);
    // The stream ends when the member has read it; the member may answer either way.
    let _ = client.send(tokio_stream::iter(vec![envelope])).await;

    step("the one on time is applied everywhere; the late one nowhere");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while value_of(&cluster, leader, "/fence/on-time").await.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the proposal on time was not applied:\n{}",
            cluster.log(leader)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    absent_everywhere(
        &cluster,
        leader,
        "/fence/late",
        "applied a proposal after its fence",
    )
    .await;
    assert!(
        cluster.log(leader).contains("their write fence passed"),
        "{}",
        cluster.log(leader)
    );
}
