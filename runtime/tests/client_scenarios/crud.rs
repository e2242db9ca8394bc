//! Typed and JSON CRUD round trips, subresources, watches and the mapping of server errors.

use futures::StreamExt;
use serde_json::json;
use skiff_api::error::{CauseType, Reason};
use skiff_api::types::{Node, Pod, ReplicaSet, Resource};
use skiff_client::{DeleteOptions, ListOptions, LogOptions, WatchEvent, WatchOptions};

use crate::{pod, single, step, within};

#[tokio::test]
async fn typed_crud_round_trip() {
    let (_shared, _server, client) = single().await;
    within(20, "typed CRUD", async {
        step("create and get");
        let created = client
            .create(&pod("default", "web-1", "web"))
            .await
            .unwrap();
        assert!(!created.metadata.uid.is_empty());
        assert!(!created.metadata.resource_version.is_empty());
        let got: Pod = client.get("default", "web-1").await.unwrap();
        assert_eq!(got, created);
        assert_eq!(
            client.get_opt::<Pod>("default", "nope").await.unwrap(),
            None
        );

        step("list in one namespace, in all, and by label");
        client.create(&pod("default", "db-1", "db")).await.unwrap();
        client.create(&pod("other", "web-2", "web")).await.unwrap();
        let default = client
            .list::<Pod>(Some("default"), &ListOptions::default())
            .await
            .unwrap();
        assert_eq!(default.items.len(), 2);
        assert!(!default.resource_version.is_empty());
        let all = client
            .list::<Pod>(None, &ListOptions::default())
            .await
            .unwrap();
        assert_eq!(all.items.len(), 3);
        let web = client
            .list::<Pod>(None, &ListOptions::labels("app=web"))
            .await
            .unwrap();
        let mut names: Vec<_> = web.items.iter().map(|p| p.name().to_string()).collect();
        names.sort();
        assert_eq!(names, ["web-1", "web-2"]);
        let by_name = client
            .list::<Pod>(None, &ListOptions::fields("metadata.name=db-1"))
            .await
            .unwrap();
        assert_eq!(by_name.items.len(), 1);

        step("update is a compare-and-swap");
        let mut newer = got.clone();
        newer
            .metadata
            .labels
            .insert("tier".to_string(), "front".to_string());
        let updated = client.update(&newer).await.unwrap();
        assert_ne!(
            updated.metadata.resource_version,
            got.metadata.resource_version
        );
        let mut stale = got.clone();
        stale
            .metadata
            .labels
            .insert("tier".to_string(), "back".to_string());
        let conflict = client.update(&stale).await.unwrap_err();
        assert!(conflict.is_conflict(), "{conflict:?}");
        assert_eq!(conflict.code, 409);
        assert!(conflict.message.contains("the object has been modified"));

        step("status update and merge patch");
        let mut with_status = updated.clone();
        with_status.status.phase = "Running".to_string();
        let status_updated = client.update_status(&with_status).await.unwrap();
        assert_eq!(status_updated.status.phase, "Running");
        let patched: Pod = client
            .patch(
                "default",
                "web-1",
                &json!({"metadata": {"labels": {"tier": null, "team": "crane"}}}),
            )
            .await
            .unwrap();
        assert_eq!(
            patched.metadata.labels.get("team").map(String::as_str),
            Some("crane")
        );
        assert!(!patched.metadata.labels.contains_key("tier"));
        assert_eq!(patched.status.phase, "Running");

        step("graceful delete returns the pod with a deletionTimestamp; forced delete removes it");
        let deleting = client
            .delete::<Pod>("default", "web-1", &DeleteOptions::default())
            .await
            .unwrap()
            .unwrap();
        assert!(deleting.metadata.deletion_timestamp.is_some());
        let gone = client
            .delete::<Pod>("default", "web-1", &DeleteOptions::now())
            .await
            .unwrap();
        assert!(gone.is_some());
        assert!(client
            .get::<Pod>("default", "web-1")
            .await
            .unwrap_err()
            .is_not_found());
        assert!(client
            .delete::<Pod>("default", "web-1", &DeleteOptions::now())
            .await
            .unwrap_err()
            .is_not_found());

        step("a delete precondition on a changed uid is refused");
        let db: Pod = client.get("default", "db-1").await.unwrap();
        let mut wrong = DeleteOptions::guarded_by(&db.metadata);
        wrong.precondition_uid = Some("someone-else".to_string());
        assert!(client
            .delete::<Pod>("default", "db-1", &wrong)
            .await
            .unwrap_err()
            .is_conflict());

        step("cluster-scoped kinds ignore the namespace");
        client.create(&Node::named("", "n1")).await.unwrap();
        let node: Node = client.get("ignored", "n1").await.unwrap();
        assert_eq!(node.name(), "n1");
        assert_eq!(node.namespace(), "");
    })
    .await;
}

