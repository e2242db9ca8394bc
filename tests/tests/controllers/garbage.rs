//! ReplicaSets with matchExpressions, hand-made pods, and the three ways of deleting an owner: Background (the garbage collector deletes the pods), Foreground (pods first, then the owner), Orphan (in `replication.rs`).

use std::time::Duration;

use skiff_api::types::{Container, Pod, ReplicaSet, Resource};
use skiff_client::{DeleteOptions, Propagation};
use skiff_testkit::{step, wait_for};

use crate::util::{
    cluster, controller_uid, fixture, live, nodes, pods, wait_running, Runtime, Setup,
};

const WITHIN: Duration = Duration::from_secs(30);

fn hand_made(name: &str, labels: &[(&str, &str)]) -> Pod {
    let mut pod = Pod::named("default", name);
    pod.metadata.labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pod.spec.containers.push(Container {
        name: "crane".into(),
        image: "heejeong/crane".into(),
        ..Container::default()
    });
    pod
}

#[tokio::test]
async fn replica_sets_and_garbage_collection() {
    let (cluster, admin) = cluster(Setup::new(nodes(&["n1", "n2"]), Runtime::Fake)).await;

    step("a ReplicaSet selecting with matchExpressions: app in (crane-expr), env notin (dev)");
    let rs = admin
        .create(&fixture::<ReplicaSet>("rs-crane-matchexpressions.yaml"))
        .await
        .expect("create rs");
    wait_running(&admin, "app=crane-expr", 3, WITHIN).await;

    step(
        "a hand-made pod with env=dev is not selected; one with env=production is, and is surplus",
    );
    admin
        .create(&hand_made(
            "dev-pod",
            &[("app", "crane-expr"), ("env", "dev")],
        ))
        .await
        .expect("dev pod");
    admin
        .create(&hand_made(
            "prod-pod",
            &[("app", "crane-expr"), ("env", "production")],
        ))
        .await
        .expect("prod pod");
    wait_for(
        "the ReplicaSet to own exactly 3 live pods again",
        WITHIN,
        || async {
            let owned: Vec<Pod> = pods(&admin, "app=crane-expr")
                .await
                .into_iter()
                .filter(|p| {
                    live(p) && controller_uid(p).as_deref() == Some(rs.metadata.uid.as_str())
                })
                .collect();
            (owned.len() == 3).then_some(())
        },
    )
    .await;
    let dev: Pod = admin.get("default", "dev-pod").await.expect("dev pod");
    assert!(
        live(&dev) && dev.metadata.owner_references.is_empty(),
        "env=dev is not selected"
    );

    step("delete the ReplicaSet (Background): the garbage collector deletes its pods");
    admin
        .delete::<ReplicaSet>("default", "crane-expr", &DeleteOptions::default())
        .await
        .expect("delete rs");
    wait_for("the ReplicaSet's pods to go", WITHIN, || async {
        let left: Vec<Pod> = pods(&admin, "app=crane-expr")
            .await
            .into_iter()
            .filter(|p| p.metadata.name != "dev-pod")
            .collect();
        left.is_empty().then_some(())
    })
    .await;
    let dev: Pod = admin
        .get("default", "dev-pod")
        .await
        .expect("the unselected pod stays");
    assert!(live(&dev));

    step("delete a ReplicaSet in the Foreground: its pods go first, then it");
    let mut fg = fixture::<ReplicaSet>("rs-crane.yaml");
    fg.metadata.name = "crane-fg".into();
    let fg = admin.create(&fg).await.expect("create rs");
    wait_running(&admin, "app=crane", 3, WITHIN).await;
    let marked = admin
        .delete::<ReplicaSet>(
            "default",
            "crane-fg",
            &DeleteOptions::propagation(Propagation::Foreground),
        )
        .await
        .expect("delete rs")
        .expect("the ReplicaSet is kept while its pods go");
    assert!(
        marked
            .metadata
            .finalizers
            .iter()
            .any(|f| f == "foregroundDeletion"),
        "{:?}",
        marked.metadata.finalizers
    );
    wait_for(
        "the pods, then the ReplicaSet, to be gone",
        WITHIN,
        || async {
            let rs: Option<ReplicaSet> = admin.get_opt("default", "crane-fg").await.ok()?;
            let left = pods(&admin, "app=crane").await;
            if let Some(rs) = &rs {
                // While the owner exists, it must not have lost its finalizer with pods left.
                assert!(
                    left.is_empty()
                        || rs
                            .metadata
                            .finalizers
                            .iter()
                            .any(|f| f == "foregroundDeletion")
                );
            }
            (rs.is_none() && left.is_empty()).then_some(())
        },
    )
    .await;
    assert_eq!(fg.metadata.name, "crane-fg");
    assert!(rs.name() == "crane-expr");
    drop(cluster);
}
