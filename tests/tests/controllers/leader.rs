//! Two controller-managers, one leading. SIGKILL the leader while it scales a ReplicationController from 0 to 50: the standby takes over and finishes, and at no moment do more than 50 pods exist.

use std::time::Duration;

use skiff_api::types::ReplicationController;
use skiff_runtime::leader::read_leader;
use skiff_testkit::{step, wait_for, NodeletSpec};

use crate::util::{cluster, fixture, tally_pods, wait_running, Runtime, Setup};

#[tokio::test]
async fn leader_killed_mid_scale_never_overshoots() {
    let setup = Setup {
        controller_managers: 2,
        ..Setup::new(
            vec![
                NodeletSpec::new("n1").arg("--max-pods").arg("100"),
                NodeletSpec::new("n2").arg("--max-pods").arg("100"),
            ],
            Runtime::Fake,
        )
    };
    let (mut cluster, admin) = cluster(setup).await;

    step("wait for a controller-manager to lead");
    let leader = wait_for(
        "a controller-manager leader",
        Duration::from_secs(20),
        || async {
            read_leader(&admin, "kube-system", "skiff-controller-manager")
                .await
                .ok()??
                .holder
        },
    )
    .await;
    eprintln!("leader: {leader}");

    step("rc crane with 0 replicas; count its pods with a watch");
    let (tally, stop) = tally_pods(&admin, "app=crane").await;
    let mut rc = fixture::<ReplicationController>("rc-crane.yaml");
    rc.spec.replicas = Some(0);
    admin.create(&rc).await.expect("create rc");

    step("scale to 50, and SIGKILL the leader as soon as its first pods appear");
    admin
        .update_scale("replicationcontrollers", "default", "crane", 50, None)
        .await
        .expect("scale");
    let at_kill = wait_for("the first pods", Duration::from_secs(20), || async {
        let n = tally.lock().expect("tally").created.len();
        (n > 0).then_some(n)
    })
    .await;
    cluster.kill(&leader);
    eprintln!("killed {leader} with {at_kill} pods created");

    step("the standby takes over and finishes: 50 pods Running");
    let standby = wait_for("a new leader", Duration::from_secs(30), || async {
        let holder = read_leader(&admin, "kube-system", "skiff-controller-manager")
            .await
            .ok()??
            .holder?;
        (holder != leader).then_some(holder)
    })
    .await;
    eprintln!("new leader: {standby}");
    wait_running(&admin, "app=crane", 50, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    let t = tally.lock().expect("tally");
    eprintln!(
        "pods created: {}, most existing at once: {}",
        t.created.len(),
        t.max_existing
    );
    assert!(
        t.max_existing <= 50,
        "{} pods existed at once",
        t.max_existing
    );
    assert_eq!(t.created.len(), 50, "every pod created was needed");
    drop(cluster);
}