#[tokio::test]
async fn server_errors_keep_their_reason_and_causes() {
    let (shared, server, client) = single().await;
    within(20, "error mapping", async {
        step("AlreadyExists");
        client.create(&pod("default", "a", "x")).await.unwrap();
        let dup = client.create(&pod("default", "a", "x")).await.unwrap_err();
        assert!(dup.is_already_exists());
        assert_eq!(dup.message, "pods \"a\" already exists");

        step("Invalid with field causes");
        let invalid = client
            .create(&pod("default", "Bad", "x"))
            .await
            .unwrap_err();
        assert_eq!(invalid.reason, Reason::Invalid);
        assert_eq!(invalid.code, 422);
        assert_eq!(invalid.details.causes.len(), 1);
        assert_eq!(invalid.details.causes[0].field, "metadata.name");
        assert_eq!(
            invalid.details.causes[0].reason,
            CauseType::FieldValueInvalid
        );

        step("Unauthorized without the right token");
        shared.add_token("secret", "alice", "admin");
        let anonymous = client.get::<Pod>("default", "a").await.unwrap_err();
        assert_eq!(anonymous.reason, Reason::Unauthorized);
        let alice = crate::client(&[server.endpoint()], Some("secret"));
        assert_eq!(alice.get::<Pod>("default", "a").await.unwrap().name(), "a");
        let me = alice.who_am_i().await.unwrap();
        assert_eq!((me.user.as_str(), me.role.as_str()), ("alice", "admin"));
    })
    .await;
}

#[tokio::test]
async fn bind_scale_and_logs() {
    let (_shared, _server, client) = single().await;
    within(20, "subresources", async {
        step("bind sets nodeName once");
        let p = client.create(&pod("default", "p", "x")).await.unwrap();
        client
            .bind_uid("default", "p", &p.metadata.uid, "n1")
            .await
            .unwrap();
        let bound: Pod = client.get("default", "p").await.unwrap();
        assert_eq!(bound.spec.node_name, "n1");
        assert!(client
            .bind("default", "p", "n2")
            .await
            .unwrap_err()
            .is_conflict());

        step("scale with and without a precondition");
        let mut rs = ReplicaSet::named("default", "rs");
        rs.spec.replicas = Some(3);
        client.create(&rs).await.unwrap();
        assert_eq!(
            client
                .get_scale("replicasets", "default", "rs")
                .await
                .unwrap()
                .spec_replicas,
            3
        );
        let scaled = client
            .update_scale("replicasets", "default", "rs", 10, Some(3))
            .await
            .unwrap();
        assert_eq!(scaled.spec_replicas, 10);
        assert!(client
            .update_scale("replicasets", "default", "rs", 1, Some(3))
            .await
            .unwrap_err()
            .is_conflict());
        assert_eq!(
            client
                .update_scale("replicasets", "default", "rs", 1, None)
                .await
                .unwrap()
                .spec_replicas,
            1
        );

        step("logs stream bytes, honouring tail and container");
        let options = LogOptions {
            container: Some("side".to_string()),
            tail_lines: Some(2),
            ..LogOptions::default()
        };
        let chunks: Vec<_> = client
            .logs("default", "p", &options)
            .await
            .unwrap()
            .collect()
            .await;
        let text: String = chunks
            .into_iter()
            .map(|c| String::from_utf8(c.unwrap().to_vec()).unwrap())
            .collect();
        assert_eq!(text, "side line 4\nside line 5\n");
        match client
            .logs("default", "missing", &LogOptions::default())
            .await
        {
            Err(e) => assert!(e.is_not_found(), "{e:?}"),
            Ok(_) => panic!("logs of a missing pod"),
        }
    })
    .await;
}

