//! `skiff-bench density`: a ClusterLoader2-like density run. Starts a whole cluster (3 store
//! members, apiserver, controller-manager, scheduler) with N hollow nodes in one nodelet
//! process, creates pods through ReplicationControllers at a given rate up to a target
//! count, and reports pod startup latency (watch: first seen -> Running), API latency per
//! verb, RSS and CPU of every component, the store's db size, and how long garbage
//! collection takes to remove every pod once the controllers are deleted.

mod objects;
pub mod plot;
mod record;
mod report;
mod startup;
mod usage;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use skiff_api::types::{Pod, ReplicationController};
use skiff_client::{Client, DeleteOptions, ListOptions};
use skiff_testkit::{ClusterSpec, NodeletSpec, TestCluster};
use tokio_util::sync::CancellationToken;

use crate::BenchError;
use startup::StartupTracker;

#[derive(Args, Debug, Clone)]
pub struct DensityArgs {
    /// Pods to create.
    #[arg(long, default_value_t = 1000)]
    pub pods: usize,
    /// Hollow nodes (`skiff-nodelet --runtime fake --hollow-nodes N`).
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Pods created per second (one ReplicationController of --pods-per-rc at a time).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Replicas of each ReplicationController.
    #[arg(long, default_value_t = 100)]
    pub pods_per_rc: usize,
    /// The store under the apiserver: skiff (this build's skiff-store) or etcd.
    #[arg(long, default_value = "skiff")]
    pub store: String,
    /// An etcd binary for --store etcd.
    #[arg(long, default_value = "/usr/bin/etcd")]
    pub etcd: PathBuf,
    /// How long every pod may take to run, and every pod to go, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Also append the run's figures as one JSON line to FILE (for `density-plot`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// Latency samples per API call.
type ApiTimings = BTreeMap<&'static str, Vec<Duration>>;

/// Times one API call into `timings`.
async fn timed<T>(
    timings: &mut ApiTimings,
    verb: &'static str,
    call: impl std::future::Future<Output = T>,
) -> T {
    let start = Instant::now();
    let out = call.await;
    timings.entry(verb).or_default().push(start.elapsed());
    out
}

/// Pod addresses of one hollow node: the usable hosts of its /24.
const POD_ADDRESSES_PER_NODE: usize = 254;

pub async fn run(args: DensityArgs) -> Result<(), BenchError> {
    if args.pods == 0 || args.nodes == 0 || args.pods_per_rc == 0 || args.rate <= 0.0 {
        return Err(BenchError::Invalid(
            "--pods, --nodes, --pods-per-rc and --rate must be greater than zero".into(),
        ));
    }
    let store_binary = match args.store.as_str() {
        "skiff" => None,
        "etcd" => Some(args.etcd.clone()),
        other => {
            return Err(BenchError::Invalid(format!(
                "--store: skiff or etcd, not {other:?}"
            )))
        }
    };
    // Each hollow node hands out pod addresses from its own /24 (254 of them), as a
    // Kubernetes node does from its podCIDR: more pods per node would wait forever for one.
    let per_node = args.pods.div_ceil(args.nodes);
    if per_node > POD_ADDRESSES_PER_NODE {
        return Err(BenchError::Invalid(format!(
            "{} pods on {} nodes is {per_node} per node, but a node has {POD_ADDRESSES_PER_NODE} \
             pod addresses (a /24): use --nodes {} or more",
            args.pods,
            args.nodes,
            args.pods.div_ceil(POD_ADDRESSES_PER_NODE)
        )));
    }
    let max_pods = (per_node * 2 + 10).min(POD_ADDRESSES_PER_NODE);
    let spec = ClusterSpec {
        store_binary,
        nodelets: vec![NodeletSpec::hollow("hollow", args.nodes)
            .arg("--max-pods")
            .arg(&max_pods.to_string())],
        ..ClusterSpec::full(Vec::new())
    };
    eprintln!("starting the cluster with {} hollow nodes", args.nodes);
    let cluster = TestCluster::start(spec).await;
    let admin = cluster.admin_client();
    let mut timings = ApiTimings::new();
    let limit = Duration::from_secs(args.timeout);

    let tracker = StartupTracker::default();
    let stop = CancellationToken::new();
    let from = admin
        .list::<Pod>(Some("default"), &ListOptions::default())
        .await?
        .resource_version;
    let watcher = tokio::spawn(startup::watch_pods(
        admin.clone(),
        "default".into(),
        from,
        tracker.clone(),
        stop.clone(),
    ));

    let controllers = args.pods.div_ceil(args.pods_per_rc);
    eprintln!(
        "creating {} pods in {controllers} ReplicationControllers at {}/s",
        args.pods, args.rate
    );
    let started = Instant::now();
    let mut left = args.pods;
    for i in 0..controllers {
        let replicas = left.min(args.pods_per_rc);
        left -= replicas;
        let rc = objects::controller(i, replicas);
        timed(&mut timings, "create rc", admin.create(&rc)).await?;
        let due = started + Duration::from_secs_f64(((args.pods - left) as f64) / args.rate);
        tokio::time::sleep_until(due.into()).await;
    }
    wait_until(limit, "every pod Running", || {
        tracker.running() >= args.pods
    })
    .await?;
    let all_running = started.elapsed();

    let usage: Vec<usage::Usage> = cluster
        .components()
        .iter()
        .filter_map(|name| usage::measure(name, cluster.pid(name)?))
        .collect();
    let db_size = store_db_size(&cluster).await;
    api_probes(&admin, &mut timings, controllers).await?;

    eprintln!("deleting the controllers");
    let deleting = Instant::now();
    for i in 0..controllers {
        let name = objects::controller_name(i);
        timed(
            &mut timings,
            "delete rc",
            admin.delete::<ReplicationController>("default", &name, &DeleteOptions::default()),
        )
        .await?;
    }
    // The watch says when every pod is gone; one list confirms it (and is polled, once a
    // second, should the watch have missed a deletion).
    wait_until(limit, "every pod seen deleted", || tracker.remaining() == 0).await?;
    let deadline = deleting + limit;
    while !admin
        .list::<Pod>(Some("default"), &ListOptions::labels(objects::LABEL))
        .await?
        .items
        .is_empty()
    {
        if Instant::now() > deadline {
            return Err(BenchError::timeout("every pod gone", limit));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let gc = deleting.elapsed();
    stop.cancel();
    let _ = watcher.await;

    let outcome = report::Outcome {
        all_running,
        startup: tracker.latencies(),
        timings,
        usage,
        db_size,
        gc,
    };
    print!("{}", report::text(&args, &outcome));
    if let Some(path) = &args.record {
        record::append(path, &report::run_record(&args, &outcome))?;
    }
    Ok(())
}

/// Polls `done` every 100 ms for at most `limit`.
async fn wait_until(
    limit: Duration,
    what: &str,
    done: impl Fn() -> bool,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return Err(BenchError::timeout(what, limit));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The read and update calls measured on the full cluster: lists of every pod, gets of single
/// pods, and updates of the controllers' labels.
async fn api_probes(
    admin: &Client,
    timings: &mut ApiTimings,
    controllers: usize,
) -> Result<(), BenchError> {
    let everything = ListOptions::default();
    let mut names = Vec::new();
    for _ in 0..5 {
        let list = timed(
            timings,
            "list pods (all)",
            admin.list::<Pod>(Some("default"), &everything),
        )
        .await?;
        names = list.items.into_iter().map(|p| p.metadata.name).collect();
    }
    for name in names.iter().step_by((names.len() / 50).max(1)) {
        timed(timings, "get pod", admin.get::<Pod>("default", name)).await?;
    }
    for i in 0..controllers.min(20) {
        let mut rc: ReplicationController =
            admin.get("default", &objects::controller_name(i)).await?;
        rc.metadata
            .labels
            .insert("density-probe".into(), "updated".into());
        timed(timings, "update rc", admin.update(&rc)).await?;
    }
    Ok(())
}

/// The first store member's db size, if it answers.
async fn store_db_size(cluster: &TestCluster) -> Option<i64> {
    let url = cluster.store_endpoints().into_iter().next()?;
    let status =
        skiff_testkit::store::status(&url, cluster.store_tls(), Duration::from_secs(5)).await?;
    Some(status.db_size)
}
