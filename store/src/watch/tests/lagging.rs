//! Slow watchers never block apply and never miss events; fan-out to many watchers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::PutRequest;
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::InternalRequest;

use super::{put_req, spec, take, Fixture};
use crate::mvcc::tests::temp_tree;
use crate::mvcc::{Committed, StateMachine};
use crate::watch::{WatchItem, WatchSpec};

fn puts(f: &mut Fixture, from: usize, to: usize, per_batch: usize) {
    let mut i = from;
    while i < to {
        let end = (i + per_batch).min(to);
        let reqs = (i..end)
            .map(|n| Request::Put(put_req(&format!("lag/{:03}", n % 100), &n.to_string())))
            .collect();
        f.apply_all(reqs);
        i = end;
    }
}

fn values(events: &[skiff_proto::mvccpb::Event]) -> Vec<usize> {
    events
        .iter()
        .map(|e| {
            String::from_utf8_lossy(&e.kv.as_ref().unwrap().value)
                .parse()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_stalled_watcher_catches_up_exactly_once() {
    let mut f = Fixture::new();
    let mut w = f.sm.watch(WatchSpec {
        prev_kv: true,
        ..spec("lag/", "lag0", 0)
    });
    let mut other = f.sm.watch(spec("lag/001", "", 0));
    // Nobody reads while 5000 revisions are applied: apply must not wait.
    let start = Instant::now();
    puts(&mut f, 0, 5000, 50);
    println!(
        "applied 5000 puts with a stalled watcher in {:?}",
        start.elapsed()
    );
    assert!(
        w.lagging.load(Ordering::Acquire),
        "the queue should have overflowed"
    );
    let events = take(&mut w, 5000).await;
    assert_eq!(values(&events), (0..5000).collect::<Vec<_>>());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.kv.as_ref().unwrap().mod_revision, i as i64 + 2);
        let prev = e
            .prev_kv
            .as_ref()
            .map(|p| String::from_utf8_lossy(&p.value).parse::<usize>().unwrap());
        assert_eq!(prev, i.checked_sub(100), "prev_kv of event {i}");
    }
    // Back to live delivery.
    assert_eq!(w.resyncs(), 1);
    assert!(!w.lagging.load(Ordering::Acquire));
    assert_eq!(w.progress_revision(), Some(5001));
    puts(&mut f, 5000, 5001, 1);
    assert_eq!(values(&take(&mut w, 1).await), [5000]);
    assert_eq!(
        values(&take(&mut other, 50).await),
        (0..50).map(|n| n * 100 + 1).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_watcher_that_lags_past_a_compaction_is_compacted() {
    let mut f = Fixture::new();
    let mut w = f.sm.watch(spec("lag/", "lag0", 0));
    puts(&mut f, 0, 1000, 10);
    let rev = f.sm.revision();
    f.compact(rev - 10).unwrap();
    let mut delivered = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("stalled")
        {
            WatchItem::Events { events, .. } => delivered += events.len(),
            WatchItem::Compacted { compact_revision } => {
                assert_eq!(compact_revision, rev - 10);
                break;
            }
        }
    }
    assert!(delivered < 1000, "{delivered}");
}

#[tokio::test]
async fn a_slow_reader_under_concurrent_writes_sees_every_event_once() {
    let (_db, tree) = temp_tree();
    let sm = Arc::new(StateMachine::open(tree).unwrap());
    let mut w = sm.watch(spec("lag/", "lag0", 0));
    let total = 20_000usize;
    let writer = {
        let sm = sm.clone();
        std::thread::spawn(move || {
            for b in 0..total / 100 {
                let entries = (0..100)
                    .map(|i| {
                        let n = b * 100 + i;
                        let put = PutRequest {
                            key: format!("lag/{:03}", n % 100).into(),
                            value: n.to_string().into(),
                            ..Default::default()
                        };
                        Committed {
                            index: n as u64 + 1,
                            request: Some(InternalRequest {
                                proposer: 1,
                                id: n as u64,
                                request: Some(Request::Put(put)),
                            }),
                        }
                    })
                    .collect();
                sm.apply(entries).unwrap();
            }
        })
    };
    let mut seen = Vec::with_capacity(total);
    let mut items = 0;
    while seen.len() < total {
        match tokio::time::timeout(Duration::from_secs(20), w.next())
            .await
            .expect("stalled")
        {
            WatchItem::Events { events, .. } => seen.extend(values(&events)),
            other => panic!("{other:?}"),
        }
        items += 1;
        if items % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    writer.join().unwrap();
    assert_eq!(seen, (0..total).collect::<Vec<_>>());
    println!(
        "slow reader: {total} events in {items} items, {} resyncs from history",
        w.resyncs()
    );
}

#[tokio::test]
async fn ten_thousand_watchers_on_distinct_keys() {
    let mut f = Fixture::new();
    let n = 10_000;
    let start = Instant::now();
    let mut watchers: Vec<_> = (0..n)
        .map(|i| f.sm.watch(spec(&format!("fan/{i:05}"), "", 0)))
        .collect();
    let mut all = f.sm.watch(spec("fan/", "fan0", 0));
    let registered = start.elapsed();
    let start = Instant::now();
    for b in 0..n / 100 {
        let reqs = (0..100)
            .map(|i| Request::Put(put_req(&format!("fan/{:05}", b * 100 + i), "v")))
            .collect();
        f.apply_all(reqs);
    }
    let applied = start.elapsed();
    let start = Instant::now();
    for (i, w) in watchers.iter_mut().enumerate() {
        let events = take(w, 1).await;
        assert_eq!(events[0].kv.as_ref().unwrap().mod_revision, i as i64 + 2);
    }
    let delivered = start.elapsed();
    assert_eq!(take(&mut all, n).await.len(), n);
    println!(
        "10k watchers: register {registered:?}, apply 10k puts {applied:?}, deliver {delivered:?}"
    );
    assert!(applied < Duration::from_secs(20), "{applied:?}");
    drop(watchers);
    assert_eq!(f.sm.core.hub.len(), 1);
}
