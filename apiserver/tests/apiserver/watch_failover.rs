//! Watches across failures: an apiserver SIGKILLed mid-watch, a store member dying under the store watch, and a store watch that comes back to compacted history.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use skiff_api::error::Reason;

use crate::util::*;

const T: Duration = Duration::from_secs(15);

/// Writes `n` pod changes (create, patch, delete) through `c`; returns every resulting
/// resourceVersion.
async fn write_changes(mut c: Client, n: usize) -> Vec<i64> {
    let mut rvs = Vec::new();
    for i in 0..n {
        let name = format!("w{}", i / 3);
        let obj = match i % 3 {
            0 => create(&mut c, "pods", "default", &pod(&name, json!({}))).await,
            1 => {
                patch(
                    &mut c,
                    "pods",
                    "default",
                    &name,
                    &json!({"metadata": {"labels": {"i": i.to_string()}}}),
                )
                .await
            }
            _ => delete(&mut c, "pods", "default", &name, 0, "").await,
        };
        let obj = obj.unwrap_or_else(|e| panic!("write {i}: {e:?}"));
        rvs.push(rv(&obj).parse().unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    rvs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_resumed_on_the_other_apiserver_misses_and_repeats_nothing() {
    let mut cluster = Cluster::start(2, &[]).await;
    let mut a = cluster.apiservers[0].client(ADMIN).await;
    let b_client = cluster.apiservers[1].client(ADMIN).await;
    let (_, start_rv) = list(&mut a, "pods", "", "", "").await.unwrap();
    let mut w = watch(&mut a, "pods", "", "", &start_rv, true).await;
    step("300 changes written through apiserver 1 while watching through apiserver 0");
    let writer = tokio::spawn(write_changes(b_client, 300));
    let mut seen: Vec<i64> = Vec::new();
    let mut last = start_rv.clone();
    while seen.len() < 100 {
        let (t, o) = next_event(&mut w, T).await;
        last = rv(&o);
        if t != "BOOKMARK" {
            seen.push(last.parse().unwrap());
        }
    }
    step(&format!(
        "SIGKILL apiserver 0 after {} events (last resourceVersion {last})",
        seen.len()
    ));
    cluster.kill_apiserver(0);
    let broke = tokio::time::timeout(T, async {
        loop {
            match w.message().await {
                Ok(Some(ev)) => {
                    // Events already in flight before the kill still count.
                    let o: serde_json::Value = serde_json::from_slice(&ev.object).unwrap();
                    last = rv(&o);
                    if ev.r#type != "BOOKMARK" {
                        seen.push(last.parse().unwrap());
                    }
                }
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(broke.is_ok(), "the watch on the killed apiserver ends");
    step(&format!("resume on apiserver 1 from {last}"));
    let mut b = cluster.apiservers[1].client(ADMIN).await;
    let mut resumed = watch(&mut b, "pods", "", "", &last, true).await;
    let written = writer.await.unwrap();
    let final_rv = *written.last().unwrap();
    while seen.last().copied().unwrap_or(0) < final_rv {
        let (t, o) = next_event(&mut resumed, T).await;
        if t != "BOOKMARK" {
            seen.push(rv(&o).parse().unwrap());
        }
    }
    step("every change exactly once, in order");
    assert!(seen.windows(2).all(|p| p[0] < p[1]), "no repeats, in order");
    assert_eq!(seen, written, "nothing missed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apiserver_survives_a_store_member_dying_under_its_watches() {
    let mut cluster = Cluster::start(1, &[]).await;
    let api = &cluster.apiservers[0];
    let mut c = api.client(ADMIN).await;
    let (_, start_rv) = list(&mut c, "pods", "", "", "").await.unwrap();
    let mut w = watch(&mut c, "pods", "", "", &start_rv, false).await;
    let opens = r#"skiff_apiserver_store_watch_opens_total{resource="pods"}"#;
    assert_eq!(api.metric(opens).await, Some(1.0));
    let first = write_changes(api.client(ADMIN).await, 30).await;
    let under = cluster.store_watch_member(0, "pods").await;
    step(&format!(
        "SIGKILL store member {under}, which serves the apiserver's store watch of pods"
    ));
    cluster.kill_member(under);
    let api = &cluster.apiservers[0];
    let more = within_result(
        Duration::from_secs(60),
        write_changes(api.client(ADMIN).await, 30),
    )
    .await;
    let written: Vec<i64> = first.into_iter().chain(more).collect();
    let mut seen = Vec::new();
    while seen.len() < written.len() {
        seen.push(rv(&next_event(&mut w, T).await.1).parse::<i64>().unwrap());
    }
    assert_eq!(
        seen, written,
        "the client watch saw every change once, across the store failover"
    );
    assert!(
        api.metric(opens).await.unwrap() >= 2.0,
        "the store watch was re-established"
    );
    assert_eq!(
        api.metric(r#"skiff_apiserver_store_watches{resource="pods"}"#)
            .await,
        Some(1.0)
    );
    cluster.wait_healthy(0, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_watch_back_to_compacted_history_relists_and_expires_client_watches() {
    let mut cluster = Cluster::start(2, &[]).await;
    let mut a = cluster.apiservers[0].client(ADMIN).await;
    let mut b = cluster.apiservers[1].client(ADMIN).await;
    let mut w = watch(&mut a, "pods", "", "", "", false).await;
    create(&mut a, "pods", "default", &pod("before", json!({})))
        .await
        .unwrap();
    assert_eq!(next_event(&mut w, T).await.0, "ADDED");
    step("freeze apiserver 0, kill the store member under its watches, write and compact through apiserver 1");
    let under = cluster.store_watch_member(0, "pods").await;
    cluster.signal_apiserver(0, rustix::process::Signal::STOP);
    cluster.kill_member(under);
    let mut names = BTreeSet::from(["before".to_string()]);
    for i in 0..5 {
        let name = format!("during-{i}");
        create(&mut b, "pods", "default", &pod(&name, json!({})))
            .await
            .unwrap();
        names.insert(name);
    }
    cluster.compact(cluster.store_revision().await).await;
    step("thaw apiserver 0: its store watch resumes from a compacted revision");
    cluster.signal_apiserver(0, rustix::process::Signal::CONT);
    let (t, status) = next_event(&mut w, Duration::from_secs(30)).await;
    assert_eq!(
        (t.as_str(), status["reason"].as_str()),
        ("ERROR", Some("Expired")),
        "{status}"
    );
    assert_eq!(reason_of(&status), Reason::Expired);
    step("a relist through apiserver 0 sees everything, and watching from it works");
    let (items, fresh) = list(&mut a, "pods", "", "", "").await.unwrap();
    let listed: BTreeSet<String> = items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, names);
    let mut again = watch(&mut a, "pods", "", "", &fresh, false).await;
    create(&mut b, "pods", "default", &pod("after", json!({})))
        .await
        .unwrap();
    let (t, o) = next_event(&mut again, T).await;
    assert_eq!(
        (t.as_str(), o["metadata"]["name"].as_str()),
        ("ADDED", Some("after"))
    );
    let relists = r#"skiff_apiserver_watch_cache_relists_total{resource="pods"}"#;
    assert_eq!(cluster.apiservers[0].metric(relists).await, Some(1.0));
}

fn reason_of(status: &serde_json::Value) -> Reason {
    serde_json::from_value(status["reason"].clone()).unwrap()
}

async fn within_result<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f).await.expect("in time")
}
