//! The auth matrix against a real apiserver: admin, viewer, node on its own and another node's objects, a user without a role, no token, a bad token.

use std::time::Duration;

use serde_json::json;
use skiff_api::error::Reason;
use skiff_proto::skiffapi::WhoAmIRequest;

use crate::util::*;

fn node(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
}

fn lease(name: &str, ns: &str) -> serde_json::Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, "namespace": ns},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40}})
}

fn event(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Started", "type": "Normal"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "auth matrix", async {
        let api = &cluster.apiservers[0];
        let mut admin = api.client(ADMIN).await;
        let mut viewer = api.client(VIEWER).await;
        let mut n1 = api.client(NODE1).await;
        let mut bob = api.client(NOBODY).await;
        let mut anonymous = api.client("").await;
        let mut forged = api.client("not-a-token").await;

        step("who am I");
        for (c, user, role) in [(&mut admin, "admin", "admin"), (&mut viewer, "vera", "viewer"), (&mut n1, "system:node:n1", "node"), (&mut bob, "bob", "none")] {
            let me = c.who_am_i(WhoAmIRequest {}).await.unwrap().into_inner();
            assert_eq!((me.user.as_str(), me.role.as_str()), (user, role));
        }
        let me = bob.who_am_i(WhoAmIRequest {}).await.unwrap().into_inner();
        assert_eq!(me.groups, vec!["devs", "testers"]);

        step("no token and a bad token are Unauthenticated");
        for c in [&mut anonymous, &mut forged] {
            let e = get(c, "pods", "default", "x").await.unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated);
            assert_eq!(reason(&e), Reason::Unauthorized);
            assert_eq!(c.who_am_i(WhoAmIRequest {}).await.unwrap_err().code(), tonic::Code::Unauthenticated);
        }

        step("admin does everything; viewer only reads");
        create(&mut admin, "pods", "default", &pod("p", json!({}))).await.unwrap();
        create(&mut admin, "nodes", "", &node("n2")).await.unwrap();
        assert!(get(&mut viewer, "pods", "default", "p").await.is_ok());
        assert!(list(&mut viewer, "pods", "", "", "").await.is_ok());
        let e = delete(&mut viewer, "pods", "default", "p", 0, "").await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert_eq!(
            message(&e),
            r#"pods "p" is forbidden: User "vera" cannot delete resource "pods" in API group "" in the namespace "default""#
        );
        let e = create(&mut viewer, "pods", "default", &pod("v", json!({}))).await.unwrap_err();
        assert_eq!(reason(&e), Reason::Forbidden);

        step("a user without a role may do nothing");
        let e = get(&mut bob, "pods", "default", "p").await.unwrap_err();
        assert_eq!(message(&e), r#"pods "p" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "default""#);

        step("a node writes its own Node, not another's");
        create(&mut n1, "nodes", "", &node("n1")).await.unwrap();
        let e = create(&mut n1, "nodes", "", &node("n3")).await.unwrap_err();
        assert_eq!(reason(&e), Reason::Forbidden);
        assert!(get(&mut admin, "nodes", "", "n3").await.is_err(), "nothing stored");
        let mut mine = get(&mut n1, "nodes", "", "n1").await.unwrap();
        mine["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
        update_status(&mut n1, "nodes", "", &mine).await.unwrap();
        let mut theirs = get(&mut n1, "nodes", "", "n2").await.unwrap();
        theirs["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
        let e = update_status(&mut n1, "nodes", "", &theirs).await.unwrap_err();
        assert!(message(&e).contains(r#"User "system:node:n1" cannot update resource "nodes/status""#), "{}", message(&e));
        assert_eq!(reason(&delete(&mut n1, "nodes", "", "n2", 0, "").await.unwrap_err()), Reason::Forbidden);

        step("a node writes its own Lease in kube-node-lease only");
        create(&mut n1, "leases", "kube-node-lease", &lease("n1", "kube-node-lease")).await.unwrap();
        let mut l = get(&mut n1, "leases", "kube-node-lease", "n1").await.unwrap();
        l["spec"]["leaseDurationSeconds"] = json!(30);
        update(&mut n1, "leases", "kube-node-lease", &l).await.unwrap();
        assert_eq!(reason(&create(&mut n1, "leases", "kube-node-lease", &lease("n2", "kube-node-lease")).await.unwrap_err()), Reason::Forbidden);
        assert_eq!(reason(&create(&mut n1, "leases", "default", &lease("n1", "default")).await.unwrap_err()), Reason::Forbidden);

        step("a node updates the status of pods bound to it only");
        let mut on_n1 = pod("on-n1", json!({}));
        on_n1["spec"]["nodeName"] = json!("n1");
        let on_n1 = create(&mut admin, "pods", "default", &on_n1).await.unwrap();
        let mut on_n2 = pod("on-n2", json!({}));
        on_n2["spec"]["nodeName"] = json!("n2");
        let on_n2 = create(&mut admin, "pods", "default", &on_n2).await.unwrap();
        let mut s = on_n1.clone();
        s["status"] = json!({"phase": "Running", "podIP": "10.0.0.5"});
        let running = update_status(&mut n1, "pods", "default", &s).await.unwrap();
        assert_eq!(running["status"]["phase"], "Running");
        let mut s = on_n2.clone();
        s["status"] = json!({"phase": "Running"});
        let e = update_status(&mut n1, "pods", "default", &s).await.unwrap_err();
        assert_eq!(reason(&e), Reason::Forbidden);
        assert_eq!(get(&mut admin, "pods", "default", "on-n2").await.unwrap()["status"]["phase"], "Pending");

        step("a node may not change pod specs, create pods, or touch controllers");
        let mut spec = running.clone();
        spec["metadata"]["labels"] = json!({"x": "y"});
        assert_eq!(reason(&update(&mut n1, "pods", "default", &spec).await.unwrap_err()), Reason::Forbidden);
        assert_eq!(reason(&create(&mut n1, "pods", "default", &pod("new", json!({}))).await.unwrap_err()), Reason::Forbidden);
        assert_eq!(reason(&delete(&mut n1, "replicasets", "default", "x", 0, "").await.unwrap_err()), Reason::Forbidden);

        step("a node records events and reads everything");
        create(&mut n1, "events", "default", &event("p.1")).await.unwrap();
        assert!(list(&mut n1, "pods", "", "", "spec.nodeName=n1").await.unwrap().0.len() == 1);
    })
    .await;
}
