//! Shared set-up of the controller scenarios: clusters with short controller timings, the seed fixtures, pod queries, and a watch-based tally of pods.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skiff_api::manifest::parse_manifests;
use skiff_api::types::{EnvVar, Event, Pod, PodTemplateSpec, Resource};
use skiff_client::{Client, ListOptions};
use skiff_runtime::informer::{Event as InformerEvent, Informer, InformerConfig};
use skiff_testkit::cluster::FAST_LEADER_ELECTION;
use skiff_testkit::{step, wait_for, ClusterSpec, NodeletSpec, TestCluster};
use tokio_util::sync::CancellationToken;

/// Fast failover ([`FAST_LEADER_ELECTION`]) and node failure detection: a node is Unknown
/// 4 s after its last heartbeat and loses its pods 2 s later.
pub const CONTROLLER_MANAGER_ARGS: [&str; 8] = [
    "--node-monitor-grace-period",
    "4s",
    "--pod-eviction-timeout",
    "2s",
    "--job-backoff-base",
    "1s",
    "--resync-period",
    "10s",
];

/// How the nodes run containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// Hollow nodes: containers only pretend to run (nothing survives the test).
    Fake,
    /// Real processes; luksa/batch-job works `batch_seconds` seconds.
    Process { batch_seconds: u32 },
}

/// What a scenario runs: nodes, their runtime, how many controller-managers.
pub struct Setup {
    pub nodes: Vec<NodeletSpec>,
    pub runtime: Runtime,
    pub controller_managers: usize,
    pub extra_nodelet_args: Vec<String>,
}

impl Setup {
    pub fn new(nodes: Vec<NodeletSpec>, runtime: Runtime) -> Setup {
        Setup {
            nodes,
            runtime,
            controller_managers: 1,
            extra_nodelet_args: Vec::new(),
        }
    }
}

pub fn nodes(names: &[&str]) -> Vec<NodeletSpec> {
    names.iter().map(|n| NodeletSpec::new(n)).collect()
}

/// Starts the cluster: store x3, apiserver, scheduler, controller-manager(s), the nodes.
pub async fn cluster(setup: Setup) -> (TestCluster, Client) {
    let mut nodelet_args: Vec<String> = vec!["--heartbeat-interval".into(), "1s".into()];
    let mut nodelet_env = Vec::new();
    match setup.runtime {
        Runtime::Fake => nodelet_args.extend(["--runtime".into(), "fake".into()]),
        Runtime::Process { batch_seconds } => {
            nodelet_env.push((
                "SKIFF_BATCH_JOB_SECONDS".to_string(),
                batch_seconds.to_string(),
            ));
        }
    }
    nodelet_args.extend(setup.extra_nodelet_args);
    let spec = ClusterSpec {
        schedulers: 1,
        controller_managers: setup.controller_managers,
        nodelets: setup.nodes,
        scheduler_args: FAST_LEADER_ELECTION.iter().map(|s| s.to_string()).collect(),
        controller_manager_args: FAST_LEADER_ELECTION
            .iter()
            .chain(&CONTROLLER_MANAGER_ARGS)
            .map(|s| s.to_string())
            .collect(),
        nodelet_args,
        nodelet_env,
        ..ClusterSpec::default()
    };
    step(&format!(
        "start a cluster with {} node(s), {:?} runtime",
        spec.nodelets.len(),
        setup.runtime
    ));
    let cluster = TestCluster::start(spec).await;
    let admin = cluster.admin_client();
    (cluster, admin)
}

