//! Members that applied the same log hold the same state: after concurrent
//! writers of every kind (puts, deletes, txns, leases) go through every
//! member, each member's keys, versions and revision are identical.

use std::time::Duration;

use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::request_op::Request as Op;
use skiff_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_member_applies_the_same_state() {
    let cluster = start(3, &["--snapshot-count", "200"]).await;
    step("9 writers, 3 per member, mixing puts, deletes and txns on shared keys");
    let mut tasks = Vec::new();
    for w in 0..9usize {
        let mut kv = cluster.kv(w % 3).await;
        tasks.push(tokio::spawn(async move {
            for n in 0..150usize {
                let key = format!("/c/{}", (w * 7 + n) % 40);
                let result = match n % 4 {
                    0 | 1 => kv
                        .put(PutRequest {
                            key: key.clone().into(),
                            value: format!("{w}-{n}").into(),
                            ..Default::default()
                        })
                        .await
                        .map(|_| ()),
                    2 => kv
                        .delete_range(DeleteRangeRequest {
                            key: key.clone().into(),
                            ..Default::default()
                        })
                        .await
                        .map(|_| ()),
                    _ => kv
                        .txn(TxnRequest {
                            compare: vec![Compare {
                                result: CompareResult::Greater as i32,
                                target: CompareTarget::Version as i32,
                                key: key.clone().into(),
                                target_union: Some(TargetUnion::Version(0)),
                                ..Default::default()
                            }],
                            success: vec![RequestOp {
                                request: Some(Op::RequestPut(PutRequest {
                                    key: format!("{key}/seen").into(),
                                    value: b"y".to_vec(),
                                    ..Default::default()
                                })),
                            }],
                            failure: vec![RequestOp {
                                request: Some(Op::RequestDeleteRange(DeleteRangeRequest {
                                    key: format!("{key}/seen").into(),
                                    ..Default::default()
                                })),
                            }],
                        })
                        .await
                        .map(|_| ()),
                };
                result.expect("write");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    step("every member catches up to the same index and holds the same keys");
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let commit = cluster.status(leader).await.expect("status").raft_index;
    let mut views = Vec::new();
    for i in 0..3 {
        cluster
            .wait_applied(i, commit, Duration::from_secs(20))
            .await;
        let resp = cluster
            .kv(i)
            .await
            .range(RangeRequest {
                key: vec![0],
                range_end: vec![0],
                serializable: true,
                ..Default::default()
            })
            .await
            .expect("range")
            .into_inner();
        let revision = resp.header.map(|h| h.revision).unwrap_or_default();
        let kvs: Vec<_> = resp
            .kvs
            .into_iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(&kv.key).into_owned(),
                    kv.value,
                    kv.mod_revision,
                    kv.create_revision,
                    kv.version,
                )
            })
            .collect();
        views.push((revision, kvs));
    }
    for i in 1..3 {
        assert_eq!(
            views[i].0,
            views[0].0,
            "s{} is at revision {} but s1 at {}",
            i + 1,
            views[i].0,
            views[0].0
        );
        assert_eq!(
            views[i].1,
            views[0].1,
            "s{} holds different keys than s1",
            i + 1
        );
    }
}
