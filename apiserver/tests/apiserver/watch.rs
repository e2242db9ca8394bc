//! Watches: selector transitions, resume from a resourceVersion, bookmarks, Expired, and 1000 client watches on one store watch.

use std::time::Duration;

use serde_json::json;
use skiff_api::error::Reason;
use skiff_proto::skiffapi::WatchRequest;

use crate::util::*;

const T: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_selector_watch_transitions() {
    let cluster = Cluster::start(2, &[]).await;
    within(Duration::from_secs(60), "label transitions", async {
        let mut a = cluster.apiservers[0].client(ADMIN).await;
        let mut b = cluster.apiservers[1].client(ADMIN).await;
        let mut w = watch(&mut b, "pods", "default", "app=web", "", false).await;
        let mut everything = watch(&mut b, "pods", "", "", "", false).await;
        step("writes through one apiserver, watched through the other");
        create(&mut a, "pods", "default", &pod("p", json!({"app": "db"})))
            .await
            .unwrap();
        patch(
            &mut a,
            "pods",
            "default",
            "p",
            &json!({"metadata": {"labels": {"app": "web"}}}),
        )
        .await
        .unwrap();
        patch(
            &mut a,
            "pods",
            "default",
            "p",
            &json!({"metadata": {"annotations": {"x": "1"}}}),
        )
        .await
        .unwrap();
        patch(
            &mut a,
            "pods",
            "default",
            "p",
            &json!({"metadata": {"labels": {"app": "db"}}}),
        )
        .await
        .unwrap();
        patch(
            &mut a,
            "pods",
            "default",
            "p",
            &json!({"metadata": {"labels": {"app": "web"}}}),
        )
        .await
        .unwrap();
        delete(&mut a, "pods", "default", "p", 0, "").await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let (t, o) = next_event(&mut w, T).await;
            seen.push(format!(
                "{t}:{}",
                o["metadata"]["labels"]["app"].as_str().unwrap()
            ));
        }
        assert_eq!(
            seen,
            [
                "ADDED:web",
                "MODIFIED:web",
                "DELETED:db",
                "ADDED:web",
                "DELETED:web"
            ]
        );
        let mut all = Vec::new();
        for _ in 0..6 {
            all.push(next_event(&mut everything, T).await.0);
        }
        assert_eq!(
            all,
            ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"]
        );

        step("a watch from a fresh list of a quiet kind starts at once");
        let started = std::time::Instant::now();
        let (_, quiet_rv) = list(&mut b, "cronjobs", "", "", "").await.unwrap();
        let _quiet = watch(&mut b, "cronjobs", "", "", &quiet_rv, false).await;
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "took {:?}",
            started.elapsed()
        );

        step("field selectors: pods on one node");
        let mut on_n1 = b
            .watch(WatchRequest {
                resource: "pods".into(),
                field_selector: "spec.nodeName=n1".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let mut p = pod("q", json!({}));
        p["spec"]["nodeName"] = json!("n2");
        create(&mut a, "pods", "default", &p).await.unwrap();
        p["metadata"]["name"] = json!("r");
        p["spec"]["nodeName"] = json!("n1");
        create(&mut a, "pods", "default", &p).await.unwrap();
        let (t, o) = next_event(&mut on_n1, T).await;
        assert_eq!(
            (t.as_str(), o["metadata"]["name"].as_str()),
            ("ADDED", Some("r"))
        );
        let e = b
            .watch(WatchRequest {
                resource: "replicasets".into(),
                field_selector: "spec.nodeName=n1".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&e), Reason::BadRequest);
        assert!(
            message(&e).contains("field label not supported: spec.nodeName"),
            "{}",
            message(&e)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_bookmarks_and_expired_after_compaction() {
    let cluster = Cluster::start(
        1,
        &[
            "--watch-cache-size",
            "50",
            "--watch-bookmark-interval",
            "500ms",
            "--watch-progress-interval",
            "200ms",
        ],
    )
    .await;
    within(Duration::from_secs(90), "resume and expired", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        let (_, list_rv) = list(&mut c, "pods", "", "", "").await.unwrap();
        step("a watch from a list's resourceVersion replays what came after it");
        for i in 0..5 {
            create(&mut c, "pods", "default", &pod(&format!("p{i}"), json!({}))).await.unwrap();
        }
        let mut w = watch(&mut c, "pods", "", "", &list_rv, true).await;
        let mut last = String::new();
        for i in 0..5 {
            let (t, o) = next_event(&mut w, T).await;
            assert_eq!((t.as_str(), o["metadata"]["name"].as_str().unwrap()), ("ADDED", format!("p{i}").as_str()));
            last = rv(&o);
        }
        step("a quiet kind still moves: bookmarks carry newer revisions");
        create(&mut c, "replicationcontrollers", "default", &json!({"apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": "other"}, "spec": {"replicas": 0, "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})).await.unwrap();
        let bookmark = loop {
            let (t, o) = next_event(&mut w, T).await;
            if t == "BOOKMARK" && rv(&o).parse::<i64>().unwrap() > last.parse::<i64>().unwrap() {
                break o;
            }
        };
        assert_eq!(bookmark["kind"], "Pod");
        let bookmark_rv = rv(&bookmark);

        step("resuming from the bookmark gets only later events");
        drop(w);
        let mut resumed = watch(&mut c, "pods", "", "", &bookmark_rv, false).await;
        patch(&mut c, "pods", "default", "p0", &json!({"metadata": {"labels": {"x": "y"}}})).await.unwrap();
        let (t, o) = next_event(&mut resumed, T).await;
        assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("MODIFIED", Some("p0")));

        step("100 more changes push the old revision out of the window; the store is compacted");
        for i in 0..100 {
            patch(&mut c, "pods", "default", "p1", &json!({"metadata": {"annotations": {"n": i.to_string()}}})).await.unwrap();
        }
        cluster.compact(cluster.store_revision().await).await;
        let mut old = watch(&mut c, "pods", "", "", &list_rv, false).await;
        let (t, status) = next_event(&mut old, T).await;
        assert_eq!((t.as_str(), status["reason"].as_str(), status["code"].as_i64()), ("ERROR", Some("Expired"), Some(410)));
        assert!(status["message"].as_str().unwrap().starts_with(&format!("too old resource version: {list_rv} (")), "{status}");
        assert!(old.message().await.unwrap().is_none(), "the stream ends after the error");

        step("an informer relists and watches again from the new list");
        let (items, fresh) = list(&mut c, "pods", "", "", "").await.unwrap();
        assert_eq!(items.len(), 5);
        let mut again = watch(&mut c, "pods", "", "", &fresh, false).await;
        delete(&mut c, "pods", "default", "p4", 0, "").await.unwrap();
        let (t, o) = next_event(&mut again, T).await;
        assert_eq!((t.as_str(), o["metadata"]["name"].as_str()), ("DELETED", Some("p4")));
        assert!(rv(&o).parse::<i64>().unwrap() > fresh.parse::<i64>().unwrap());

        step("a bad resourceVersion is a BadRequest");
        let e = c.watch(WatchRequest { resource: "pods".into(), resource_version: "abc".into(), ..Default::default() }).await.unwrap_err();
        assert_eq!(reason(&e), Reason::BadRequest);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_watches_share_one_store_watch() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(120), "1000 watches", async {
        let api = &cluster.apiservers[0];
        let store_watches = r#"skiff_apiserver_store_watches{resource="pods"}"#;
        assert_eq!(api.metric(store_watches).await, Some(1.0));
        step("open 1000 pod watches over 10 connections");
        let mut clients = Vec::new();
        for _ in 0..10 {
            clients.push(api.client(ADMIN).await);
        }
        let mut watches = Vec::new();
        for i in 0..1000 {
            watches.push(watch(&mut clients[i % 10], "pods", "", "", "", false).await);
        }
        assert_eq!(
            api.metric(r#"skiff_apiserver_watches{resource="pods"}"#)
                .await,
            Some(1000.0)
        );
        assert_eq!(
            api.metric(store_watches).await,
            Some(1.0),
            "still one store watch for pods"
        );
        let total: f64 = {
            let text = api.metrics().await;
            text.lines()
                .filter(|l| l.starts_with("skiff_apiserver_store_watches{"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        // Events are not cached: their watches are the clients' own store watches.
        assert_eq!(
            total, 9.0,
            "one store watch per cached kind: 10 kinds but events"
        );
        step("one change reaches all 1000");
        create(&mut clients[0], "pods", "default", &pod("fan", json!({})))
            .await
            .unwrap();
        for w in &mut watches {
            let (t, o) = next_event(w, T).await;
            assert_eq!(
                (t.as_str(), o["metadata"]["name"].as_str()),
                ("ADDED", Some("fan"))
            );
        }
        if cluster.etcd {
            step("cross-check with etcd's own count of watch streams: 9 for 1000 client watches");
            assert_eq!(
                cluster
                    .member_metric_sum("etcd_debugging_mvcc_watch_stream_total")
                    .await,
                9.0
            );
        }
        drop(watches);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            api.metric(r#"skiff_apiserver_watches{resource="pods"}"#)
                .await,
            Some(0.0),
            "closed watches are unregistered"
        );
    })
    .await;
}