#[tokio::test]
async fn typed_watch_from_a_list_sees_every_change_in_order_then_expired() {
    let (shared, _server, client) = single().await;
    within(20, "watch", async {
        client.create(&pod("default", "before", "x")).await.unwrap();
        let list = client.list::<Pod>(Some("default"), &ListOptions::default()).await.unwrap();
        let options = WatchOptions { resource_version: list.resource_version.clone(), ..WatchOptions::default() };
        let mut events = client.watch::<Pod>(Some("default"), &options).await.unwrap();

        step("changes after the list arrive in order");
        let created = client.create(&pod("default", "a", "x")).await.unwrap();
        client.patch::<Pod>("default", "a", &json!({"metadata": {"labels": {"v": "2"}}})).await.unwrap();
        client.delete::<Pod>("default", "a", &DeleteOptions::now()).await.unwrap();
        client.create(&pod("elsewhere", "b", "x")).await.unwrap();
        match events.next().await.unwrap().unwrap() {
            WatchEvent::Added(p) => assert_eq!(p, created),
            other => panic!("expected ADDED, got {other:?}"),
        }
        assert!(matches!(events.next().await.unwrap().unwrap(), WatchEvent::Modified(p) if p.metadata.labels["v"] == "2"));
        assert!(matches!(events.next().await.unwrap().unwrap(), WatchEvent::Deleted(p) if p.name() == "a"));

        step("a watch from a compacted version ends with Expired");
        shared.compact();
        let mut old = client.watch::<Pod>(Some("default"), &options).await.unwrap();
        let error = old.next().await.unwrap().unwrap_err();
        assert!(error.is_expired(), "{error:?}");
        assert!(old.next().await.is_none(), "the stream must end after an error");
    })
    .await;
}

#[tokio::test]
async fn json_layer_handles_any_kind_by_resource_name() {
    let (_shared, _server, client) = single().await;
    within(20, "JSON layer", async {
        let rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "crane", "labels": {"app": "crane"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "crane"}}}
        });
        let created = client.create_json("replicasets", "team", &rs).await.unwrap();
        assert_eq!(created["metadata"]["namespace"], "team");
        let mut watch = client
            .watch_json(
                "replicasets",
                Some("team"),
                &WatchOptions {
                    resource_version: created["metadata"]["resourceVersion"].as_str().unwrap().to_string(),
                    ..WatchOptions::default()
                },
            )
            .await
            .unwrap();
        let mut changed = client.get_json("replicasets", "team", "crane").await.unwrap();
        changed["spec"]["replicas"] = json!(5);
        let updated = client.update_json("replicasets", &changed).await.unwrap();
        assert_eq!(updated["spec"]["replicas"], 5);
        // A stale resourceVersion is a Conflict here too.
        assert!(client.update_json("replicasets", &changed).await.unwrap_err().is_conflict());
        let listed = client.list_json("replicasets", None, &ListOptions::default()).await.unwrap();
        assert_eq!(listed.items.len(), 1);
        assert!(matches!(watch.next().await.unwrap().unwrap(), WatchEvent::Modified(o) if o["spec"]["replicas"] == 5));
        // Nodes are cluster-scoped: the namespace given is dropped.
        client.create_json("nodes", "ignored", &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})).await.unwrap();
        assert_eq!(client.get_json("nodes", "", "n1").await.unwrap()["metadata"]["name"], "n1");
        let deleted = client.delete_json("replicasets", "team", "crane", &DeleteOptions::default()).await.unwrap();
        assert_eq!(deleted.unwrap()["metadata"]["name"], "crane");
        assert!(client.get_json("replicasets", "team", "crane").await.unwrap_err().is_not_found());
    })
    .await;
}
