//! Replay from history, then live events; compaction; prev_kv; filters; restore.

use std::time::Duration;

use skiff_proto::etcdserverpb::{CompactionRequest, DeleteRangeRequest, TxnRequest};
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::InternalRequest;

use super::{assert_quiet, put_req, spec, summary, take, Fixture};
use crate::mvcc::tests::{op_del, op_put};
use crate::mvcc::Committed;
use crate::watch::{WatchItem, WatchSpec};

/// rev 2 p/a=1, 3 q=1, 4 p/b=1, 5 p/a=2, 6 del p/b, 7 txn {p/c=1, p/a=3, q=2}, 8 del p/ (p/a, p/c)
fn history(f: &mut Fixture) {
    f.put("p/a", "1");
    f.put("q", "1");
    f.put("p/b", "1");
    f.put("p/a", "2");
    f.delete("p/b", "");
    f.txn(TxnRequest {
        compare: vec![],
        success: vec![op_put("p/c", "1"), op_put("p/a", "3"), op_put("q", "2")],
        failure: vec![],
    })
    .unwrap();
    f.delete("p/", "p0");
}

fn s(kind: &'static str, key: &str, value: &str, rev: i64) -> (&'static str, String, String, i64) {
    (kind, key.to_string(), value.to_string(), rev)
}

#[tokio::test]
async fn replays_history_in_order_then_streams_live() {
    let mut f = Fixture::new();
    history(&mut f);
    let mut w = f.sm.watch(spec("p/", "p0", 3));
    assert_eq!(w.progress_revision(), None);
    let events = take(&mut w, 7).await;
    assert_eq!(
        summary(&events),
        [
            s("put", "p/b", "1", 4),
            s("put", "p/a", "2", 5),
            s("del", "p/b", "", 6),
            s("put", "p/c", "1", 7),
            s("put", "p/a", "3", 7),
            s("del", "p/a", "", 8),
            s("del", "p/c", "", 8),
        ]
    );
    assert_quiet(&mut w).await;
    assert_eq!(w.progress_revision(), Some(8));
    f.put("q", "3");
    f.put("p/d", "1");
    f.txn(TxnRequest {
        compare: vec![],
        success: vec![op_put("p/e", "1"), op_put("p/f", "1")],
        failure: vec![],
    })
    .unwrap();
    let live = take(&mut w, 3).await;
    assert_eq!(
        summary(&live),
        [
            s("put", "p/d", "1", 10),
            s("put", "p/e", "1", 11),
            s("put", "p/f", "1", 11)
        ]
    );
    assert_quiet(&mut w).await;
    assert_eq!(w.progress_revision(), Some(11));

    // A single-key watcher replays through the index.
    let mut one = f.sm.watch(spec("p/a", "", 1));
    let events = take(&mut one, 4).await;
    assert_eq!(
        summary(&events).iter().map(|e| e.3).collect::<Vec<_>>(),
        [2, 5, 7, 8]
    );
    // A watcher from now sees only what comes next.
    let mut now = f.sm.watch(spec("\0", "\0", 0));
    assert_quiet(&mut now).await;
    f.put("z", "1");
    assert_eq!(summary(&take(&mut now, 1).await), [s("put", "z", "1", 12)]);
}

#[tokio::test]
async fn a_future_start_revision_waits_for_it() {
    let mut f = Fixture::new();
    f.put("a", "1");
    let mut w = f.sm.watch(spec("a", "", 4));
    f.put("a", "2");
    f.put("a", "3");
    f.put("a", "4");
    assert_eq!(
        summary(&take(&mut w, 2).await)
            .iter()
            .map(|e| e.3)
            .collect::<Vec<_>>(),
        [4, 5]
    );
}

