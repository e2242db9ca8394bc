//! Deletion: graceful pod deletion confirmed by the node agent, finalizers, propagation policies, preconditions.

use std::time::Duration;

use serde_json::json;
use skiff_api::error::Reason;
use skiff_proto::skiffapi::{BindRequest, DeleteRequest};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_pod_deletion() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "graceful deletion", async {
        let api = &cluster.apiservers[0];
        let mut admin = api.client(ADMIN).await;
        let mut n1 = api.client(NODE1).await;
        let mut n2 = api.client(NODE2).await;
        let mut p = pod("g", json!({}));
        p["spec"]["terminationGracePeriodSeconds"] = json!(20);
        create(&mut admin, "pods", "default", &p).await.unwrap();
        admin
            .bind(BindRequest {
                namespace: "default".into(),
                name: "g".into(),
                node_name: "n1".into(),
                uid: String::new(),
            })
            .await
            .unwrap();

        step("deleting a bound pod only marks it, with its own grace period");
        let marked = delete(&mut admin, "pods", "default", "g", -1, "")
            .await
            .unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 20);
        let still = get(&mut admin, "pods", "default", "g").await.unwrap();
        assert_eq!(
            still["metadata"]["deletionTimestamp"],
            marked["metadata"]["deletionTimestamp"]
        );

        step("deleting it again returns it unchanged");
        let again = delete(&mut admin, "pods", "default", "g", -1, "")
            .await
            .unwrap();
        assert_eq!(rv(&again), rv(&marked));

        step("another node may not confirm it; its own node may");
        let e = delete(&mut n2, "pods", "default", "g", 0, "")
            .await
            .unwrap_err();
        assert_eq!(reason(&e), Reason::Forbidden);
        assert!(
            message(&e).contains(r#"User "system:node:n2" cannot delete resource "pods""#),
            "{}",
            message(&e)
        );
        delete(&mut n1, "pods", "default", "g", 0, "")
            .await
            .unwrap();
        assert_eq!(
            reason(&get(&mut admin, "pods", "default", "g").await.unwrap_err()),
            Reason::NotFound
        );

        step("an unbound pod goes at once");
        create(&mut admin, "pods", "default", &pod("u", json!({})))
            .await
            .unwrap();
        delete(&mut admin, "pods", "default", "u", -1, "")
            .await
            .unwrap();
        assert_eq!(
            reason(&get(&mut admin, "pods", "default", "u").await.unwrap_err()),
            Reason::NotFound
        );

        step("--now (grace 0) on a bound pod goes at once");
        create(&mut admin, "pods", "default", &pod("f", json!({})))
            .await
            .unwrap();
        admin
            .bind(BindRequest {
                namespace: "default".into(),
                name: "f".into(),
                node_name: "n1".into(),
                uid: String::new(),
            })
            .await
            .unwrap();
        delete(&mut admin, "pods", "default", "f", 0, "")
            .await
            .unwrap();
        assert_eq!(
            reason(&get(&mut admin, "pods", "default", "f").await.unwrap_err()),
            Reason::NotFound
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_propagation_and_preconditions() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "finalizers", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        let rc = |name: &str, finalizers: serde_json::Value| {
            json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name, "finalizers": finalizers},
                "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": "heejeong/crane"}]}}}})
        };
        step("an object with finalizers is only marked; removing them removes it");
        create(&mut c, "replicationcontrollers", "default", &rc("held", json!(["example.com/hold"]))).await.unwrap();
        let marked = delete(&mut c, "replicationcontrollers", "default", "held", -1, "").await.unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        let mut released = get(&mut c, "replicationcontrollers", "default", "held").await.unwrap();
        released["metadata"]["finalizers"] = json!([]);
        update(&mut c, "replicationcontrollers", "default", &released).await.unwrap();
        assert_eq!(reason(&get(&mut c, "replicationcontrollers", "default", "held").await.unwrap_err()), Reason::NotFound);

        step("Orphan and Foreground add the garbage collector's finalizers");
        create(&mut c, "replicationcontrollers", "default", &rc("o", json!([]))).await.unwrap();
        let o = delete(&mut c, "replicationcontrollers", "default", "o", -1, "Orphan").await.unwrap();
        assert_eq!(o["metadata"]["finalizers"], json!(["orphan"]));
        create(&mut c, "replicationcontrollers", "default", &rc("fg", json!([]))).await.unwrap();
        let fg = delete(&mut c, "replicationcontrollers", "default", "fg", -1, "Foreground").await.unwrap();
        assert_eq!(fg["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        let done = patch(&mut c, "replicationcontrollers", "default", "fg", &json!({"metadata": {"finalizers": null}})).await.unwrap();
        assert!(done["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(reason(&get(&mut c, "replicationcontrollers", "default", "fg").await.unwrap_err()), Reason::NotFound);
        let e = delete(&mut c, "replicationcontrollers", "default", "o", -1, "Sideways").await.unwrap_err();
        assert_eq!(reason(&e), Reason::BadRequest);

        step("Background deletes at once");
        create(&mut c, "replicationcontrollers", "default", &rc("bg", json!([]))).await.unwrap();
        delete(&mut c, "replicationcontrollers", "default", "bg", -1, "Background").await.unwrap();
        assert_eq!(reason(&get(&mut c, "replicationcontrollers", "default", "bg").await.unwrap_err()), Reason::NotFound);

        step("uid and resourceVersion preconditions");
        let made = create(&mut c, "pods", "default", &pod("pre", json!({}))).await.unwrap();
        let req = |uid: &str, rv: &str| DeleteRequest {
            resource: "pods".into(), namespace: "default".into(), name: "pre".into(), grace_period_seconds: 0,
            precondition_uid: uid.into(), precondition_resource_version: rv.into(), ..Default::default()
        };
        let e = c.delete(req("other-uid", "")).await.unwrap_err();
        assert_eq!(reason(&e), Reason::Conflict);
        assert!(message(&e).contains("Precondition failed: UID in precondition: other-uid"), "{}", message(&e));
        let e = c.delete(req("", "1")).await.unwrap_err();
        assert!(message(&e).contains("Precondition failed: ResourceVersion in precondition: 1"), "{}", message(&e));
        c.delete(req(made["metadata"]["uid"].as_str().unwrap(), &rv(&made))).await.unwrap();

        step("deleting what does not exist is NotFound");
        assert_eq!(reason(&delete(&mut c, "pods", "default", "pre", 0, "").await.unwrap_err()), Reason::NotFound);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_deletes_its_content_then_itself() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "namespace deletion", async {
        let api = &cluster.apiservers[0];
        let mut c = api.client(ADMIN).await;
        let mut n1 = api.client(NODE1).await;
        create(
            &mut c,
            "namespaces",
            "",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
        )
        .await
        .unwrap();
        create(&mut c, "pods", "team", &pod("loose", json!({})))
            .await
            .unwrap();
        let mut bound = pod("bound", json!({}));
        bound["spec"]["nodeName"] = json!("n1");
        create(&mut c, "pods", "team", &bound).await.unwrap();
        step("delete the namespace: it turns Terminating");
        let t = delete(&mut c, "namespaces", "", "team", -1, "")
            .await
            .unwrap();
        assert_eq!(t["status"]["phase"], "Terminating");
        let e = create(&mut c, "pods", "team", &pod("late", json!({})))
            .await
            .unwrap_err();
        assert_eq!(reason(&e), Reason::Forbidden);
        assert!(
            message(&e).contains("because it is being terminated"),
            "{}",
            message(&e)
        );
        step("its unbound pod goes; its bound pod waits for its node");
        wait_until(|| async {
            get(&mut api.client(ADMIN).await, "pods", "team", "loose")
                .await
                .is_err()
        })
        .await;
        let waiting = get(&mut c, "pods", "team", "bound").await.unwrap();
        assert!(waiting["metadata"]["deletionTimestamp"].is_string());
        assert!(get(&mut c, "namespaces", "", "team").await.is_ok());
        step("the node confirms; the namespace goes");
        delete(&mut n1, "pods", "team", "bound", 0, "")
            .await
            .unwrap();
        wait_until(|| async {
            get(&mut api.client(ADMIN).await, "namespaces", "", "team")
                .await
                .is_err()
        })
        .await;
        assert!(cluster.store_keys("/registry/pods/team/").await.is_empty());
    })
    .await;
}

/// Polls `f` every 100 ms until it holds (the caller's time limit bounds it).
async fn wait_until<F, Fut>(f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    while !f().await {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
