//! Scenarios for the work queue's guarantees, with Tokio's paused clock for the timed ones.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::{timeout, Instant};

use super::*;

const SOON: Duration = Duration::from_millis(100);

fn queue() -> WorkQueue<String> {
    WorkQueue::new("test")
}

fn k(s: &str) -> String {
    s.to_string()
}

#[tokio::test(start_paused = true)]
async fn adds_are_deduplicated_while_queued() {
    let q = queue();
    q.add(k("a"));
    q.add(k("b"));
    q.add(k("a"));
    assert_eq!(q.len(), 2);
    assert_eq!(q.get().await, Some(k("a")));
    assert_eq!(q.get().await, Some(k("b")));
    assert!(
        timeout(SOON, q.get()).await.is_err(),
        "a deduplicated key was handed out twice"
    );
}

#[tokio::test(start_paused = true)]
async fn a_key_is_never_handed_to_two_workers() {
    let q = queue();
    q.add(k("a"));
    let held = q.get().await.unwrap();
    // Added again while a worker holds it: remembered, not handed out.
    q.add(k("a"));
    q.add(k("a"));
    assert_eq!(q.len(), 0);
    assert!(
        timeout(SOON, q.get()).await.is_err(),
        "a key in processing was handed to a second worker"
    );
    // Once released it comes back, once.
    q.done(&held);
    assert_eq!(q.len(), 1);
    assert_eq!(q.get().await, Some(k("a")));
    q.done(&k("a"));
    assert!(q.is_empty());
}

#[tokio::test(start_paused = true)]
async fn done_without_a_new_add_does_not_requeue() {
    let q = queue();
    q.add(k("a"));
    let a = q.get().await.unwrap();
    q.done(&a);
    assert!(q.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_waiting_worker_wakes_on_add() {
    let q = queue();
    let worker = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::time::sleep(SOON).await;
    q.add(k("a"));
    assert_eq!(timeout(SOON, worker).await.unwrap().unwrap(), Some(k("a")));
}

#[tokio::test(start_paused = true)]
async fn add_after_delivers_at_the_earliest_due_time_once() {
    let q = queue();
    let start = Instant::now();
    q.add_after(k("a"), Duration::from_secs(10));
    q.add_after(k("a"), Duration::from_secs(2));
    q.add_after(k("a"), Duration::from_secs(5));
    assert_eq!(q.len(), 0);
    assert_eq!(q.get().await, Some(k("a")));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    q.done(&k("a"));
    // The later delays were superseded, not kept.
    assert!(timeout(Duration::from_secs(60), q.get()).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_waiting_worker_sees_an_earlier_delay() {
    let q = queue();
    q.add_after(k("late"), Duration::from_secs(30));
    let start = Instant::now();
    let worker = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    q.add_after(k("early"), Duration::from_secs(1));
    assert_eq!(worker.await.unwrap(), Some(k("early")));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn rate_limited_adds_back_off_exponentially_until_forgotten() {
    let q = queue();
    let mut waits = Vec::new();
    for _ in 0..4 {
        let start = Instant::now();
        q.add_rate_limited(k("a"));
        let key = q.get().await.unwrap();
        waits.push(start.elapsed().as_millis());
        q.done(&key);
    }
    assert_eq!(waits, [5, 10, 20, 40]);
    assert_eq!(q.num_requeues(&k("a")), 4);
    // Back-off is per key.
    assert_eq!(q.num_requeues(&k("b")), 0);
    q.forget(&k("a"));
    assert_eq!(q.num_requeues(&k("a")), 0);
    let start = Instant::now();
    q.add_rate_limited(k("a"));
    q.get().await.unwrap();
    assert_eq!(start.elapsed().as_millis(), 5);
}

#[tokio::test(start_paused = true)]
async fn back_off_is_capped() {
    let q: WorkQueue<String> = WorkQueue::with_backoff(
        "capped",
        ExponentialBackoff::new(Duration::from_secs(1), Duration::from_secs(4)),
    );
    let mut waits = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        q.add_rate_limited(k("a"));
        let key = q.get().await.unwrap();
        waits.push(start.elapsed().as_secs());
        q.done(&key);
    }
    assert_eq!(waits, [1, 2, 4, 4, 4]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_releases_waiting_workers_and_ignores_adds() {
    let q = queue();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { q.get().await })
        })
        .collect();
    tokio::time::sleep(SOON).await;
    q.add_after(k("later"), Duration::from_secs(1));
    q.shut_down();
    for worker in workers {
        assert_eq!(timeout(SOON, worker).await.unwrap().unwrap(), None);
    }
    q.add(k("a"));
    assert!(q.is_shutting_down());
    assert_eq!(q.get().await, None);
    assert_eq!(q.len(), 0);
}

/// Many workers, keys added at random moments, also while processed: no key is ever held by
/// two workers, and every add is followed by a processing of that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_never_share_a_key() {
    let q = queue();
    let holding = Arc::new(Mutex::new(HashSet::new()));
    let processed = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (q, holding, processed) = (q.clone(), holding.clone(), processed.clone());
        workers.push(tokio::spawn(async move {
            while let Some(key) = q.get().await {
                assert!(
                    holding.lock().insert(key.clone()),
                    "key {key} handed to two workers"
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
                processed.lock().push(key.clone());
                assert!(holding.lock().remove(&key));
                q.done(&key);
            }
        }));
    }
    for round in 0..200 {
        q.add(format!("k{}", round % 7));
        if round % 10 == 0 {
            tokio::time::sleep(Duration::from_micros(300)).await;
        }
    }
    // Every key added must be processed after its last add.
    timeout(Duration::from_secs(10), async {
        while !(q.is_empty() && holding.lock().is_empty()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("queue did not drain");
    let seen: HashSet<String> = processed.lock().iter().cloned().collect();
    assert_eq!(seen.len(), 7);
    q.shut_down();
    for worker in workers {
        worker.await.unwrap();
    }
}
