//! Two schedulers, one acting: SIGKILL the leader and the standby takes the lease once it
//! expires, then schedules new pods.

use std::time::{Duration, Instant};

use skiff_runtime::leader::read_leader;
use skiff_testkit::{step, wait_for};

use crate::util::{cluster, pod, wait_bound};

#[tokio::test(flavor = "multi_thread")]
async fn the_standby_scheduler_takes_over_when_the_leader_is_killed() {
    let (mut cluster, admin) = cluster(2).await;
    let scenario = async {
        step("one scheduler holds the lease and schedules");
        let leader = wait_for(
            "a scheduler to hold the lease",
            Duration::from_secs(20),
            || async {
                read_leader(&admin, "kube-system", "skiff-scheduler")
                    .await
                    .ok()??
                    .holder
            },
        )
        .await;
        assert!(
            leader == "scheduler-1" || leader == "scheduler-2",
            "{leader}"
        );
        let standby = if leader == "scheduler-1" {
            "scheduler-2"
        } else {
            "scheduler-1"
        };
        admin.create(&pod("before", &[])).await.expect("create pod");
        wait_bound(&admin, "before", Duration::from_secs(20)).await;
        assert!(
            !cluster.log(standby).contains("became leader"),
            "the standby must not act"
        );

        step(&format!("SIGKILL the leader ({leader})"));
        cluster.kill(&leader);
        let killed = Instant::now();
        admin.create(&pod("after", &[])).await.expect("create pod");

        step(&format!(
            "{standby} takes over after the lease expires and schedules the new pod"
        ));
        wait_bound(&admin, "after", Duration::from_secs(20)).await;
        let took = killed.elapsed();
        let holder = read_leader(&admin, "kube-system", "skiff-scheduler")
            .await
            .expect("read lease")
            .and_then(|l| l.holder);
        assert_eq!(holder.as_deref(), Some(standby));
        assert!(cluster.log(standby).contains("became leader"));
        eprintln!("new pod bound {took:?} after the leader was killed (lease duration 4s)");
    };
    tokio::time::timeout(Duration::from_secs(120), scenario)
        .await
        .expect("scenario timed out");
    drop(cluster);
}