/// A seed manifest (`fixtures/seed/<file>`), decoded as `T`, in namespace `default`.
pub fn fixture<T: Resource>(file: &str) -> T {
    let path = format!("{}/../fixtures/seed/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let docs = parse_manifests(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
    let mut object: T =
        serde_json::from_value(docs[0].clone()).unwrap_or_else(|e| panic!("decode {path}: {e}"));
    object.metadata_mut().namespace = "default".to_string();
    object
}

/// Makes luksa/batch-job in `template` work `seconds` seconds, through the container's own
/// environment (the nodes get `SKIFF_BATCH_JOB_SECONDS` too, see [`Runtime::Process`]; the
/// container entry does not depend on a node passing its environment on).
pub fn batch_seconds(template: &mut PodTemplateSpec, seconds: u32) {
    for container in &mut template.spec.containers {
        container
            .env
            .retain(|e| e.name != "SKIFF_BATCH_JOB_SECONDS");
        container.env.push(EnvVar {
            name: "SKIFF_BATCH_JOB_SECONDS".into(),
            value: seconds.to_string(),
            value_from: None,
        });
    }
}

/// The pods of `default` matching `selector`, in every state.
pub async fn pods(admin: &Client, selector: &str) -> Vec<Pod> {
    admin
        .list::<Pod>(Some("default"), &ListOptions::labels(selector))
        .await
        .expect("list pods")
        .items
}

/// Neither finished nor being deleted.
pub fn live(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod.status.phase != "Succeeded"
        && pod.status.phase != "Failed"
}

pub fn running(pod: &Pod) -> bool {
    live(pod) && pod.status.phase == "Running"
}

/// The uid of the pod's controller, if it has one.
pub fn controller_uid(pod: &Pod) -> Option<String> {
    pod.metadata.controller_ref().map(|r| r.uid.clone())
}

/// Waits until exactly `n` live pods match `selector` and all of them are Running; returns them.
pub async fn wait_running(admin: &Client, selector: &str, n: usize, within: Duration) -> Vec<Pod> {
    wait_for(
        &format!("{n} running pods with {selector}"),
        within,
        || async move {
            let live: Vec<Pod> = pods(admin, selector)
                .await
                .into_iter()
                .filter(live)
                .collect();
            (live.len() == n && live.iter().all(running)).then_some(live)
        },
    )
    .await
}

/// Events in `default` with `reason`.
pub async fn events(admin: &Client, reason: &str) -> Vec<Event> {
    let all = admin
        .list::<Event>(Some("default"), &ListOptions::default())
        .await
        .expect("list events")
        .items;
    all.into_iter().filter(|e| e.reason == reason).collect()
}

/// Waits for an event with `reason` about the object named `name`.
pub async fn wait_event(admin: &Client, reason: &str, name: &str, within: Duration) -> Event {
    wait_for(
        &format!("a {reason} event about {name}"),
        within,
        || async move {
            events(admin, reason)
                .await
                .into_iter()
                .find(|e| e.involved_object.name == name)
        },
    )
    .await
}

/// What a watch saw of a set of pods: every pod ever created, and the most that existed at
/// once (terminating pods count: they still exist).
#[derive(Debug, Default)]
pub struct Tally {
    pub created: HashSet<String>,
    pub existing: HashSet<String>,
    pub max_existing: usize,
}

/// Counts the pods matching `selector` through an informer until the returned token is
/// cancelled. Starts from an empty namespace, so every pod it sees was created after it.
pub async fn tally_pods(admin: &Client, selector: &str) -> (Arc<Mutex<Tally>>, CancellationToken) {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut informer: Informer<Pod> = Informer::new(
        admin.clone(),
        InformerConfig::default()
            .namespace("default")
            .labels(selector),
    );
    let counts = tally.clone();
    informer.on_event(move |event| {
        let mut t = counts.lock().expect("tally");
        let uid = event.object().metadata.uid.clone();
        match event {
            InformerEvent::Added(_) | InformerEvent::Updated { .. } => {
                t.created.insert(uid.clone());
                t.existing.insert(uid);
            }
            InformerEvent::Deleted(_) => {
                t.existing.remove(&uid);
            }
        }
        t.max_existing = t.max_existing.max(t.existing.len());
    });
    let store = informer.store();
    let cancel = CancellationToken::new();
    tokio::spawn(informer.run(cancel.clone()));
    tokio::time::timeout(Duration::from_secs(10), store.wait_synced())
        .await
        .expect("pod informer synced");
    (tally, cancel)
}
