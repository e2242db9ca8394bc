//! Events are not in the watch cache (as in Kubernetes): their watches are store watches of their own, with the same selector transitions, resume, bookmarks and Expired as cached kinds.

use std::time::Duration;

use serde_json::{json, Value};
use skiff_proto::skiffapi::WatchRequest;

use crate::util::*;

const T: Duration = Duration::from_secs(10);

fn event(name: &str, about: &str, app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "labels": {"app": app}},
           "involvedObject": {"kind": "Pod", "name": about, "namespace": "default"}, "reason": "Started",
           "message": "Started container main", "type": "Normal", "source": {"component": "nodelet"}, "count": 1})
}

/// The next event that is not a bookmark, as (type, name).
async fn next_change(
    w: &mut tonic::Streaming<skiff_proto::skiffapi::WatchEvent>,
) -> (String, String) {
    loop {
        let (t, o) = next_event(w, T).await;
        if t != "BOOKMARK" {
            return (
                t,
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_watched_straight_from_the_store() {
    let cluster = Cluster::start(1, &["--watch-bookmark-interval", "500ms"]).await;
    within(Duration::from_secs(90), "event watches", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        let (_, list_rv) = list(&mut c, "events", "", "", "").await.unwrap();

        step("field and label selectors pick the events a watch sees");
        let request = WatchRequest {
            resource: "events".into(),
            namespace: "default".into(),
            field_selector: "involvedObject.name=p".into(),
            ..Default::default()
        };
        let mut about_p = c.watch(request).await.unwrap().into_inner();
        let mut web = watch(&mut c, "events", "default", "app=web", "", false).await;
        create(&mut c, "events", "default", &event("e1", "q", "web"))
            .await
            .unwrap();
        create(&mut c, "events", "default", &event("e2", "p", "db"))
            .await
            .unwrap();
        assert_eq!(
            next_change(&mut about_p).await,
            ("ADDED".into(), "e2".into())
        );
        assert_eq!(next_change(&mut web).await, ("ADDED".into(), "e1".into()));

        step("an event that leaves or joins a selection is DELETED or ADDED for it");
        patch(
            &mut c,
            "events",
            "default",
            "e1",
            &json!({"metadata": {"labels": {"app": "db"}}}),
        )
        .await
        .unwrap();
        patch(
            &mut c,
            "events",
            "default",
            "e2",
            &json!({"metadata": {"labels": {"app": "web"}}}),
        )
        .await
        .unwrap();
        assert_eq!(next_change(&mut web).await, ("DELETED".into(), "e1".into()));
        assert_eq!(next_change(&mut web).await, ("ADDED".into(), "e2".into()));
        assert_eq!(
            next_change(&mut about_p).await,
            ("MODIFIED".into(), "e2".into())
        );
        delete(&mut c, "events", "default", "e2", 0, "")
            .await
            .unwrap();
        let (t, o) = next_event(&mut about_p, T).await;
        assert_eq!(
            (t.as_str(), o["metadata"]["name"].as_str()),
            ("DELETED", Some("e2"))
        );
        assert_eq!(
            o["metadata"]["labels"]["app"], "web",
            "a deletion carries the last state"
        );

        step("a watch from an older resourceVersion replays the store's history, with bookmarks");
        let mut all = watch(&mut c, "events", "", "", &list_rv, true).await;
        let mut seen = Vec::new();
        for _ in 0..5 {
            let (t, name) = next_change(&mut all).await;
            seen.push(format!("{t}:{name}"));
        }
        assert_eq!(
            seen,
            [
                "ADDED:e1",
                "ADDED:e2",
                "MODIFIED:e1",
                "MODIFIED:e2",
                "DELETED:e2"
            ]
        );
        let last = cluster.store_revision().await;
        let bookmark = loop {
            let (t, o) = next_event(&mut all, T).await;
            if t == "BOOKMARK" {
                break o;
            }
        };
        assert_eq!(bookmark["kind"], "Event");
        assert!(rv(&bookmark).parse::<i64>().unwrap() >= last, "{bookmark}");

        step("the largest resourceVersion is a watch of the future, not a fault");
        let far = WatchRequest {
            resource: "events".into(),
            resource_version: i64::MAX.to_string(),
            ..Default::default()
        };
        let mut future = c.watch(far).await.unwrap().into_inner();
        create(&mut c, "events", "default", &event("e3", "p", "web"))
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_secs(1), future.message())
                .await
                .is_err(),
            "nothing is newer than the largest revision"
        );

        step("once compacted, an old resourceVersion is Expired and the stream ends");
        cluster.compact(cluster.store_revision().await).await;
        // The member that answered the compaction has applied it; the member the watch
        // opens on may apply it a moment later and replay the old history until then.
        let compacted_everywhere = tokio::time::Instant::now() + T;
        let (mut old, t, status) = loop {
            let mut old = watch(&mut c, "events", "", "", &list_rv, false).await;
            let (t, status) = next_event(&mut old, T).await;
            if t == "ERROR" || tokio::time::Instant::now() > compacted_everywhere {
                break (old, t, status);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            (
                t.as_str(),
                status["reason"].as_str(),
                status["code"].as_i64()
            ),
            ("ERROR", Some("Expired"), Some(410))
        );
        assert!(
            old.message().await.unwrap().is_none(),
            "the stream ends after the error"
        );
    })
    .await;
}
