//! The cache without a store: fan-out, replay, transitions, window expiry, slow clients, bookmarks.

use std::sync::Arc;
use std::time::Duration;

use crate::store::{Event, EventType, KeyValue};
use futures::StreamExt;
use serde_json::{json, Value};
use skiff_api::kinds::by_plural;
use skiff_proto::skiffapi::WatchEvent;

use super::client::{ClientWatch, Start};
use super::{CacheConfig, KindCache};
use crate::registry::filter::Filter;

fn config(window: usize, buffer: usize) -> CacheConfig {
    CacheConfig {
        window,
        buffer,
        bookmark_interval: Duration::ZERO,
        progress_interval: Duration::from_secs(1),
    }
}

fn pods(window: usize, buffer: usize) -> Arc<KindCache> {
    let cache = Arc::new(KindCache::new(
        by_plural("pods").unwrap(),
        &config(window, buffer),
    ));
    cache.reset(&[], 10, false);
    cache
}

fn kv(name: &str, app: &str, rev: i64) -> KeyValue {
    let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": app}}});
    KeyValue {
        key: format!("/registry/pods/default/{name}").into_bytes(),
        value: serde_json::to_vec(&obj).unwrap(),
        mod_revision: rev,
        create_revision: rev,
        version: 1,
        lease: 0,
    }
}

fn put(name: &str, app: &str, rev: i64) -> Event {
    Event {
        r#type: EventType::Put as i32,
        kv: Some(kv(name, app, rev)),
        prev_kv: None,
    }
}

fn delete(name: &str, rev: i64) -> Event {
    let kv = KeyValue {
        key: format!("/registry/pods/default/{name}").into_bytes(),
        mod_revision: rev,
        ..Default::default()
    };
    Event {
        r#type: EventType::Delete as i32,
        kv: Some(kv),
        prev_kv: None,
    }
}

fn filter(labels: &str) -> Filter {
    Filter::new(by_plural("pods").unwrap(), "", labels, "").unwrap()
}

async fn next(w: &mut ClientWatch) -> (String, Value) {
    let ev: WatchEvent = tokio::time::timeout(Duration::from_secs(2), w.next())
        .await
        .expect("an event in time")
        .expect("stream open")
        .unwrap();
    (ev.r#type, serde_json::from_slice(&ev.object).unwrap())
}

fn rv(obj: &Value) -> &str {
    obj["metadata"]["resourceVersion"].as_str().unwrap()
}

#[tokio::test]
async fn live_events_and_replay() {
    let cache = pods(100, 100);
    let mut live = cache.watch(Start::Now, filter(""), false).await.unwrap();
    cache.apply(vec![put("a", "x", 11), put("a", "x", 12), delete("a", 13)]);
    let (t, o) = next(&mut live).await;
    assert_eq!((t.as_str(), rv(&o)), ("ADDED", "11"));
    let (t, o) = next(&mut live).await;
    assert_eq!((t.as_str(), rv(&o)), ("MODIFIED", "12"));
    let (t, o) = next(&mut live).await;
    assert_eq!(
        (t.as_str(), rv(&o), o["metadata"]["name"].as_str()),
        ("DELETED", "13", Some("a"))
    );
    // A watch resuming after 11 gets exactly what came after it.
    let mut resumed = cache
        .watch(Start::After(11), filter(""), false)
        .await
        .unwrap();
    assert_eq!(next(&mut resumed).await.0, "MODIFIED");
    assert_eq!(next(&mut resumed).await.0, "DELETED");
    cache.apply(vec![put("b", "x", 14)]);
    let (t, o) = next(&mut resumed).await;
    assert_eq!((t.as_str(), rv(&o)), ("ADDED", "14"));
    // Replays of an already applied revision are ignored.
    cache.apply(vec![put("b", "x", 14)]);
    assert_eq!(cache.stats().1, 4);
}

#[tokio::test]
async fn label_transitions() {
    let cache = pods(100, 100);
    let mut w = cache
        .watch(Start::Now, filter("app=web"), false)
        .await
        .unwrap();
    cache.apply(vec![
        put("p", "db", 11),
        put("p", "web", 12),
        put("p", "web", 13),
        put("p", "db", 14),
        put("p", "web", 15),
        delete("p", 16),
    ]);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (t, o) = next(&mut w).await;
        seen.push(format!("{t}@{}", rv(&o)));
    }
    assert_eq!(seen, ["ADDED@12", "MODIFIED@13", "DELETED@14", "ADDED@15"]);
    assert_eq!(next(&mut w).await.0, "DELETED");
}

