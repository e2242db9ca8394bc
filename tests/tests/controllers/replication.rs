//! The ReplicationController chapter of the notes: keep 3, replace a deleted pod, release a relabelled pod, move a pod to another controller, scale, change the template, delete with --cascade=orphan and let a ReplicaSet adopt the pods.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use skiff_api::types::{Pod, ReplicaSet, ReplicationController, Resource};
use skiff_client::{DeleteOptions, Propagation};
use skiff_testkit::{step, wait_for};

use crate::util::{
    cluster, controller_uid, fixture, live, nodes, pods, wait_event, wait_running, Runtime, Setup,
};

const WITHIN: Duration = Duration::from_secs(30);

fn names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter().map(|p| p.metadata.name.clone()).collect()
}

#[tokio::test]
async fn replication_controller_follows_the_notes() {
    let (cluster, admin) = cluster(Setup::new(nodes(&["n1", "n2"]), Runtime::Fake)).await;

    step("create rc crane (3 replicas): 3 pods named crane-xxxxx, owned by it");
    let rc = admin
        .create(&fixture::<ReplicationController>("rc-crane.yaml"))
        .await
        .expect("create rc");
    let first = wait_running(&admin, "app=crane", 3, WITHIN).await;
    for pod in &first {
        assert!(
            pod.metadata.name.starts_with("crane-")
                && pod.metadata.name.len() == "crane-".len() + 5,
            "{}",
            pod.metadata.name
        );
        assert_eq!(
            controller_uid(pod).as_deref(),
            Some(rc.metadata.uid.as_str())
        );
    }
    let created = wait_event(&admin, "SuccessfulCreate", "crane", WITHIN).await;
    assert_eq!(created.source.component, "replication-controller");
    wait_for("rc status to count 3 ready replicas", WITHIN, || async {
        let rc: ReplicationController = admin.get("default", "crane").await.ok()?;
        (rc.status.replicas == 3
            && rc.status.ready_replicas == 3
            && rc.status.observed_generation == rc.metadata.generation)
            .then_some(())
    })
    .await;

    step("delete a pod: a replacement appears");
    let victim = first[0].metadata.name.clone();
    admin
        .delete::<Pod>("default", &victim, &DeleteOptions::default())
        .await
        .expect("delete pod");
    let replaced = wait_running(&admin, "app=crane", 3, WITHIN).await;
    assert!(!names(&replaced).contains(&victim));

    step("relabel a pod out of the selector: it keeps running unmanaged, and is replaced");
    let released = replaced[0].metadata.name.clone();
    admin
        .patch::<Pod>(
            "default",
            &released,
            &json!({"metadata": {"labels": {"app": "foo"}}}),
        )
        .await
        .expect("relabel");
    wait_running(&admin, "app=crane", 3, WITHIN).await;
    let unmanaged: Pod = wait_for("the relabelled pod to lose its owner", WITHIN, || async {
        let p: Pod = admin.get("default", &released).await.ok()?;
        p.metadata.owner_references.is_empty().then_some(p)
    })
    .await;
    assert!(live(&unmanaged) && unmanaged.status.phase == "Running");

    step("relabel a pod into another controller's selector: it moves there");
    let mut other = fixture::<ReplicationController>("rc-crane.yaml");
    other.metadata.name = "crane-b".into();
    other.metadata.labels.clear();
    other.spec.replicas = Some(1);
    other.spec.selector = [("app".to_string(), "crane-b".to_string())].into();
    other.spec.template.metadata.labels = other.spec.selector.clone();
    // crane-b's own pod becomes ready later than crane's pods, so of its two pods after the
    // move it is the one deleted (ready for a shorter time goes first).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let other = admin.create(&other).await.expect("create rc crane-b");
    let own = wait_running(&admin, "app=crane-b", 1, WITHIN).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let moved = pods(&admin, "app=crane")
        .await
        .into_iter()
        .find(live)
        .expect("a crane pod")
        .metadata
        .name;
    admin
        .patch::<Pod>(
            "default",
            &moved,
            &json!({"metadata": {"labels": {"app": "crane-b"}}}),
        )
        .await
        .expect("relabel");
    wait_for(
        "the moved pod to be owned by crane-b, and crane-b's own pod to go",
        WITHIN,
        || async {
            let p: Pod = admin.get("default", &moved).await.ok()?;
            let b: Vec<Pod> = pods(&admin, "app=crane-b")
                .await
                .into_iter()
                .filter(live)
                .collect();
            (controller_uid(&p).as_deref() == Some(other.metadata.uid.as_str())
                && names(&b) == BTreeSet::from([moved.clone()]))
            .then_some(())
        },
    )
    .await;
    assert_ne!(own[0].metadata.name, moved);
    wait_running(&admin, "app=crane", 3, WITHIN).await;

    step("scale to 10, then back to 3");
    admin
        .update_scale("replicationcontrollers", "default", "crane", 10, None)
        .await
        .expect("scale up");
    wait_running(&admin, "app=crane", 10, WITHIN).await;
    admin
        .update_scale("replicationcontrollers", "default", "crane", 3, None)
        .await
        .expect("scale down");
    let three = wait_running(&admin, "app=crane", 3, WITHIN).await;

    step("change the template: existing pods keep theirs, new pods get the new one");
    admin
        .patch::<ReplicationController>("default", "crane", &json!({"spec": {"template": {"metadata": {"labels": {"app": "crane", "version": "v2"}}}}}))
        .await
        .expect("edit template");
    wait_for(
        "status.fullyLabeledReplicas to drop to 0",
        WITHIN,
        || async {
            let rc: ReplicationController = admin.get("default", "crane").await.ok()?;
            (rc.status.fully_labeled_replicas == 0 && rc.status.replicas == 3).then_some(())
        },
    )
    .await;
    let same = wait_running(&admin, "app=crane", 3, WITHIN).await;
    assert_eq!(
        names(&same),
        names(&three),
        "a template change alone creates or deletes nothing"
    );
    admin
        .delete::<Pod>(
            "default",
            &three[0].metadata.name,
            &DeleteOptions::default(),
        )
        .await
        .expect("delete pod");
    let after = wait_running(&admin, "app=crane", 3, WITHIN).await;
    let new: Vec<&Pod> = after
        .iter()
        .filter(|p| !names(&three).contains(&p.metadata.name))
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(
        new[0].metadata.labels.get("version").map(String::as_str),
        Some("v2")
    );
    assert!(after
        .iter()
        .filter(|p| names(&three).contains(&p.metadata.name))
        .all(|p| !p.metadata.labels.contains_key("version")));

    step("delete rc crane with --cascade=orphan: the pods stay, without owner");
    admin
        .delete::<ReplicationController>(
            "default",
            "crane",
            &DeleteOptions::propagation(Propagation::Orphan),
        )
        .await
        .expect("delete rc");
    wait_for("rc crane to be gone", WITHIN, || async {
        admin
            .get_opt::<ReplicationController>("default", "crane")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    let orphans = wait_for("the pods to be orphaned", WITHIN, || async {
        let ps: Vec<Pod> = pods(&admin, "app=crane")
            .await
            .into_iter()
            .filter(live)
            .collect();
        (ps.len() == 3 && ps.iter().all(|p| p.metadata.owner_references.is_empty())).then_some(ps)
    })
    .await;
    assert_eq!(names(&orphans), names(&after));

    step("a ReplicaSet with a matching selector adopts them, creating nothing");
    let rs = admin
        .create(&fixture::<ReplicaSet>("rs-crane.yaml"))
        .await
        .expect("create rs");
    wait_for("the ReplicaSet to adopt the three pods", WITHIN, || async {
        let ps: Vec<Pod> = pods(&admin, "app=crane")
            .await
            .into_iter()
            .filter(live)
            .collect();
        let adopted = ps
            .iter()
            .all(|p| controller_uid(p).as_deref() == Some(rs.metadata.uid.as_str()));
        (adopted && names(&ps) == names(&orphans)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = wait_running(&admin, "app=crane", 3, WITHIN).await;
    assert_eq!(
        names(&settled),
        names(&orphans),
        "adoption replaced nothing"
    );

    step("the relabelled pod is still running, unmanaged");
    let p: Pod = admin.get("default", &released).await.expect("released pod");
    assert!(live(&p) && p.metadata.owner_references.is_empty());
    assert!(rs.name() == "crane");
    drop(cluster);
}
