//! A short density run, Kubernetes' ClusterLoader2 idea at CI size: 10 hollow nodes in one
//! nodelet process (`--runtime fake --hollow-nodes 10`, kubemark's idea), 500 pods through
//! five ReplicationControllers. Every pod must reach Running on a hollow node, and deleting
//! the controllers must clean every pod up. The full runs (1 000 to 10 000 pods) are
//! benchmarks, not tests.

use std::collections::BTreeSet;
use std::time::Duration;

use skiff_api::manifest::parse_manifests;
use skiff_api::types::{Lease, Node, Pod, ReplicationController};
use skiff_client::{DeleteOptions, ListOptions};
use skiff_testkit::{step, wait_for, ClusterSpec, NodeletSpec, TestCluster};

const NODES: usize = 10;
const CONTROLLERS: usize = 5;
const REPLICAS: usize = 100;

/// rc-crane.yaml as `density-<i>`, selecting `density=<i>`.
fn controller(i: usize) -> ReplicationController {
    let path = format!(
        "{}/../fixtures/seed/rc-crane.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("rc-crane.yaml");
    let doc = parse_manifests(&text)
        .expect("parse rc-crane.yaml")
        .remove(0);
    let mut rc: ReplicationController = serde_json::from_value(doc).expect("decode the RC");
    rc.metadata.name = format!("density-{i}");
    rc.metadata.namespace = "default".into();
    let labels = [("density".to_string(), i.to_string())].into();
    rc.spec.selector = labels;
    rc.spec.template.metadata.labels = rc.spec.selector.clone();
    rc.spec.replicas = Some(REPLICAS as i32);
    rc
}

#[tokio::test]
async fn ten_hollow_nodes_run_500_pods_and_clean_up() {
    let spec = ClusterSpec {
        schedulers: 1,
        controller_managers: 1,
        nodelets: vec![NodeletSpec::hollow("hollow", NODES)],
        ..ClusterSpec::default()
    };
    step("start a cluster with 10 hollow nodes in one nodelet process");
    let tc = TestCluster::start(spec).await;
    let admin = tc.admin_client();

    let nodes = admin
        .list::<Node>(None, &ListOptions::default())
        .await
        .expect("list nodes")
        .items;
    let names: BTreeSet<String> = nodes.iter().map(|n| n.metadata.name.clone()).collect();
    let expected: BTreeSet<String> = (0..NODES).map(|i| format!("hollow-{i}")).collect();
    assert_eq!(names, expected, "every hollow node registered itself");
    wait_for(
        "a Lease of every hollow node",
        Duration::from_secs(30),
        || {
            let (admin, expected) = (admin.clone(), expected.clone());
            async move {
                let leases = admin
                    .list::<Lease>(Some("kube-node-lease"), &ListOptions::default())
                    .await
                    .ok()?
                    .items;
                let holders: BTreeSet<String> =
                    leases.iter().map(|l| l.metadata.name.clone()).collect();
                (holders == expected).then_some(())
            }
        },
    )
    .await;

    step("create 5 ReplicationControllers of 100 replicas");
    for i in 0..CONTROLLERS {
        admin.create(&controller(i)).await.expect("create rc");
    }
    let running_on = wait_for("500 pods Running", Duration::from_secs(300), || {
        let admin = admin.clone();
        async move {
            let pods = admin
                .list::<Pod>(Some("default"), &ListOptions::labels("density"))
                .await
                .ok()?
                .items;
            let running: Vec<&Pod> = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| p.status.phase == "Running")
                .collect();
            (running.len() == CONTROLLERS * REPLICAS).then(|| {
                running
                    .iter()
                    .map(|p| p.spec.node_name.clone())
                    .collect::<BTreeSet<_>>()
            })
        }
    })
    .await;
    assert!(
        running_on.is_subset(&expected) && running_on.len() == NODES,
        "pods run on every hollow node and nowhere else: {running_on:?}"
    );

    step("delete the controllers: the garbage collector removes every pod");
    for i in 0..CONTROLLERS {
        admin
            .delete::<ReplicationController>(
                "default",
                &format!("density-{i}"),
                &DeleteOptions::default(),
            )
            .await
            .expect("delete rc");
    }
    wait_for("every pod gone", Duration::from_secs(300), || {
        let admin = admin.clone();
        async move {
            let pods = admin
                .list::<Pod>(Some("default"), &ListOptions::labels("density"))
                .await
                .ok()?;
            pods.items.is_empty().then_some(())
        }
    })
    .await;
}
