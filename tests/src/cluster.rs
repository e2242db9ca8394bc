//! A whole skiff cluster for one test: what to run ([`ClusterSpec`]) and the
//! running processes ([`TestCluster`]). Components are named `store-1`..,
//! `apiserver-1`.., `scheduler-1`.., `controller-manager-1`.., `nodelet-<node>`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use skiff_api::types::Node;
use skiff_client::{Client, ClientConfig};

use crate::process::Proc;
use crate::wait::wait_for;

pub const ADMIN_TOKEN: &str = "admin-token";
pub const VIEWER_TOKEN: &str = "viewer-token";

/// A free loopback port outside the kernel's ephemeral range (see `skiff_common::ports`).
pub fn free_port() -> u16 {
    skiff_common::ports::free_loopback_port().expect("a free loopback port")
}

/// A /24 of loopback addresses no other nodelet of any test process uses, so
/// pods of clusters running side by side never share an IP (and a port).
fn unique_pod_cidr() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n =
        std::process::id() as usize * 16 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("127.{}.{}.0/24", 2 + (n >> 8) % 250, n & 255)
}

pub fn node_token(node: &str) -> String {
    format!("node-{node}-token")
}

#[derive(Clone, Debug, Default)]
pub struct NodeletSpec {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub args: Vec<String>,
}

impl NodeletSpec {
    pub fn new(name: &str) -> NodeletSpec {
        NodeletSpec {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn label(mut self, key: &str, value: &str) -> NodeletSpec {
        self.labels.push((key.into(), value.into()));
        self
    }

    pub fn arg(mut self, arg: &str) -> NodeletSpec {
        self.args.push(arg.into());
        self
    }
}

/// What to run. `ClusterSpec::default()` is 3 store members and 1 apiserver.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub store_members: usize,
    pub apiservers: usize,
    pub schedulers: usize,
    pub controller_managers: usize,
    pub nodelets: Vec<NodeletSpec>,
    pub store_args: Vec<String>,
    pub apiserver_args: Vec<String>,
    pub scheduler_args: Vec<String>,
    pub controller_manager_args: Vec<String>,
    /// Added to every nodelet's flags (before its own).
    pub nodelet_args: Vec<String>,
    /// Environment for every nodelet (e.g. SKIFF_BATCH_JOB_SECONDS).
    pub nodelet_env: Vec<(String, String)>,
}

impl Default for ClusterSpec {
    fn default() -> ClusterSpec {
        ClusterSpec {
            store_members: 3,
            apiservers: 1,
            schedulers: 0,
            controller_managers: 0,
            nodelets: Vec::new(),
            store_args: Vec::new(),
            apiserver_args: Vec::new(),
            scheduler_args: Vec::new(),
            controller_manager_args: Vec::new(),
            nodelet_args: Vec::new(),
            nodelet_env: Vec::new(),
        }
    }
}

impl ClusterSpec {
    /// Store, apiserver, scheduler, controller-manager and the given nodelets.
    pub fn full(nodelets: Vec<NodeletSpec>) -> ClusterSpec {
        ClusterSpec {
            schedulers: 1,
            controller_managers: 1,
            nodelets,
            ..ClusterSpec::default()
        }
    }
}

pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub spec: ClusterSpec,
    procs: BTreeMap<String, Proc>,
    store_client_urls: Vec<String>,
    apiserver_addrs: Vec<String>,
    nodelet_ports: BTreeMap<String, u16>,
}

