//! Watches replay history from an old revision exactly once and in order,
//! then stream live events; a compacted start revision is answered as such.

use std::time::Duration;

use skiff_proto::etcdserverpb::watch_client::WatchClient;
use skiff_proto::etcdserverpb::watch_request::RequestUnion;
use skiff_proto::etcdserverpb::{
    CompactionRequest, DeleteRangeRequest, WatchCreateRequest, WatchRequest, WatchResponse,
};
use skiff_proto::mvccpb::event::EventType;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::util::*;

async fn open_watch(
    url: &str,
    create: WatchCreateRequest,
) -> (mpsc::Sender<WatchRequest>, Streaming<WatchResponse>) {
    let (tx, rx) = mpsc::channel(4);
    tx.send(WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(create)),
    })
    .await
    .unwrap();
    let stream = WatchClient::new(channel(url).await)
        .watch(ReceiverStream::new(rx))
        .await
        .expect("watch")
        .into_inner();
    (tx, stream)
}

async fn next(stream: &mut Streaming<WatchResponse>) -> WatchResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no watch response within 10 s")
        .expect("watch stream error")
        .expect("watch stream ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_replays_history_once_in_order_then_streams_live_events() {
    let cluster = start(3, &[]).await;
    let mut kv = cluster.kv(0).await;
    let start = put(&mut kv, "/watch/a", "0").await.unwrap();
    let mut expected = vec![(EventType::Put, "/watch/a".to_string(), start)];
    for n in 1..40 {
        let key = format!("/watch/k{}", n % 7);
        let rev = put(&mut kv, &key, &n.to_string()).await.unwrap();
        expected.push((EventType::Put, key.clone(), rev));
        if n % 10 == 0 {
            let resp = kv
                .delete_range(DeleteRangeRequest {
                    key: key.clone().into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            expected.push((EventType::Delete, key, resp.header.unwrap().revision));
        }
    }
    put(&mut kv, "/elsewhere", "x").await.unwrap();

    step("watch the prefix from the first revision through another member");
    let (_tx, mut stream) = open_watch(
        &cluster.members()[1].client_url(),
        WatchCreateRequest {
            key: b"/watch/".to_vec(),
            range_end: prefix_end(b"/watch/"),
            start_revision: start,
            prev_kv: true,
            ..Default::default()
        },
    )
    .await;
    assert!(next(&mut stream).await.created);

    step("then write live events while replay may still be running");
    let mut live = cluster.kv(2).await;
    for n in 0..10 {
        let key = format!("/watch/live{n}");
        let rev = put(&mut live, &key, "l").await.unwrap();
        expected.push((EventType::Put, key, rev));
    }

    let mut got = Vec::new();
    while got.len() < expected.len() {
        let resp = next(&mut stream).await;
        assert!(!resp.canceled, "watch canceled: {}", resp.cancel_reason);
        for ev in resp.events {
            let kv = ev.kv.unwrap();
            got.push((
                EventType::try_from(ev.r#type).unwrap(),
                String::from_utf8(kv.key).unwrap(),
                kv.mod_revision,
            ));
        }
    }
    assert_eq!(
        got, expected,
        "events differ from history (order, gaps or duplicates)"
    );
    // Nothing more must arrive: no duplicates after the expected ones.
    let extra = tokio::time::timeout(Duration::from_millis(500), stream.message()).await;
    assert!(extra.is_err(), "unexpected extra watch response: {extra:?}");

    step("compact, then watch from before the compaction");
    let compact_at = expected[20].2;
    kv.compact(CompactionRequest {
        revision: compact_at,
        physical: true,
    })
    .await
    .expect("compact");
    // A watch is served from its member's own state: let s3 apply the compaction.
    let commit = cluster.status(0).await.expect("status").raft_index;
    cluster
        .wait_applied(2, commit, Duration::from_secs(10))
        .await;
    let (_tx2, mut old) = open_watch(
        &cluster.members()[2].client_url(),
        WatchCreateRequest {
            key: b"/watch/".to_vec(),
            range_end: prefix_end(b"/watch/"),
            start_revision: start,
            ..Default::default()
        },
    )
    .await;
    let mut resp = next(&mut old).await;
    if resp.created && !resp.canceled {
        resp = next(&mut old).await;
    }
    if !resp.canceled {
        let s3 = cluster.status(2).await;
        let old_read = cluster
            .kv(2)
            .await
            .range(skiff_proto::etcdserverpb::RangeRequest {
                key: b"/watch/a".to_vec(),
                revision: start,
                serializable: true,
                ..Default::default()
            })
            .await;
        panic!(
            "a watch from a compacted revision was not canceled: {resp:?}\ncompaction at {compact_at}, commit {commit}, s3 status {s3:?}\nread at {start} on s3: {old_read:?}"
        );
    }
    assert_eq!(resp.compact_revision, compact_at);
}