#[tokio::test]
async fn compacted_start_revisions() {
    let mut f = Fixture::new();
    history(&mut f);
    f.compact(6).unwrap();
    let mut w = f.sm.watch(spec("p/", "p0", 5));
    assert_eq!(
        w.next().await,
        WatchItem::Compacted {
            compact_revision: 6
        }
    );
    // Done: nothing more ever comes.
    assert_quiet(&mut w).await;
    // At the compact revision itself, the delete at 6 is still replayed.
    let mut w = f.sm.watch(spec("p/", "p0", 6));
    let events = take(&mut w, 5).await;
    assert_eq!(summary(&events)[0], s("del", "p/b", "", 6));
    let mut one = f.sm.watch(spec("p/b", "", 6));
    assert_eq!(summary(&take(&mut one, 1).await), [s("del", "p/b", "", 6)]);
}

#[tokio::test]
async fn prev_kv_from_history_and_live() {
    let mut f = Fixture::new();
    history(&mut f);
    let mut w = f.sm.watch(WatchSpec {
        prev_kv: true,
        ..spec("p/", "p0", 4)
    });
    let events = take(&mut w, 7).await;
    let prev: Vec<Option<(String, i64)>> = events
        .iter()
        .map(|e| {
            e.prev_kv.as_ref().map(|p| {
                (
                    String::from_utf8_lossy(&p.value).into_owned(),
                    p.mod_revision,
                )
            })
        })
        .collect();
    assert_eq!(
        prev,
        [
            None,
            Some(("1".into(), 2)),
            Some(("1".into(), 4)),
            None,
            Some(("2".into(), 5)),
            Some(("3".into(), 7)),
            Some(("1".into(), 7))
        ]
    );
    let mut plain = f.sm.watch(spec("p/", "p0", 0));
    f.put("p/a", "4");
    f.put("p/a", "5");
    f.delete("p/a", "");
    let live = take(&mut w, 3).await;
    let prev: Vec<_> = live
        .iter()
        .map(|e| e.prev_kv.as_ref().map(|p| p.value.clone()))
        .collect();
    assert_eq!(prev, [None, Some(b"4".to_vec()), Some(b"5".to_vec())]);
    assert!(take(&mut plain, 3)
        .await
        .iter()
        .all(|e| e.prev_kv.is_none()));
}

#[tokio::test]
async fn filters_drop_puts_or_deletes() {
    let mut f = Fixture::new();
    history(&mut f);
    let mut no_put = f.sm.watch(WatchSpec {
        no_put: true,
        ..spec("p/", "p0", 1)
    });
    assert_eq!(
        summary(&take(&mut no_put, 3).await)
            .iter()
            .map(|e| e.0)
            .collect::<Vec<_>>(),
        ["del"; 3]
    );
    let mut no_del = f.sm.watch(WatchSpec {
        no_delete: true,
        ..spec("p/", "p0", 1)
    });
    assert_eq!(take(&mut no_del, 5).await.len(), 5);
    assert_quiet(&mut no_del).await;
    f.delete("q", "");
    f.put("p/x", "1");
    assert_eq!(
        summary(&take(&mut no_del, 1).await),
        [s("put", "p/x", "1", 10)]
    );
    f.delete("p/x", "");
    assert_eq!(
        summary(&take(&mut no_put, 1).await),
        [s("del", "p/x", "", 11)]
    );
    assert_quiet(&mut no_del).await;
}

#[tokio::test]
async fn next_is_cancel_safe() {
    let mut f = Fixture::new();
    let mut w = f.sm.watch(spec("k", "", 0));
    for i in 0..3 {
        // Cancelled while waiting: nothing is lost.
        assert!(tokio::time::timeout(Duration::from_millis(10), w.next())
            .await
            .is_err());
        f.put("k", &i.to_string());
        assert_eq!(summary(&take(&mut w, 1).await)[0].2, i.to_string());
    }
    assert_eq!(f.sm.core.hub.len(), 1);
    drop(w);
    assert_eq!(f.sm.core.hub.len(), 0);
}

