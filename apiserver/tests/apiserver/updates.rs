//! Optimistic concurrency, generation, the status subresource, merge patch, binding and scale.

use std::time::Duration;

use serde_json::json;
use skiff_api::error::Reason;
use skiff_proto::skiffapi::{BindRequest, ScaleRequest, UpdateScaleRequest};

use crate::util::*;

fn rs(name: &str, replicas: i32) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "heejeong/crane"}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_exactly_one_wins() {
    let cluster = Cluster::start(2, &[]).await;
    within(Duration::from_secs(90), "concurrent updates", async {
        let mut a = cluster.apiservers[0].client(ADMIN).await;
        let mut b = cluster.apiservers[1].client(ADMIN).await;
        let base = create(&mut a, "pods", "default", &pod("race", json!({"v": "0"}))).await.unwrap();
        for round in 0..10 {
            step(&format!("round {round}: two updates from the same resourceVersion, one per apiserver"));
            let current = get(&mut a, "pods", "default", "race").await.unwrap();
            let mut one = current.clone();
            one["metadata"]["labels"]["v"] = json!(format!("a{round}"));
            let mut two = current.clone();
            two["metadata"]["labels"]["v"] = json!(format!("b{round}"));
            let (r1, r2) = tokio::join!(update(&mut a, "pods", "default", &one), update(&mut b, "pods", "default", &two));
            let loser = match (r1, r2) {
                (Err(e), Ok(_)) | (Ok(_), Err(e)) => e,
                other => panic!("expected one winner: {other:?}"),
            };
            assert_eq!(reason(&loser), Reason::Conflict);
            assert_eq!(
                message(&loser),
                r#"Operation cannot be fulfilled on pods "race": the object has been modified; please apply your changes to the latest version and try again"#
            );
        }
        step("updates without a resourceVersion all apply (read, compare-and-swap, retry)");
        let mut tasks = Vec::new();
        for i in 0..8 {
            let mut c = cluster.apiservers[i % 2].client(ADMIN).await;
            tasks.push(tokio::spawn(async move {
                let p = json!({"metadata": {"annotations": {format!("writer-{i}"): "done"}}});
                patch(&mut c, "pods", "default", "race", &p).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let last = get(&mut a, "pods", "default", "race").await.unwrap();
        assert_eq!(last["metadata"]["annotations"].as_object().unwrap().len(), 8);
        assert!(rv(&last).parse::<i64>().unwrap() > rv(&base).parse::<i64>().unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_status_and_patch() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "generation", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        let made = create(&mut c, "replicasets", "default", &rs("web", 2))
            .await
            .unwrap();
        assert_eq!(made["metadata"]["generation"], 1);
        assert!(made.get("status").is_none(), "status starts empty");

        step("metadata changes keep the generation");
        let labelled = patch(
            &mut c,
            "replicasets",
            "default",
            "web",
            &json!({"metadata": {"labels": {"tier": "front"}}}),
        )
        .await
        .unwrap();
        assert_eq!(labelled["metadata"]["generation"], 1);
        assert_eq!(labelled["metadata"]["labels"]["tier"], "front");

        step("spec changes bump it");
        let mut scaled = labelled.clone();
        scaled["spec"]["replicas"] = json!(5);
        let scaled = update(&mut c, "replicasets", "default", &scaled)
            .await
            .unwrap();
        assert_eq!(scaled["metadata"]["generation"], 2);

        step("an update ignores status; a status update changes only status");
        let mut sneaky = scaled.clone();
        sneaky["status"] = json!({"replicas": 9});
        let ignored = update(&mut c, "replicasets", "default", &sneaky)
            .await
            .unwrap();
        assert!(ignored.get("status").is_none(), "{ignored}");
        let mut st = ignored.clone();
        st["status"] = json!({"replicas": 3, "readyReplicas": 1, "observedGeneration": 2});
        st["spec"]["replicas"] = json!(7);
        let with_status = update_status(&mut c, "replicasets", "default", &st)
            .await
            .unwrap();
        assert_eq!(with_status["status"]["replicas"], 3);
        assert_eq!(
            with_status["spec"]["replicas"], 5,
            "spec untouched by a status update"
        );
        assert_eq!(with_status["metadata"]["generation"], 2);

        step("a patch removing a label with null");
        let unlabelled = patch(
            &mut c,
            "replicasets",
            "default",
            "web",
            &json!({"metadata": {"labels": {"tier": null}}}),
        )
        .await
        .unwrap();
        assert!(unlabelled["metadata"]["labels"].get("tier").is_none());

        step("a patch with a stale resourceVersion conflicts");
        let e = patch(
            &mut c,
            "replicasets",
            "default",
            "web",
            &json!({"metadata": {"resourceVersion": rv(&made), "labels": {"a": "b"}}}),
        )
        .await
        .unwrap_err();
        assert_eq!(reason(&e), Reason::Conflict);

        step("an unchanged update writes nothing");
        let same = update(&mut c, "replicasets", "default", &unlabelled)
            .await
            .unwrap();
        assert_eq!(rv(&same), rv(&unlabelled));

        step("an invalid update is refused with its field");
        let mut bad = unlabelled.clone();
        bad["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
        let e = update(&mut c, "replicasets", "default", &bad)
            .await
            .unwrap_err();
        assert_eq!(reason(&e), Reason::Invalid);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_and_scale() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "binding and scale", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        create(&mut c, "pods", "default", &pod("b", json!({}))).await.unwrap();
        step("bind once");
        let bind = |node: &str| BindRequest { namespace: "default".into(), name: "b".into(), node_name: node.into(), uid: String::new() };
        let bound = c.bind(bind("n1")).await.unwrap().into_inner();
        let bound: serde_json::Value = serde_json::from_slice(&bound.object).unwrap();
        assert_eq!(bound["spec"]["nodeName"], "n1");
        let cond = bound["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "PodScheduled").unwrap().clone();
        assert_eq!(cond["status"], "True");
        let e = c.bind(bind("n2")).await.unwrap_err();
        assert_eq!(reason(&e), Reason::Conflict);
        assert_eq!(message(&e), r#"Operation cannot be fulfilled on pods/binding "b": pod b is already assigned to node "n1""#);
        let mut wrong_uid = bind("n1");
        wrong_uid.name = "b".into();
        wrong_uid.uid = "not-the-uid".into();
        assert_eq!(reason(&c.bind(wrong_uid).await.unwrap_err()), Reason::Conflict);

        step("scale a ReplicaSet, a ReplicationController and a Job");
        create(&mut c, "replicasets", "default", &rs("web", 2)).await.unwrap();
        let scale = |res: &str, name: &str| ScaleRequest { resource: res.into(), namespace: "default".into(), name: name.into() };
        let s = c.get_scale(scale("replicasets", "web")).await.unwrap().into_inner();
        assert_eq!((s.spec_replicas, s.status_replicas, s.selector.as_str()), (2, 0, "app=web"));
        let up = |res: &str, name: &str, n: i32, cur: i32| UpdateScaleRequest {
            resource: res.into(), namespace: "default".into(), name: name.into(), replicas: n, current_replicas: cur,
        };
        let s = c.update_scale(up("replicasets", "web", 10, -1)).await.unwrap().into_inner();
        assert_eq!(s.spec_replicas, 10);
        let after = get(&mut c, "replicasets", "default", "web").await.unwrap();
        assert_eq!(after["metadata"]["generation"], 2);
        assert_eq!(reason(&c.update_scale(up("replicasets", "web", 3, 2)).await.unwrap_err()), Reason::Conflict);
        assert_eq!(reason(&c.update_scale(up("replicasets", "web", -1, -1)).await.unwrap_err()), Reason::Invalid);

        let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "crane"},
            "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "crane"}},
                     "spec": {"containers": [{"name": "c", "image": "heejeong/crane"}]}}}});
        create(&mut c, "replicationcontrollers", "default", &rc).await.unwrap();
        let s = c.update_scale(up("replicationcontrollers", "crane", 10, 3)).await.unwrap().into_inner();
        assert_eq!((s.spec_replicas, s.selector.as_str()), (10, "app=crane"));

        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batch"},
            "spec": {"template": {"metadata": {"labels": {"app": "batch"}},
                     "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "luksa/batch-job"}]}}}});
        create(&mut c, "jobs", "default", &job).await.unwrap();
        let s = c.update_scale(up("jobs", "batch", 3, -1)).await.unwrap().into_inner();
        assert_eq!(s.spec_replicas, 3);
        assert_eq!(get(&mut c, "jobs", "default", "batch").await.unwrap()["spec"]["parallelism"], 3);
        assert_eq!(reason(&c.get_scale(scale("pods", "b")).await.unwrap_err()), Reason::NotFound);
    })
    .await;
}
