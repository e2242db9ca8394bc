//! Benchmarks (ignored by default; run with `cargo nextest run -p skiff-e2e --test controllers --run-ignored only`): a ReplicaSet of 1000 replicas on hollow nodes, and the time from SIGKILL of a node to its pods Running elsewhere.

use std::time::{Duration, Instant};

use skiff_api::types::{Pod, ReplicaSet};
use skiff_client::ListOptions;
use skiff_testkit::{step, wait_for, NodeletSpec};

use crate::util::{cluster, fixture, live, running, tally_pods, Runtime, Setup};

const REPLICAS: usize = 1000;
const NODES: usize = 5;

#[tokio::test]
#[ignore = "benchmark: starts 1000 pods"]
async fn bench_replica_set_of_1000() {
    let nodes = (1..=NODES)
        .map(|i| {
            NodeletSpec::new(&format!("n{i}"))
                .arg("--max-pods")
                .arg("400")
        })
        .collect();
    let (mut cluster, admin) = cluster(Setup::new(nodes, Runtime::Fake)).await;
    let (tally, stop) = tally_pods(&admin, "app=crane").await;
    let all_running = |admin: skiff_client::Client, avoid: Option<String>| async move {
        let pods = admin
            .list::<Pod>(Some("default"), &ListOptions::labels("app=crane"))
            .await
            .ok()?
            .items;
        let live_pods: Vec<&Pod> = pods.iter().filter(|p| live(p)).collect();
        let ok = live_pods.len() == REPLICAS
            && live_pods
                .iter()
                .all(|p| running(p) && avoid.as_deref() != Some(p.spec.node_name.as_str()));
        ok.then_some(
            pods.iter()
                .filter(|p| live(p))
                .map(|p| p.spec.node_name.clone())
                .collect::<Vec<_>>(),
        )
    };

    step("create a ReplicaSet of 1000 replicas");
    let mut rs = fixture::<ReplicaSet>("rs-crane.yaml");
    rs.spec.replicas = Some(REPLICAS as i32);
    let start = Instant::now();
    admin.create(&rs).await.expect("create rs");
    let placement = wait_for("1000 pods Running", Duration::from_secs(600), || {
        all_running(admin.clone(), None)
    })
    .await;
    let took = start.elapsed();
    let created = tally.lock().expect("tally").created.len();
    eprintln!(
        "BENCH replicaset-1000: all {REPLICAS} Running after {:.2} s; pod creations: {created}",
        took.as_secs_f64()
    );
    assert_eq!(created, REPLICAS, "exactly one creation per replica");

    let victim = "n1".to_string();
    let on_victim = placement.iter().filter(|n| **n == victim).count();
    step(&format!(
        "SIGKILL nodelet-{victim}, which runs {on_victim} pods"
    ));
    let killed = Instant::now();
    cluster.kill(&format!("nodelet-{victim}"));
    wait_for(
        "1000 pods Running, none on n1",
        Duration::from_secs(300),
        || all_running(admin.clone(), Some(victim.clone())),
    )
    .await;
    let recovered = killed.elapsed();
    eprintln!(
        "BENCH node-kill: {on_victim} pods of the killed node Running elsewhere after {:.2} s",
        recovered.as_secs_f64()
    );
    stop.cancel();
    let t = tally.lock().expect("tally");
    assert_eq!(
        t.created.len(),
        REPLICAS + on_victim,
        "one replacement per evicted pod"
    );
    drop(cluster);
}