#[tokio::test]
async fn watchers_resync_from_a_restored_snapshot() {
    let mut leader = Fixture::new();
    let mut follower = Fixture::new();
    let mut index = 0;
    let mut both = |reqs: Vec<Request>, leader: &mut Fixture, follower: Option<&mut Fixture>| {
        let entries: Vec<Committed> = reqs
            .into_iter()
            .map(|r| {
                index += 1;
                Committed {
                    index,
                    request: Some(InternalRequest {
                        proposer: 1,
                        id: index,
                        request: Some(r),
                    }),
                }
            })
            .collect();
        leader.sm.apply(entries.clone()).unwrap();
        if let Some(f) = follower {
            f.sm.apply(entries).unwrap();
        }
    };
    both(
        vec![
            Request::Put(put_req("k/1", "a")),
            Request::Put(put_req("k/2", "a")),
        ],
        &mut leader,
        Some(&mut follower),
    );
    let mut w = follower.sm.watch(spec("k/", "k0", 2));
    let mut late = follower.sm.watch(spec("k/", "k0", 2));
    assert_eq!(take(&mut w, 2).await.len(), 2);
    // The follower is away while the leader moves on (and compacts a little).
    both(
        vec![
            Request::Put(put_req("k/1", "b")),
            Request::DeleteRange(DeleteRangeRequest {
                key: b"k/2".to_vec(),
                ..Default::default()
            }),
            Request::Put(put_req("x", "1")),
            Request::Txn(TxnRequest {
                compare: vec![],
                success: vec![op_put("k/3", "c"), op_del("k/1", "")],
                failure: vec![],
            }),
        ],
        &mut leader,
        None,
    );
    both(
        vec![Request::Compaction(CompactionRequest {
            revision: 3,
            physical: false,
        })],
        &mut leader,
        None,
    );
    follower.sm.restore(&leader.sm.snapshot().unwrap()).unwrap();
    let events = take(&mut w, 4).await;
    assert_eq!(
        summary(&events),
        [
            s("put", "k/1", "b", 4),
            s("del", "k/2", "", 5),
            s("put", "k/3", "c", 7),
            s("del", "k/1", "", 7)
        ]
    );
    both(
        vec![Request::Put(put_req("k/9", "live"))],
        &mut leader,
        Some(&mut follower),
    );
    assert_eq!(
        summary(&take(&mut w, 1).await),
        [s("put", "k/9", "live", 8)]
    );
    // A watcher still before the snapshot's compact revision cannot be resumed.
    assert_eq!(
        late.next().await,
        WatchItem::Compacted {
            compact_revision: 3
        }
    );
}

#[tokio::test]
async fn long_histories_replay_in_chunks() {
    let mut f = Fixture::new();
    // 2500 revisions of one key, then 25000 revisions elsewhere with 5 inside "m/".
    for b in 0..25 {
        f.apply_all(
            (0..100)
                .map(|i| Request::Put(put_req("hot", &(b * 100 + i).to_string())))
                .collect(),
        );
    }
    for b in 0..250 {
        let reqs = (0..100)
            .map(|i| {
                let key = if i == 0 && b % 50 == 0 {
                    format!("m/{b}")
                } else {
                    format!("other/{i}")
                };
                Request::Put(put_req(&key, "x"))
            })
            .collect();
        f.apply_all(reqs);
    }
    let mut hot = f.sm.watch(spec("hot", "", 1));
    let events = take(&mut hot, 2500).await;
    let values: Vec<String> = summary(&events).into_iter().map(|e| e.2).collect();
    assert_eq!(values, (0..2500).map(|i| i.to_string()).collect::<Vec<_>>());
    let mut m = f.sm.watch(spec("m/", "m0", 1));
    let keys: Vec<String> = summary(&take(&mut m, 5).await)
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(keys, ["m/0", "m/50", "m/100", "m/150", "m/200"]);
    assert_quiet(&mut hot).await;
    assert_quiet(&mut m).await;
}