#[tokio::test]
async fn older_than_the_window_is_expired() {
    let cache = pods(3, 100);
    cache.apply((11..=15).map(|r| put("p", "x", r)).collect());
    let (_, _, _, revision, oldest) = cache.stats();
    assert_eq!((revision, oldest), (15, 12));
    let mut ok = cache
        .watch(Start::After(12), filter(""), false)
        .await
        .unwrap();
    assert_eq!(rv(&next(&mut ok).await.1), "13");
    let mut old = cache
        .watch(Start::After(11), filter(""), false)
        .await
        .unwrap();
    let (t, status) = next(&mut old).await;
    assert_eq!(t, "ERROR");
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);
    assert_eq!(status["message"], "too old resource version: 11 (12)");
    assert!(old.next().await.is_none());
}

#[tokio::test]
async fn a_slow_client_is_cut_off_without_holding_up_others() {
    let cache = pods(100, 2);
    let mut slow = cache.watch(Start::Now, filter(""), false).await.unwrap();
    let mut fast = cache.watch(Start::Now, filter(""), false).await.unwrap();
    for r in 11..=13 {
        cache.apply(vec![put("p", "x", r)]);
        assert_eq!(rv(&next(&mut fast).await.1), r.to_string());
    }
    assert_eq!(rv(&next(&mut slow).await.1), "11");
    assert_eq!(rv(&next(&mut slow).await.1), "12");
    let (t, status) = next(&mut slow).await;
    assert_eq!(
        (t.as_str(), status["reason"].as_str()),
        ("ERROR", Some("Timeout"))
    );
    assert_eq!(
        cache.stats().2,
        1,
        "only the fast watch is still registered"
    );
    drop(fast);
    assert_eq!(cache.stats().2, 0);
}

#[tokio::test]
async fn bookmarks_carry_the_revision_of_quiet_kinds() {
    let cache = pods(100, 100);
    let mut w = cache
        .watch(Start::Now, filter("app=none"), true)
        .await
        .unwrap();
    cache.apply(vec![put("p", "x", 11)]);
    cache.progress(20);
    cache.bookmark_tick();
    let (t, o) = next(&mut w).await;
    assert_eq!(
        (t.as_str(), rv(&o), o["kind"].as_str()),
        ("BOOKMARK", "20", Some("Pod"))
    );
    // Nothing new: no second bookmark.
    cache.bookmark_tick();
    assert!(tokio::time::timeout(Duration::from_millis(100), w.next())
        .await
        .is_err());
}

#[tokio::test]
async fn a_relist_expires_every_watch_and_future_versions_wait() {
    let cache = pods(100, 100);
    let mut w = cache.watch(Start::Now, filter(""), false).await.unwrap();
    cache.reset(&[kv("a", "x", 30)], 40, true);
    let (t, status) = next(&mut w).await;
    assert_eq!(
        (t.as_str(), status["reason"].as_str()),
        ("ERROR", Some("Expired"))
    );
    // A version the cache has not reached yet waits for it.
    let waiting = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .watch(Start::After(41), filter(""), false)
                .await
                .map(|_| ())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    cache.apply(vec![put("b", "x", 41)]);
    waiting.await.unwrap().unwrap();
    let e = cache
        .watch(Start::After(1000), filter(""), false)
        .await
        .err()
        .unwrap();
    assert!(
        e.message.contains("Too large resource version: 1000"),
        "{e}"
    );
}

#[tokio::test]
async fn every_event_of_a_revision_is_applied_once() {
    let cache = pods(100, 100);
    cache.apply(vec![
        put("a", "x", 11),
        put("b", "x", 12),
        put("c", "x", 13),
    ]);
    let mut w = cache.watch(Start::Now, filter(""), false).await.unwrap();
    // A lease revoke deletes every key attached to the lease in one revision.
    cache.apply(vec![delete("a", 14), delete("b", 14)]);
    for name in ["a", "b"] {
        let (t, o) = next(&mut w).await;
        assert_eq!(
            (t.as_str(), o["metadata"]["name"].as_str(), rv(&o)),
            ("DELETED", Some(name), "14")
        );
    }
    let only_c =
        |cache: &KindCache| cache.stats().0 == 1 && cache.get("/registry/pods/default/c").is_some();
    assert!(only_c(&cache));
    // The same revision again (a resumed watch overlapping) changes nothing.
    cache.apply(vec![delete("c", 14)]);
    assert!(only_c(&cache));
    assert!(tokio::time::timeout(Duration::from_millis(100), w.next())
        .await
        .is_err());
}

