//! Scaffolding for the pod scenarios: a cluster with two (or more) nodelets whose container
//! processes are killed by PID when the test ends, pod builders, and waits on pods, events
//! and logs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::types::{ContainerStatus, Event, Pod};
use skiff_client::{Client, ListOptions, LogOptions};
use skiff_testkit::{step, wait_for, ClusterSpec, NodeletSpec, TestCluster};
use tonic::codegen::tokio_stream::StreamExt;

/// Flags every nodelet of these scenarios gets: fast back-off and heartbeats.
pub const FAST: [&str; 4] = [
    "--crashloop-backoff-base",
    "1s",
    "--heartbeat-interval",
    "1s",
];

/// A running cluster (the harness kills its processes and containers when it is dropped).
pub struct Cluster {
    pub tc: TestCluster,
    pub admin: Client,
    nodelets: Vec<String>,
}

impl Cluster {
    /// 3 store members, an apiserver and one nodelet per spec (each with [`FAST`]).
    pub async fn start(nodelets: Vec<NodeletSpec>) -> Cluster {
        step("starting the cluster");
        Cluster::start_with(nodelets, false).await
    }

    /// Like [`Cluster::start`] with pod sandboxes (needs root): namespaces, the cluster's
    /// own pod network and bridges, cgroups.
    #[allow(dead_code)] // used by the sandbox scenarios only
    pub async fn start_sandboxed(nodelets: Vec<NodeletSpec>) -> Cluster {
        step("starting a sandboxed cluster");
        Cluster::start_with(nodelets, true).await
    }

    async fn start_with(nodelets: Vec<NodeletSpec>, sandboxed: bool) -> Cluster {
        let names = nodelets.iter().map(|n| n.name.clone()).collect();
        let spec = ClusterSpec {
            nodelets,
            nodelet_args: FAST.iter().map(|s| s.to_string()).collect(),
            sandboxed,
            ..ClusterSpec::default()
        };
        let tc = TestCluster::start(spec).await;
        let admin = tc.admin_client();
        Cluster {
            tc,
            admin,
            nodelets: names,
        }
    }

    /// The usual two nodes, `n1` and `n2`.
    pub async fn two_nodes() -> Cluster {
        Cluster::start(vec![NodeletSpec::new("n1"), NodeletSpec::new("n2")]).await
    }

    pub fn data_dir(&self, node: &str) -> PathBuf {
        self.tc.dir.path().join(format!("nodelet-{node}"))
    }

    /// The container instance's state dir on its node.
    pub fn instance_dir(&self, node: &str, pod: &Pod, container: &str, instance: u32) -> PathBuf {
        self.data_dir(node)
            .join("containers")
            .join(&pod.metadata.uid)
            .join(container)
            .join(instance.to_string())
    }

    /// The PID of a container instance's main process, from its supervisor's record.
    pub fn container_pid(
        &self,
        node: &str,
        pod: &Pod,
        container: &str,
        instance: u32,
    ) -> Option<u32> {
        let child = read_json(
            &self
                .instance_dir(node, pod, container, instance)
                .join("child.json"),
        )?;
        child["process"]["pid"].as_u64().map(|p| p as u32)
    }

    pub async fn create(&self, pod: &Pod) -> Pod {
        self.admin
            .create(pod)
            .await
            .unwrap_or_else(|e| panic!("creating pod {}: {e}", pod.metadata.name))
    }

    pub async fn get(&self, name: &str) -> Option<Pod> {
        self.admin
            .get_opt::<Pod>("default", name)
            .await
            .ok()
            .flatten()
    }

    /// Waits until pod `name` satisfies `check`; returns it.
    pub async fn wait_pod(
        &self,
        name: &str,
        what: &str,
        within_secs: u64,
        check: impl Fn(&Pod) -> bool,
    ) -> Pod {
        let admin = self.admin.clone();
        let check = &check;
        wait_for(
            &format!("pod {name}: {what}"),
            Duration::from_secs(within_secs),
            || {
                let admin = admin.clone();
                async move {
                    let pod: Pod = admin.get("default", name).await.ok()?;
                    check(&pod).then_some(pod)
                }
            },
        )
        .await
    }

    /// Waits until pod `name` is gone from the API.
    pub async fn wait_gone(&self, name: &str, within_secs: u64) {
        let admin = self.admin.clone();
        wait_for(
            &format!("pod {name} to disappear"),
            Duration::from_secs(within_secs),
            || {
                let admin = admin.clone();
                async move {
                    match admin.get_opt::<Pod>("default", name).await {
                        Ok(None) => Some(()),
                        _ => None,
                    }
                }
            },
        )
        .await
    }

    /// The events about pod `name` (any instance of that name), oldest first.
    pub async fn events(&self, name: &str) -> Vec<Event> {
        let list = self
            .admin
            .list::<Event>(Some("default"), &ListOptions::default())
            .await
            .expect("events");
        let mut events: Vec<Event> = list
            .items
            .into_iter()
            .filter(|e| e.involved_object.name == name)
            .collect();
        events.sort_by_key(|e| e.first_timestamp);
        events
    }

    /// Waits for an event about pod `name` with `reason` whose message contains `text`.
    pub async fn wait_event(
        &self,
        name: &str,
        reason: &str,
        text: &str,
        within_secs: u64,
    ) -> Event {
        wait_for(
            &format!("a {reason} event about {name} saying {text:?}"),
            Duration::from_secs(within_secs),
            || async {
                self.events(name)
                    .await
                    .into_iter()
                    .find(|e| e.reason == reason && e.message.contains(text))
            },
        )
        .await
    }

    /// A container's log through the apiserver's log proxy.
    pub async fn logs(&self, pod: &str, options: LogOptions) -> Result<String, ApiError> {
        let mut stream = self.admin.logs("default", pod, &options).await?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Prints the nodelets' logs (for a failing scenario).
    pub fn dump_nodelet_logs(&self) {
        for node in &self.nodelets {
            eprintln!(
                "----- nodelet-{node} -----\n{}",
                self.tc.log(&format!("nodelet-{node}"))
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_nodelet_logs();
        }
        // The harness kills the processes, then the containers the nodelets left behind.
    }
}

/// A pod IP range of this test process's own for its `k`-th node: clusters of tests that
/// run at the same time (each test is a process) must not hand out the same pod IPs, or
/// their pods' servers would collide on IP:port.
fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// True while the process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// A pod bound to `node` with the given spec (nodeName is set here: no scheduler needed).
pub fn pod(name: &str, node: &str, mut spec: Value) -> Pod {
    spec["nodeName"] = json!(node);
    let v = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec});
    serde_json::from_value(v).expect("a valid pod")
}

/// A one-container busybox pod running `sh -c SCRIPT`.
pub fn busybox(name: &str, node: &str, script: &str, restart_policy: &str) -> Pod {
    pod(
        name,
        node,
        json!({
            "restartPolicy": restart_policy,
            "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}]
        }),
    )
}

/// The status of the pod's only (or first) container.
pub fn main_status(pod: &Pod) -> Option<&ContainerStatus> {
    pod.status.container_statuses.first()
}

pub fn restart_count(pod: &Pod) -> i32 {
    main_status(pod).map_or(0, |s| s.restart_count)
}

pub fn waiting_reason(pod: &Pod) -> String {
    main_status(pod)
        .and_then(|s| s.state.waiting.as_ref())
        .map(|w| w.reason.clone())
        .unwrap_or_default()
}

pub fn condition(pod: &Pod, type_: &str) -> String {
    pod.status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.clone())
        .unwrap_or_default()
}