impl TestCluster {
    /// Starts everything and waits until the store has a leader, every
    /// apiserver answers, and every nodelet's Node is Ready.
    pub async fn start(spec: ClusterSpec) -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cluster = TestCluster {
            dir,
            spec: spec.clone(),
            procs: BTreeMap::new(),
            store_client_urls: Vec::new(),
            apiserver_addrs: Vec::new(),
            nodelet_ports: BTreeMap::new(),
        };
        cluster.write_tokens();
        cluster.add_store(&spec);
        for i in 1..=spec.store_members {
            cluster.start_component(&format!("store-{i}"));
        }
        cluster.add_apiservers(&spec);
        for i in 1..=spec.apiservers {
            cluster.start_component(&format!("apiserver-{i}"));
        }
        let admin = cluster.admin_client();
        wait_for(
            "the apiserver to answer (store leader elected)",
            Duration::from_secs(30),
            || {
                let admin = admin.clone();
                async move { admin.who_am_i().await.ok() }
            },
        )
        .await;
        cluster.add_controllers(&spec);
        for i in 1..=spec.schedulers {
            cluster.start_component(&format!("scheduler-{i}"));
        }
        for i in 1..=spec.controller_managers {
            cluster.start_component(&format!("controller-manager-{i}"));
        }
        for nodelet in &spec.nodelets {
            cluster.add_nodelet(nodelet);
            cluster.start_component(&format!("nodelet-{}", nodelet.name));
        }
        for nodelet in &spec.nodelets {
            cluster
                .wait_node_ready(&nodelet.name, Duration::from_secs(30))
                .await;
        }
        cluster
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_tokens(&self) {
        let mut lines = vec![
            format!("{ADMIN_TOKEN},admin,uid-admin,\"system:masters\""),
            format!("{VIEWER_TOKEN},viewer,uid-viewer,\"skiff:viewers\""),
        ];
        for n in &self.spec.nodelets {
            lines.push(format!(
                "{},system:node:{},uid-node-{},\"system:nodes\"",
                node_token(&n.name),
                n.name,
                n.name
            ));
        }
        std::fs::write(self.path("tokens.csv"), lines.join("\n") + "\n").expect("token file");
    }

    fn add_store(&mut self, spec: &ClusterSpec) {
        let members: Vec<(String, u16, u16)> = (1..=spec.store_members)
            .map(|i| (format!("s{i}"), free_port(), free_port()))
            .collect();
        let initial = members
            .iter()
            .map(|(name, _, peer)| format!("{name}=http://127.0.0.1:{peer}"))
            .collect::<Vec<_>>()
            .join(",");
        for (i, (name, client, peer)) in members.iter().enumerate() {
            let mut args = vec![
                "--name".into(),
                name.clone(),
                "--data-dir".into(),
                self.path(&format!("store-{}", i + 1)).display().to_string(),
                "--listen-client-urls".into(),
                format!("http://127.0.0.1:{client}"),
                "--listen-peer-urls".into(),
                format!("http://127.0.0.1:{peer}"),
                "--initial-cluster".into(),
                initial.clone(),
            ];
            args.extend(spec.store_args.iter().cloned());
            self.store_client_urls
                .push(format!("http://127.0.0.1:{client}"));
            let comp = format!("store-{}", i + 1);
            let log = self.path(&format!("{comp}.log"));
            self.procs
                .insert(comp.clone(), Proc::new(&comp, "skiff-store", args, log));
        }
    }

    fn add_apiservers(&mut self, spec: &ClusterSpec) {
        for i in 1..=spec.apiservers {
            let port = free_port();
            let mut args = vec![
                "--listen".into(),
                format!("127.0.0.1:{port}"),
                "--store-endpoints".into(),
                self.store_client_urls.join(","),
                "--token-file".into(),
                self.path("tokens.csv").display().to_string(),
                "--metrics-listen".into(),
                format!("127.0.0.1:{}", free_port()),
            ];
            args.extend(spec.apiserver_args.iter().cloned());
            self.apiserver_addrs.push(format!("127.0.0.1:{port}"));
            let comp = format!("apiserver-{i}");
            let log = self.path(&format!("{comp}.log"));
            self.procs
                .insert(comp.clone(), Proc::new(&comp, "skiff-apiserver", args, log));
        }
    }

    fn control_args(&self, identity: &str) -> Vec<String> {
        vec![
            "--apiserver".into(),
            self.apiserver_addrs.join(","),
            "--token".into(),
            ADMIN_TOKEN.into(),
            "--identity".into(),
            identity.into(),
            "--metrics-listen".into(),
            format!("127.0.0.1:{}", free_port()),
        ]
    }

    fn add_controllers(&mut self, spec: &ClusterSpec) {
        for i in 1..=spec.schedulers {
            let comp = format!("scheduler-{i}");
            let mut args = self.control_args(&comp);
            args.extend(spec.scheduler_args.iter().cloned());
            let log = self.path(&format!("{comp}.log"));
            self.procs
                .insert(comp.clone(), Proc::new(&comp, "skiff-scheduler", args, log));
        }
        for i in 1..=spec.controller_managers {
            let comp = format!("controller-manager-{i}");
            let mut args = self.control_args(&comp);
            args.extend(spec.controller_manager_args.iter().cloned());
            let log = self.path(&format!("{comp}.log"));
            self.procs.insert(
                comp.clone(),
                Proc::new(&comp, "skiff-controller-manager", args, log),
            );
        }
    }