fn kv_in(ns: &str, name: &str, app: &str, rev: i64) -> KeyValue {
    let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": app}}});
    KeyValue {
        key: format!("/registry/pods/{ns}/{name}").into_bytes(),
        value: serde_json::to_vec(&obj).unwrap(),
        mod_revision: rev,
        create_revision: rev,
        version: 1,
        lease: 0,
    }
}

fn names(items: &[Arc<super::CachedObject>]) -> Vec<String> {
    items
        .iter()
        .map(|o| format!("{}/{}", o.index.namespace(), o.index.name()))
        .collect()
}

#[test]
fn lists_are_filtered_sorted_by_namespace_and_name_and_at_the_cache_revision() {
    let cache = Arc::new(KindCache::new(
        by_plural("pods").unwrap(),
        &config(100, 100),
    ));
    assert!(cache.list(&filter("")).is_none(), "not ready: no list");
    // Key order is not (namespace, name) order: '-' sorts before '/'.
    cache.reset(
        &[
            kv_in("a-b", "z", "web", 3),
            kv_in("a", "y", "web", 4),
            kv_in("a", "x-1", "db", 5),
            kv_in("a", "x", "web", 6),
        ],
        20,
        false,
    );
    cache.apply(vec![
        put("c", "web", 21),
        delete("c", 22),
        put("d", "web", 23),
    ]);
    let (items, revision) = cache.list(&filter("")).unwrap();
    assert_eq!(revision, 23);
    assert_eq!(names(&items), ["a/x", "a/x-1", "a/y", "a-b/z", "default/d"]);
    let (items, _) = cache.list(&filter("app=web")).unwrap();
    assert_eq!(names(&items), ["a/x", "a/y", "a-b/z", "default/d"]);
    let in_a = Filter::new(by_plural("pods").unwrap(), "a", "", "metadata.name!=y").unwrap();
    assert_eq!(names(&cache.list(&in_a).unwrap().0), ["a/x", "a/x-1"]);
    // The items are the cached bytes, with their resourceVersion.
    let array: Value = serde_json::from_slice(&super::list::json_array(&items)).unwrap();
    assert_eq!(array.as_array().unwrap().len(), 4);
    assert_eq!(rv(&array[3]), "23");
    assert_eq!(&super::list::json_array(&[])[..], b"[]");
}

#[tokio::test]
async fn a_list_waits_for_the_revision_and_asks_the_reflector_for_progress() {
    let cache = pods(100, 100);
    assert_eq!(cache.wait_for(10, Duration::from_secs(3)).await, Ok(10));
    let waiting = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.wait_for(15, Duration::from_secs(3)).await })
    };
    // What the reflector's loop waits on: it then asks the store for progress.
    tokio::time::timeout(Duration::from_secs(1), cache.progress_wanted.notified())
        .await
        .expect("the reflector is asked for progress at once");
    cache.apply(vec![put("a", "x", 12)]);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!waiting.is_finished(), "12 is not 15");
    cache.progress(16);
    assert_eq!(waiting.await.unwrap(), Ok(16));
}

#[tokio::test]
async fn a_list_stops_waiting_when_the_cache_is_behind_or_not_ready() {
    let cache = pods(100, 100);
    let started = std::time::Instant::now();
    let wait = Duration::from_millis(200);
    assert_eq!(cache.wait_for(11, wait).await, Err(super::Behind::At(10)));
    assert!(started.elapsed() >= wait);
    // Without a wait (resourceVersion=0): what the cache has, at once.
    assert_eq!(cache.wait_for(0, Duration::ZERO).await, Ok(10));
    let loading = KindCache::new(by_plural("pods").unwrap(), &config(100, 100));
    assert_eq!(
        loading.wait_for(0, wait).await,
        Err(super::Behind::NotReady)
    );
    assert_eq!(
        loading.wait_for(0, Duration::ZERO).await,
        Err(super::Behind::NotReady)
    );
}

#[test]
fn events_are_not_cached_and_every_other_kind_is() {
    let cache = super::WatchCache::new(config(10, 10));
    for info in skiff_api::kinds::KINDS.iter() {
        assert_eq!(
            cache.kind(info).is_none(),
            info.plural == "events",
            "{}",
            info.plural
        );
    }
}
