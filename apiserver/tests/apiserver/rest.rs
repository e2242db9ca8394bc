//! The Kubernetes REST API over HTTPS: discovery, errors as Status (401/403/404/405/409/415/422), CRUD, patch types, scale, binding, Table, watch resume and 410, and one semantics with the gRPC API.

use std::time::Duration;

use serde_json::{json, Value};

use crate::util::*;

const T: Duration = Duration::from_secs(10);
const PODS: &str = "/api/v1/namespaces/default/pods";

/// The names of a list's items (none if it has no items array).
pub(crate) fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn rc(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name},
           "spec": {"replicas": replicas, "selector": {"app": name},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_discovery_auth_and_errors() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "discovery and errors", async {
        let a = &cluster.apiservers[0];
        let (admin, anon, viewer) = (a.rest(ADMIN), a.rest(""), a.rest(VIEWER));

        step("health and version answer anyone, over TLS to the test CA");
        assert_eq!(anon.get("/healthz").await.text, "ok");
        assert_eq!(anon.get("/livez").await.status, 200);
        assert_eq!(anon.get("/version").await.body["major"], "1");

        step("discovery needs a token: 401 as a Status without one");
        let r = anon.get("/api").await;
        assert_eq!(r.status, 401);
        assert_eq!(
            (
                r.body["kind"].as_str(),
                r.body["reason"].as_str(),
                r.body["code"].as_i64()
            ),
            (Some("Status"), Some("Unauthorized"), Some(401))
        );
        assert_eq!(a.rest("wrong-token").get(PODS).await.status, 401);

        step("/api, /apis, /api/v1 and /apis/{g}/{v} list what kubectl reads");
        assert_eq!(admin.get("/api").await.body["versions"], json!(["v1"]));
        let groups = admin.get("/apis").await.body;
        let apps = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "apps")
            .expect("apps")
            .clone();
        assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
        assert!(apps["versions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["groupVersion"] == "apps/v1beta2"));
        let core = admin.get("/api/v1").await.body;
        let find = |list: &Value, name: &str| {
            list["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!(find(&core, "pods")["shortNames"], json!(["po"]));
        assert_eq!(find(&core, "pods")["categories"], json!(["all"]));
        assert!(find(&core, "pods")["verbs"]
            .as_array()
            .unwrap()
            .contains(&json!("watch")));
        assert_eq!(find(&core, "replicationcontrollers/scale")["kind"], "Scale");
        assert_eq!(find(&core, "pods/log")["verbs"], json!(["get"]));
        assert_eq!(find(&core, "pods/exec")["verbs"], json!(["create", "get"]));

        step("OpenAPI v2: 406 for a protobuf-only Accept (kubectl falls back), JSON otherwise");
        let protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
        let r = admin.get_accept("/openapi/v2", protobuf).await;
        assert_eq!(
            (r.status.as_u16(), r.body["reason"].as_str()),
            (406, Some("NotAcceptable")),
            "{}",
            r.text
        );
        let r = admin
            .get_accept("/openapi/v2", &format!("{protobuf}, application/json"))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["swagger"].as_str()),
            (200, Some("2.0"))
        );
        assert_eq!(admin.get("/openapi/v2").await.body["swagger"], "2.0");
        let batch = admin.get("/apis/batch/v1beta1").await.body;
        assert_eq!(find(&batch, "cronjobs")["shortNames"], json!(["cj"]));

        step("404s are Status objects naming the object");
        let r = admin.get(&format!("{PODS}/nope")).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["message"], "pods \"nope\" not found");
        assert_eq!(
            (
                r.body["details"]["name"].as_str(),
                r.body["details"]["kind"].as_str()
            ),
            (Some("nope"), Some("pods"))
        );
        let r = admin.get("/api/v1/namespaces/default/widgets").await;
        assert_eq!(
            (r.status.as_u16(), r.body["reason"].as_str()),
            (404, Some("NotFound"))
        );
        assert_eq!(
            admin
                .get("/apis/batch/v1beta1/namespaces/default/jobs")
                .await
                .status,
            404
        );

        step("a viewer reads but gets 403 Forbidden on create; nothing is stored");
        assert_eq!(viewer.get(PODS).await.status, 200);
        let r = viewer.post(PODS, &pod("v", json!({}))).await;
        assert_eq!(
            (r.status.as_u16(), r.body["reason"].as_str()),
            (403, Some("Forbidden"))
        );
        assert!(
            r.body["message"].as_str().unwrap().contains("vera"),
            "{}",
            r.text
        );
        assert_eq!(admin.get(&format!("{PODS}/v")).await.status, 404);

        step("a misspelt field is refused with its path and the nearest name; nothing stored");
        let mut bad = pod("typo", json!({}));
        bad["spec"]["containers"][0]["imagePullPolcy"] = json!("Always");
        let r = admin
            .post(&format!("{PODS}?fieldValidation=Strict"), &bad)
            .await;
        assert!(r.status.is_client_error(), "{r:?}");
        let message = r.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("spec.containers[0]")
                && message.contains("imagePullPolcy")
                && message.contains("imagePullPolicy"),
            "{message}"
        );
        assert_eq!(admin.get(&format!("{PODS}/typo")).await.status, 404);

        step("an invalid object is 422 Invalid with field causes");
        let mut invalid = pod("bad", json!({}));
        invalid["spec"]["containers"][0]["image"] = json!("");
        let r = admin.post(PODS, &invalid).await;
        assert_eq!(
            (r.status.as_u16(), r.body["reason"].as_str()),
            (422, Some("Invalid")),
            "{}",
            r.text
        );
        assert_eq!(
            r.body["details"]["causes"][0]["field"],
            "spec.containers[0].image"
        );

        step("a method a path does not take is 405");
        assert_eq!(admin.put(PODS, &pod("x", json!({}))).await.status, 405);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_crud_patch_scale_and_table() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(90), "crud", async {
        let a = &cluster.apiservers[0];
        let admin = a.rest(ADMIN);
        let mut grpc = a.client(ADMIN).await;

        step("create answers 201 with the stored object");
        let r = admin.post(PODS, &pod("a", json!({"app": "x"}))).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert!(!r.body["metadata"]["uid"].as_str().unwrap().is_empty());
        admin.post(PODS, &pod("b", json!({"app": "x"}))).await;
        admin.post(PODS, &pod("c", json!({"app": "y"}))).await;
        assert_eq!(admin.post(PODS, &pod("a", json!({}))).await.status, 409, "AlreadyExists");
        let mut untyped = pod("untyped", json!({}));
        untyped.as_object_mut().unwrap().retain(|k, _| k != "apiVersion" && k != "kind");
        let r = admin.post(PODS, &untyped).await;
        assert_eq!((r.status.as_u16(), r.body["kind"].as_str()), (201, Some("Pod")), "kind and apiVersion from the path: {}", r.text);
        admin.delete(&format!("{PODS}/untyped"), None).await;

        step("list with selectors, and in pages with limit/continue");
        let list = admin.get(&format!("{PODS}?labelSelector=app%3Dx")).await.body;
        assert_eq!((list["kind"].as_str(), names(&list)), (Some("PodList"), vec!["a".to_string(), "b".to_string()]));
        assert!(list["metadata"]["resourceVersion"].as_str().unwrap().parse::<i64>().unwrap() > 0);
        let list = admin.get(&format!("{PODS}?fieldSelector=metadata.name%3Dc")).await.body;
        assert_eq!(names(&list), vec!["c"]);
        let page1 = admin.get(&format!("{PODS}?limit=2")).await.body;
        assert_eq!(names(&page1), vec!["a", "b"]);
        assert_eq!(page1["metadata"]["remainingItemCount"], 1);
        let token = page1["metadata"]["continue"].as_str().expect("a continue token");
        let page2 = admin.get(&format!("{PODS}?limit=2&continue={token}")).await.body;
        assert_eq!(names(&page2), vec!["c"]);
        assert!(page2["metadata"].get("continue").is_none());
        assert_eq!(names(&admin.get("/api/v1/pods").await.body).len(), 3, "all namespaces");

        step("update: 409 Conflict on a stale resourceVersion, 200 on the current one");
        let current = admin.get(&format!("{PODS}/a")).await.body;
        let mut changed = current.clone();
        changed["metadata"]["labels"]["tier"] = json!("1");
        assert_eq!(admin.put(&format!("{PODS}/a"), &changed).await.status, 200);
        let r = admin.put(&format!("{PODS}/a"), &changed).await;
        assert_eq!((r.status.as_u16(), r.body["reason"].as_str()), (409, Some("Conflict")), "{}", r.text);
        assert_eq!(admin.put(&format!("{PODS}/b"), &changed).await.status, 400, "name mismatch");

        step("patch: merge, strategic merge (containers by name), JSON patch; apply is 415");
        let r = admin.patch(&format!("{PODS}/a"), "application/merge-patch+json", r#"{"metadata":{"labels":{"m":"1"}}}"#).await;
        assert_eq!((r.status.as_u16(), r.body["metadata"]["labels"]["m"].as_str()), (200, Some("1")), "{}", r.text);
        let r = admin.patch(&format!("{PODS}/a"), "application/strategic-merge-patch+json",
            r#"{"spec":{"containers":[{"name":"main","image":"luksa/kubia"}]}}"#).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let containers = r.body["spec"]["containers"].as_array().unwrap();
        assert_eq!((containers.len(), containers[0]["image"].as_str()), (1, Some("luksa/kubia")));
        assert_eq!(containers[0]["command"], json!(["sleep", "3600"]), "merged by name, not replaced");
        let r = admin.patch(&format!("{PODS}/a"), "application/json-patch+json", r#"[{"op":"replace","path":"/metadata/labels/app","value":"z"}]"#).await;
        assert_eq!(r.body["metadata"]["labels"]["app"], "z", "{}", r.text);
        let r = admin.patch(&format!("{PODS}/a"), "application/apply-patch+yaml", "metadata: {}").await;
        assert_eq!((r.status.as_u16(), r.body["reason"].as_str()), (415, Some("UnsupportedMediaType")));

        step("gRPC and REST see the same objects");
        let via_grpc = get(&mut grpc, "pods", "default", "a").await.unwrap();
        assert_eq!(via_grpc["metadata"]["labels"]["app"], "z");
        create(&mut grpc, "pods", "default", &pod("g", json!({}))).await.unwrap();
        assert_eq!(admin.get(&format!("{PODS}/g")).await.body["metadata"]["name"], "g");

        step("Table output with the columns skiff get prints");
        let table = admin.get_accept(PODS, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json").await.body;
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["columnDefinitions"][0]["name"], "Name");
        assert_eq!(table["rows"].as_array().unwrap().len(), 4);
        assert_eq!(table["rows"][0]["cells"][0], "a");

        step("binding assigns a pod once");
        let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"}, "target": {"kind": "Node", "name": "n1"}});
        assert_eq!(admin.post(&format!("{PODS}/b/binding"), &binding).await.status, 201);
        assert_eq!(admin.get(&format!("{PODS}/b")).await.body["spec"]["nodeName"], "n1");
        assert_eq!(admin.post(&format!("{PODS}/b/binding"), &binding).await.status, 409);

        step("scale: get, patch (kubectl scale), a stale update is 409");
        let rcs = "/api/v1/namespaces/default/replicationcontrollers";
        assert_eq!(admin.post(rcs, &rc("web", 1)).await.status, 201);
        let scale = admin.get(&format!("{rcs}/web/scale")).await.body;
        assert_eq!((scale["kind"].as_str(), scale["apiVersion"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some("autoscaling/v1"), Some(1)));
        assert_eq!(scale["status"]["selector"], "app=web");
        let r = admin.patch(&format!("{rcs}/web/scale"), "application/merge-patch+json", r#"{"spec":{"replicas":3}}"#).await;
        assert_eq!(r.body["spec"]["replicas"], 3, "{}", r.text);
        assert_eq!(admin.get(&format!("{rcs}/web")).await.body["spec"]["replicas"], 3);
        let r = admin.put(&format!("{rcs}/web/scale"), &scale).await;
        assert_eq!(r.status, 409, "the Scale read before the patch is stale: {}", r.text);

        step("apps/v1beta2 paths serve objects in apps/v1beta2");
        let rs = json!({"apiVersion": "apps/v1beta2", "kind": "ReplicaSet", "metadata": {"name": "old"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "old"}},
                     "template": {"metadata": {"labels": {"app": "old"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}});
        let r = admin.post("/apis/apps/v1beta2/namespaces/default/replicasets", &rs).await;
        assert_eq!((r.status.as_u16(), r.body["apiVersion"].as_str()), (201, Some("apps/v1beta2")), "{}", r.text);
        assert_eq!(admin.get("/apis/apps/v1/namespaces/default/replicasets/old").await.body["apiVersion"], "apps/v1");

        step("delete with DeleteOptions; deletecollection by label");
        let r = admin.delete(&format!("{PODS}/c"), Some(&json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "not-it"}}))).await;
        assert_eq!(r.status, 409, "a wrong uid precondition: {}", r.text);
        assert_eq!(admin.delete(&format!("{PODS}/c"), Some(&json!({"propagationPolicy": "Background"}))).await.status, 200);
        assert_eq!(admin.get(&format!("{PODS}/c")).await.status, 404);
        let r = admin.delete(&format!("{PODS}?labelSelector=app%3Dx"), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let left = names(&admin.get(PODS).await.body);
        assert!(!left.contains(&"a".to_string()) || left.len() < 4, "{left:?}");
        assert!(names(&admin.get(&format!("{PODS}?labelSelector=app%3Dx")).await.body).iter().all(|n| n == "b"),
            "only the bound pod b is left, terminating");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_watch_resume_timeout_and_expired() {
    let cluster = Cluster::start(
        1,
        &[
            "--watch-cache-size",
            "20",
            "--watch-bookmark-interval",
            "500ms",
            "--watch-progress-interval",
            "200ms",
        ],
    )
    .await;
    within(Duration::from_secs(90), "watch", async {
        let a = &cluster.apiservers[0];
        let admin = a.rest(ADMIN);
        let list_rv = admin.get(PODS).await.body["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();

        step("a watch from a list's resourceVersion sees changes as JSON lines");
        let mut w = admin
            .watch(&format!(
                "{PODS}?watch=1&resourceVersion={list_rv}&allowWatchBookmarks=true"
            ))
            .await;
        admin.post(PODS, &pod("p1", json!({}))).await;
        admin
            .patch(
                &format!("{PODS}/p1"),
                "application/merge-patch+json",
                r#"{"metadata":{"labels":{"a":"b"}}}"#,
            )
            .await;
        let (t, o) = w.next_change(T).await.unwrap();
        assert_eq!(
            (t.as_str(), o["metadata"]["name"].as_str()),
            ("ADDED", Some("p1"))
        );
        let (t, o) = w.next_change(T).await.unwrap();
        assert_eq!(t, "MODIFIED");
        let seen = rv(&o);

        step("bookmarks arrive when asked for (a write to another kind moves the revision)");
        admin
            .post(
                "/api/v1/namespaces/default/replicationcontrollers",
                &rc("other", 0),
            )
            .await;
        let bookmark = loop {
            let (t, o) = w.next(T).await.unwrap();
            if t == "BOOKMARK" {
                break o;
            }
        };
        assert_eq!(bookmark["kind"], "Pod");

        step("after a disconnect, resuming from the last seen version misses and repeats nothing");
        drop(w);
        admin.post(PODS, &pod("p2", json!({}))).await;
        let mut resumed = admin
            .watch(&format!("{PODS}?watch=true&resourceVersion={seen}"))
            .await;
        let (t, o) = resumed.next_change(T).await.unwrap();
        assert_eq!(
            (t.as_str(), o["metadata"]["name"].as_str()),
            ("ADDED", Some("p2"))
        );

        step("without a resourceVersion the watch starts with the current objects");
        let mut fresh = admin.watch(&format!("{PODS}?watch=1")).await;
        let mut initial = Vec::new();
        for _ in 0..2 {
            let (t, o) = fresh.next_change(T).await.unwrap();
            assert_eq!(t, "ADDED");
            initial.push(o["metadata"]["name"].as_str().unwrap().to_string());
        }
        initial.sort();
        assert_eq!(initial, vec!["p1", "p2"]);

        step("timeoutSeconds ends the stream");
        let mut short = admin
            .watch(&format!(
                "{PODS}?watch=1&resourceVersion={seen}&timeoutSeconds=1"
            ))
            .await;
        let started = std::time::Instant::now();
        while short.next(T).await.is_some() {}
        assert!(started.elapsed() < Duration::from_secs(8));

        step("a resourceVersion pushed out of the window gets an ERROR event with 410 Expired");
        for i in 0..40 {
            admin
                .patch(
                    &format!("{PODS}/p1"),
                    "application/merge-patch+json",
                    &format!(r#"{{"metadata":{{"annotations":{{"n":"{i}"}}}}}}"#),
                )
                .await;
        }
        cluster.compact(cluster.store_revision().await).await;
        let mut old = admin
            .watch(&format!("{PODS}?watch=1&resourceVersion={list_rv}"))
            .await;
        let (t, status) = old.next(T).await.unwrap();
        assert_eq!(
            (
                t.as_str(),
                status["reason"].as_str(),
                status["code"].as_i64()
            ),
            ("ERROR", Some("Expired"), Some(410)),
            "{status}"
        );
        assert!(
            old.next(T).await.is_none(),
            "the stream ends after the error"
        );
    })
    .await;
}