    /// Registers a nodelet (started with `start_component("nodelet-<name>")`).
    pub fn add_nodelet(&mut self, nodelet: &NodeletSpec) {
        let port = free_port();
        let labels = nodelet
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut args = vec![
            "--apiserver".into(),
            self.apiserver_addrs.join(","),
            "--token".into(),
            node_token(&nodelet.name),
            "--node-name".into(),
            nodelet.name.clone(),
            "--data-dir".into(),
            self.path(&format!("nodelet-{}", nodelet.name))
                .display()
                .to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--pod-cidr".into(),
            unique_pod_cidr(),
        ];
        if !labels.is_empty() {
            args.push("--labels".into());
            args.push(labels);
        }
        args.extend(self.spec.nodelet_args.iter().cloned());
        args.extend(nodelet.args.iter().cloned());
        let comp = format!("nodelet-{}", nodelet.name);
        let log = self.path(&format!("{comp}.log"));
        let mut proc = Proc::new(&comp, "skiff-nodelet", args, log);
        proc.envs = self.spec.nodelet_env.clone();
        self.procs.insert(comp, proc);
        self.nodelet_ports.insert(nodelet.name.clone(), port);
    }

    pub fn start_component(&mut self, name: &str) {
        self.procs
            .get_mut(name)
            .unwrap_or_else(|| panic!("no component {name}"))
            .start();
    }

    /// SIGKILL.
    pub fn kill(&mut self, name: &str) {
        self.procs
            .get_mut(name)
            .unwrap_or_else(|| panic!("no component {name}"))
            .kill();
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, name: &str, grace: Duration) {
        self.procs
            .get_mut(name)
            .unwrap_or_else(|| panic!("no component {name}"))
            .stop(grace);
    }

    pub fn pid(&self, name: &str) -> Option<u32> {
        self.procs.get(name).and_then(Proc::pid)
    }

    pub fn is_running(&mut self, name: &str) -> bool {
        self.procs.get_mut(name).is_some_and(Proc::is_running)
    }

    pub fn log(&self, name: &str) -> String {
        self.procs.get(name).map(Proc::log_text).unwrap_or_default()
    }

    pub fn components(&self) -> Vec<String> {
        self.procs.keys().cloned().collect()
    }

    pub fn apiserver_endpoints(&self) -> Vec<String> {
        self.apiserver_addrs.clone()
    }

    pub fn store_endpoints(&self) -> Vec<String> {
        self.store_client_urls.clone()
    }

    pub fn client(&self, token: &str) -> Client {
        let config = ClientConfig::new(self.apiserver_addrs.clone())
            .with_token(token)
            .with_timeout(Duration::from_secs(10));
        Client::new(config).expect("client")
    }

    pub fn admin_client(&self) -> Client {
        self.client(ADMIN_TOKEN)
    }

    pub async fn wait_node_ready(&self, node: &str, within: Duration) {
        let admin = self.admin_client();
        wait_for(&format!("node {node} to be Ready"), within, || {
            let admin = admin.clone();
            async move {
                let n: Node = admin.get("", node).await.ok()?;
                let ready = n
                    .status
                    .conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                ready.then_some(())
            }
        })
        .await;
    }

    /// The end of every component's log (`lines` lines each, all of it for `None`), for a
    /// failing test's output.
    pub fn dump_logs(&self, lines: Option<usize>) {
        for proc in self.procs.values() {
            let text = proc.log_text();
            let all: Vec<&str> = text.lines().collect();
            let from = lines.map_or(0, |n| all.len().saturating_sub(n));
            eprintln!(
                "----- {} (lines {}..{} of its log) -----\n{}",
                proc.name,
                from + 1,
                all.len(),
                all[from..].join("\n")
            );
        }
    }
}

/// Lines of each component's log a failing test prints (all of them with `SKIFF_E2E_LOGS`).
const FAILURE_LOG_LINES: usize = 40;

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let whole = std::env::var_os("SKIFF_E2E_LOGS").is_some();
            self.dump_logs((!whole).then_some(FAILURE_LOG_LINES));
        }
        for proc in self.procs.values_mut() {
            proc.kill();
        }
        // Containers outlive their nodelet (their supervisors run in sessions of their own).
        for node in self.nodelet_ports.keys() {
            crate::containers::kill_all(&self.path(&format!("nodelet-{node}")));
        }
    }
}
