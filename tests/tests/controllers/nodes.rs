//! A node dies: SIGKILL its nodelet. The node turns NotReady (Ready=Unknown), its pods are deleted, the ReplicationController's pods come back Running on the other nodes within 20 s, and a pod created by hand is not replaced.

use std::time::{Duration, Instant};

use skiff_api::meta::find_condition;
use skiff_api::types::{Container, Node, Pod, ReplicationController, Resource};
use skiff_testkit::{step, wait_for};

use crate::util::{
    cluster, fixture, live, nodes, pods, running, wait_event, wait_running, Runtime, Setup,
};

#[tokio::test]
async fn pods_of_a_dead_node_are_replaced_elsewhere() {
    let (mut cluster, admin) = cluster(Setup::new(nodes(&["n1", "n2", "n3"]), Runtime::Fake)).await;

    step("rc crane with 6 replicas, spread over the nodes; a hand-made pod on the victim node");
    let mut rc = fixture::<ReplicationController>("rc-crane.yaml");
    rc.spec.replicas = Some(6);
    admin.create(&rc).await.expect("create rc");
    let before = wait_running(&admin, "app=crane", 6, Duration::from_secs(30)).await;
    let victim = before[0].spec.node_name.clone();
    let on_victim = before.iter().filter(|p| p.spec.node_name == victim).count();
    let victims_pods: Vec<String> = before
        .iter()
        .filter(|p| p.spec.node_name == victim)
        .map(|p| p.metadata.uid.clone())
        .collect();
    let elsewhere: Vec<String> = before
        .iter()
        .filter(|p| p.spec.node_name != victim)
        .map(|p| p.metadata.uid.clone())
        .collect();
    let mut by_hand = Pod::named("default", "by-hand");
    by_hand
        .metadata
        .labels
        .insert("app".into(), "by-hand".into());
    by_hand.spec.node_name = victim.clone();
    by_hand.spec.containers.push(Container {
        name: "crane".into(),
        image: "heejeong/crane".into(),
        ..Container::default()
    });
    admin.create(&by_hand).await.expect("create pod");
    wait_running(&admin, "app=by-hand", 1, Duration::from_secs(30)).await;

    step(&format!(
        "SIGKILL nodelet-{victim} ({on_victim} of the 6 pods run there)"
    ));
    let killed = Instant::now();
    cluster.kill(&format!("nodelet-{victim}"));

    step("the node becomes NotReady: Ready=Unknown, NodeStatusUnknown");
    let node: Node = wait_for(
        &format!("{victim} to be Ready=Unknown"),
        Duration::from_secs(20),
        || async {
            let node: Node = admin.get("", &victim).await.ok()?;
            let ready = find_condition(&node.status.conditions, "Ready")?;
            (ready.status == "Unknown").then_some(node)
        },
    )
    .await;
    let ready = find_condition(&node.status.conditions, "Ready").expect("Ready condition");
    assert_eq!(ready.reason, "NodeStatusUnknown");
    assert_eq!(ready.message, "Kubelet stopped posting node status.");
    eprintln!(
        "node marked Unknown {:.1} s after the kill",
        killed.elapsed().as_secs_f64()
    );

    step("the rc's pods run on the other nodes within 20 s");
    let after = wait_for(
        "6 crane pods Running, none on the dead node",
        Duration::from_secs(20),
        || async {
            let all = pods(&admin, "app=crane").await;
            let live_pods: Vec<Pod> = all.iter().filter(|p| live(p)).cloned().collect();
            let ok = live_pods.len() == 6
                && live_pods
                    .iter()
                    .all(|p| running(p) && p.spec.node_name != victim);
            ok.then_some(live_pods)
        },
    )
    .await;
    let took = killed.elapsed();
    eprintln!(
        "pods of the dead node Running elsewhere {:.1} s after the kill",
        took.as_secs_f64()
    );
    assert!(took <= Duration::from_secs(20));
    assert!(after.iter().all(|p| p.spec.node_name != victim));
    wait_event(&admin, "NodeNotReady", &victim, Duration::from_secs(5)).await;

    step("the hand-made pod was deleted and is not replaced");
    wait_for(
        "the hand-made pod to be gone",
        Duration::from_secs(10),
        || async { pods(&admin, "app=by-hand").await.is_empty().then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(pods(&admin, "app=by-hand").await.is_empty());

    step("exactly the dead node's pods were replaced; the others kept running untouched");
    let uids: Vec<String> = after.iter().map(|p| p.metadata.uid.clone()).collect();
    assert!(
        victims_pods.iter().all(|uid| !uids.contains(uid)),
        "a pod of the dead node is still counted: {victims_pods:?} in {uids:?}"
    );
    assert!(
        elsewhere.iter().all(|uid| uids.contains(uid)),
        "a pod on a live node was replaced: {elsewhere:?} not all in {uids:?}"
    );
    assert_eq!(
        uids.iter().filter(|u| !elsewhere.contains(u)).count(),
        on_victim,
        "one replacement per pod of the dead node"
    );
    let node: Node = admin.get("", &victim).await.expect("the dead Node is kept");
    let ready = find_condition(&node.status.conditions, "Ready").expect("Ready condition");
    assert_eq!(ready.status, "Unknown", "the dead node stays NotReady");
    drop(cluster);
}
