//! Create, get, list, update and delete of every kind, through both apiservers.

use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::error::Reason;

use crate::util::*;

fn container() -> Value {
    json!({"name": "main", "image": "busybox", "command": ["sleep", "3600"]})
}

/// One valid object of every kind: (resource, namespace, object).
pub fn samples() -> Vec<(&'static str, &'static str, Value)> {
    let template = |app: &str, restart: &str| json!({"metadata": {"labels": {"app": app}}, "spec": {"restartPolicy": restart, "containers": [container()]}});
    vec![
        (
            "namespaces",
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
        ),
        (
            "nodes",
            "",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n9", "labels": {"disk": "ssd"}},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}], "capacity": {"cpu": "2", "pods": "110"}}}),
        ),
        ("pods", "default", pod("p1", json!({"app": "crane"}))),
        (
            "replicationcontrollers",
            "default",
            json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "crane"},
            "spec": {"replicas": 3, "selector": {"app": "crane"}, "template": template("crane", "Always")}}),
        ),
        (
            "events",
            "default",
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "p1.17a"},
            "involvedObject": {"kind": "Pod", "name": "p1", "namespace": "default"}, "reason": "Started",
            "message": "Started container main", "type": "Normal", "source": {"component": "nodelet"}, "count": 1}),
        ),
        (
            "replicasets",
            "default",
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template("web", "Always")}}),
        ),
        (
            "daemonsets",
            "default",
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ssd-monitor"},
            "spec": {"selector": {"matchLabels": {"app": "ssd-monitor"}}, "template": template("ssd-monitor", "Always")}}),
        ),
        (
            "jobs",
            "default",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batch"},
            "spec": {"template": template("batch", "OnFailure")}}),
        ),
        (
            "cronjobs",
            "default",
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "every-15"},
            "spec": {"schedule": "0,15,30,45 * * * *", "jobTemplate": {"spec": {"template": template("cj", "OnFailure")}}}}),
        ),
        (
            "leases",
            "kube-node-lease",
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "n9", "namespace": "kube-node-lease"}, "spec": {"holderIdentity": "n9", "leaseDurationSeconds": 40}}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_round_trips_through_both_apiservers() {
    let cluster = Cluster::start(2, &[]).await;
    within(Duration::from_secs(120), "crud", async {
        let mut a = cluster.apiservers[0].client(ADMIN).await;
        let mut b = cluster.apiservers[1].client(ADMIN).await;
        for (resource, ns, obj) in samples() {
            step(&format!("{resource}: create, get, list, update, delete"));
            let name = obj["metadata"]["name"].as_str().unwrap().to_string();
            let created = create(&mut a, resource, ns, &obj).await.unwrap_or_else(|e| panic!("create {resource}: {e:?}"));
            let meta = &created["metadata"];
            assert_eq!(meta["uid"].as_str().unwrap().len(), 36, "{resource} uid");
            assert!(meta["creationTimestamp"].is_string(), "{resource} creationTimestamp");
            assert!(!rv(&created).is_empty());
            let again = create(&mut b, resource, ns, &obj).await.unwrap_err();
            assert_eq!(reason(&again), Reason::AlreadyExists, "{resource}");
            let qualified = match obj["apiVersion"].as_str().unwrap().split_once('/') {
                Some((group, _)) => format!("{resource}.{group}"),
                None => resource.to_string(),
            };
            assert_eq!(message(&again), format!("{qualified} {name:?} already exists"));

            let got = get(&mut b, resource, ns, &name).await.unwrap();
            assert_eq!(got, created, "{resource}: the other apiserver reads the same object");
            let (items, list_rv) = list(&mut b, resource, ns, "", "").await.unwrap();
            assert!(items.iter().any(|i| i["metadata"]["name"] == name.as_str()), "{resource} listed");
            assert!(list_rv.parse::<i64>().unwrap() >= rv(&created).parse::<i64>().unwrap());

            let mut changed = got.clone();
            changed["metadata"]["labels"]["touched"] = json!("yes");
            let updated = update(&mut b, resource, ns, &changed).await.unwrap();
            assert_eq!(updated["metadata"]["labels"]["touched"], "yes");
            assert!(rv(&updated).parse::<i64>().unwrap() > rv(&created).parse::<i64>().unwrap());
            let stale = update(&mut a, resource, ns, &changed).await.unwrap_err();
            assert_eq!(reason(&stale), Reason::Conflict, "{resource}: stale resourceVersion");
            assert!(message(&stale).contains("the object has been modified; please apply your changes to the latest version and try again"));

            delete(&mut a, resource, ns, &name, 0, "").await.unwrap();
            // A namespace goes once the apiserver has emptied it (here: at once, it is empty).
            let gone = loop {
                match get(&mut b, resource, ns, &name).await {
                    Ok(obj) if resource == "namespaces" => {
                        assert_eq!(obj["status"]["phase"], "Terminating");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Ok(obj) => panic!("{resource} still there after delete: {obj}"),
                    Err(e) => break e,
                }
            };
            assert_eq!(reason(&gone), Reason::NotFound, "{resource}");
            assert_eq!(message(&gone), format!("{qualified} {name:?} not found"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_set_fields_namespaces_and_versions() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "server-set fields", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        step("the built-in namespaces exist");
        for ns in ["default", "kube-system", "kube-node-lease"] {
            let got = get(&mut c, "namespaces", "", ns).await.unwrap();
            assert_eq!(got["status"]["phase"], "Active");
        }
        step("creating in a namespace that does not exist is NotFound");
        let e = create(&mut c, "pods", "nope", &pod("p", json!({}))).await.unwrap_err();
        assert_eq!((reason(&e), message(&e)), (Reason::NotFound, r#"namespaces "nope" not found"#.to_string()));
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nope"}});
        create(&mut c, "namespaces", "", &ns).await.unwrap();
        create(&mut c, "pods", "nope", &pod("p", json!({}))).await.unwrap();

        step("pods start Pending with generation 1; the stored form has no resourceVersion");
        let p = get(&mut c, "pods", "nope", "p").await.unwrap();
        assert_eq!(p["status"], json!({"phase": "Pending"}));
        assert_eq!(p["metadata"]["generation"], 1);
        assert_eq!(cluster.store_keys("/registry/pods/nope/").await, vec!["/registry/pods/nope/p".to_string()]);

        step("generateName");
        let mut g = pod("", json!({}));
        g["metadata"] = json!({"generateName": "crane-"});
        let made = create(&mut c, "pods", "default", &g).await.unwrap();
        let name = made["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("crane-") && name.len() == 11, "{name}");

        step("an old apiVersion is stored as the storage version");
        let rs = json!({"apiVersion": "apps/v1beta2", "kind": "ReplicaSet", "metadata": {"name": "old"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "old"}},
                     "template": {"metadata": {"labels": {"app": "old"}}, "spec": {"containers": [container()]}}}});
        let stored = create(&mut c, "replicasets", "default", &rs).await.unwrap();
        assert_eq!(stored["apiVersion"], "apps/v1");

        step("the namespace of the object must match the request's");
        let mut other = pod("x", json!({}));
        other["metadata"]["namespace"] = json!("kube-system");
        let e = create(&mut c, "pods", "default", &other).await.unwrap_err();
        assert_eq!(reason(&e), Reason::BadRequest);

        step("strict decoding errors reach the client with their path");
        let mut bad = pod("bad", json!({}));
        bad["spec"]["containers"][0]["livenessProbe"] = json!({"initalDelaySeconds": 5, "exec": {"command": ["true"]}});
        let e = create(&mut c, "pods", "default", &bad).await.unwrap_err();
        assert_eq!(reason(&e), Reason::BadRequest);
        assert!(message(&e).contains("spec.containers[0].livenessProbe.initalDelaySeconds"), "{}", message(&e));
        assert!(message(&e).contains("initialDelaySeconds"), "{}", message(&e));
        let e = create(&mut c, "daemonsets", "default", &json!({"apiVersion": "apps/v1beta2", "kind": "DemonSet", "metadata": {"name": "x"}})).await.unwrap_err();
        assert!(message(&e).contains(r#"did you mean "DaemonSet"?"#), "{}", message(&e));
        assert!(get(&mut c, "pods", "default", "bad").await.is_err(), "nothing invalid is stored");

        step("the notes' typos: batch/vbeta1 names the known versions, DoesNotExists gets DoesNotExist");
        let cj = json!({"apiVersion": "batch/vbeta1", "kind": "CronJob", "metadata": {"name": "typo"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [container()]}}}}}});
        let e = create(&mut c, "cronjobs", "default", &cj).await.unwrap_err();
        assert_eq!(reason(&e), Reason::BadRequest);
        assert!(message(&e).contains("served as apiVersion: batch/v1 (or batch/v1beta1)"), "{}", message(&e));
        assert!(message(&e).contains(r#"did you mean "batch/v1beta1"?"#), "{}", message(&e));
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "typo"},
            "spec": {"replicas": 1,
                     "selector": {"matchLabels": {"app": "t"}, "matchExpressions": [{"key": "gpu", "operator": "DoesNotExists"}]},
                     "template": {"metadata": {"labels": {"app": "t"}}, "spec": {"containers": [container()]}}}});
        let e = create(&mut c, "replicasets", "default", &rs).await.unwrap_err();
        assert_eq!(reason(&e), Reason::Invalid);
        assert!(message(&e).contains("spec.selector.matchExpressions[0].operator"), "{}", message(&e));
        assert!(message(&e).contains(r#"did you mean "DoesNotExist"?"#), "{}", message(&e));
        for (plural, name) in [("cronjobs", "typo"), ("replicasets", "typo")] {
            assert!(get(&mut c, plural, "default", name).await.is_err(), "{plural}/{name} was stored");
        }

        step("built-in namespaces cannot be deleted");
        let e = delete(&mut c, "namespaces", "", "kube-system", -1, "").await.unwrap_err();
        assert_eq!(reason(&e), Reason::Forbidden);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seed_manifest_is_accepted() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "seed manifests", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        let dir = std::path::Path::new("/work/shared/fixtures/seed");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty());
        let mut count = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for obj in skiff_api::manifest::parse_manifests(&text).unwrap() {
                let info = skiff_api::decode::type_of(&obj).unwrap();
                step(&format!(
                    "{} ({} {})",
                    file.display(),
                    info.kind,
                    obj["metadata"]["name"]
                ));
                let made = create(&mut c, info.plural, "", &obj)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {}", file.display(), message(&e)));
                assert_eq!(made["apiVersion"], info.storage_version());
                count += 1;
            }
        }
        eprintln!("{count} seed objects accepted");
    })
    .await;
}
