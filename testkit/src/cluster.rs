//! A whole skiff cluster for one test: what to run ([`ClusterSpec`]) and the running
//! processes ([`TestCluster`]), planned by `skiff_common::launch` like `skiff up`'s.
//! Components are named `store-1`.., `apiserver-1`.., `scheduler-1`..,
//! `controller-manager-1`.., `nodelet-<node>`.

use skiff_common::pki_layout::{issue_cluster, PkiLayout};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use skiff_api::types::Node;
use skiff_client::{Client, ClientConfig};
use skiff_common::launch::{token_file, ApiserverPlan, ClientPlan, NodeletPlan, TokenEntry};

use crate::binary::binary;
use crate::process::Process;
use crate::store::{StoreCluster, StoreSpec};

#[path = "cluster_nodelet.rs"]
mod nodelet;
#[path = "cluster_teardown.rs"]
mod teardown;
use crate::wait::wait_for;
pub use nodelet::NodeletSpec;

/// Fast leader election for the controller-manager and the scheduler, so a failover takes
/// seconds: a standby takes over 4 s after the leader's last renewal.
pub const FAST_LEADER_ELECTION: [&str; 6] = [
    "--leader-elect-lease-duration",
    "4s",
    "--leader-elect-renew-deadline",
    "3s",
    "--leader-elect-retry-period",
    "500ms",
];

pub const ADMIN_TOKEN: &str = "admin-token";
pub const VIEWER_TOKEN: &str = "viewer-token";

/// A free loopback port outside the kernel's ephemeral range (see `skiff_common::ports`).
pub fn free_port() -> u16 {
    skiff_common::ports::free_loopback_port().expect("a free loopback port")
}

/// A /24 of loopback addresses no other nodelet of any test process uses, so pods of
/// clusters running side by side never share an IP (and a port).
fn unique_pod_cidr() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n =
        std::process::id() as usize * 16 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("127.{}.{}.0/24", 2 + (n >> 8) % 250, n & 255)
}

pub fn node_token(node: &str) -> String {
    format!("node-{node}-token")
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
    /// Pods get sandboxes (namespaces, a pod network on a bridge per node, cgroups; needs
    /// root). Otherwise nodelets run with `--sandbox none` and loopback pod IPs.
    pub sandboxed: bool,
    /// TLS and client certificates on every port, as `skiff up` runs (the default); false:
    /// plain text.
    pub tls: bool,
    /// The store's binary (etcd for a side-by-side run); `None`: this build's skiff-store.
    pub store_binary: Option<PathBuf>,
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
            sandboxed: false,
            tls: true,
            store_binary: None,
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

/// The running cluster. Its processes are killed by PID when it is dropped, and a failing
/// test's output gets the end of every component's log.
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub spec: ClusterSpec,
    store: StoreCluster,
    procs: BTreeMap<String, Process>,
    apiserver_addrs: Vec<String>,
    metrics_ports: BTreeMap<String, u16>,
    nodelet_data: BTreeMap<String, PathBuf>,
    /// The sandboxed cluster's pod network (see [`crate::sandbox_net`]).
    sandbox_net: Option<crate::sandbox_net::SandboxNet>,
    /// The cluster's certificates (TLS clusters).
    pki: Option<PkiLayout>,
}

impl TestCluster {
    /// Starts everything and waits until the store has a leader, every apiserver is healthy,
    /// and every nodelet's Node is Ready.
    pub async fn start(spec: ClusterSpec) -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store_spec = match &spec.store_binary {
            Some(binary) => StoreSpec::of(binary, spec.store_members),
            None => StoreSpec::skiff(spec.store_members),
        };
        store_spec.extra_args = spec.store_args.clone();
        let pki = spec.tls.then(|| {
            let pki = PkiLayout::new(&dir.path().join("pki"));
            let members: Vec<String> = (1..=spec.store_members).map(|i| format!("s{i}")).collect();
            let nodes: Vec<String> = spec.nodelets.iter().map(|n| n.name.clone()).collect();
            issue_cluster(&pki, &members, &nodes, &[]).expect("the cluster's certificates");
            pki
        });
        store_spec.tls = spec.tls;
        store_spec.pki = pki.clone();
        let store = StoreCluster::launch(&store_spec).expect("start the store members");
        let mut cluster = TestCluster {
            dir,
            spec: spec.clone(),
            store,
            procs: BTreeMap::new(),
            apiserver_addrs: Vec::new(),
            metrics_ports: BTreeMap::new(),
            nodelet_data: BTreeMap::new(),
            sandbox_net: spec.sandboxed.then(crate::sandbox_net::SandboxNet::unique),
            pki,
        };
        cluster.write_tokens();
        cluster.add_apiservers();
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
        // Answering is not ready: the built-in namespaces are created just after the store
        // answers, and a test that creates in `default` at once would race them.
        for i in 1..=spec.apiservers {
            let port = cluster.metrics_ports[&format!("apiserver-{i}")];
            wait_for(
                &format!("apiserver-{i} to be healthy (namespaces made, cache loaded)"),
                Duration::from_secs(30),
                || async move { crate::http::healthy(port).await.then_some(()) },
            )
            .await;
        }
        cluster.add_controllers();
        for nodelet in &spec.nodelets {
            cluster.add_nodelet(nodelet);
            if !nodelet.later {
                cluster.start_component(&format!("nodelet-{}", nodelet.name));
            }
        }
        for nodelet in spec.nodelets.iter().filter(|n| !n.later) {
            for node in nodelet.node_names() {
                cluster
                    .wait_node_ready(&node, Duration::from_secs(60))
                    .await;
            }
        }
        cluster
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_tokens(&self) {
        let mut entries = vec![
            TokenEntry::admin(ADMIN_TOKEN, "admin"),
            TokenEntry::new(VIEWER_TOKEN, "viewer", "uid-viewer", &["skiff:viewers"]),
        ];
        for n in self.spec.nodelets.iter().filter(|n| n.hollow == 0) {
            entries.push(TokenEntry::node(&node_token(&n.name), &n.name));
        }
        std::fs::write(self.path("tokens.csv"), token_file(&entries)).expect("token file");
    }

    /// Adds the component and starts it.
    fn run(&mut self, name: &str, program: &str, args: Vec<String>) {
        let log = self.path(&format!("{name}.log"));
        let mut proc = Process::new(name, &binary(program), args, log);
        proc.start();
        self.procs.insert(name.to_string(), proc);
    }

    fn add_apiservers(&mut self) {
        for i in 1..=self.spec.apiservers {
            let plan = ApiserverPlan {
                port: free_port(),
                metrics_port: free_port(),
                store_endpoints: self.store.client_urls(),
                token_file: self.path("tokens.csv"),
                https: None,
                pki: self.pki.clone(),
            };
            let mut args = plan.args();
            args.extend(self.spec.apiserver_args.iter().cloned());
            self.apiserver_addrs.push(plan.address());
            let name = format!("apiserver-{i}");
            self.metrics_ports.insert(name.clone(), plan.metrics_port);
            self.run(&name, "skiff-apiserver", args);
        }
    }

    fn client_plan(&self, token: &str) -> ClientPlan {
        ClientPlan {
            apiservers: self.apiserver_addrs.clone(),
            token: token.to_string(),
            metrics_port: free_port(),
            ca: self.pki.as_ref().map(PkiLayout::ca_cert),
        }
    }

    fn add_controllers(&mut self) {
        let kinds = [
            ("scheduler", "skiff-scheduler", self.spec.schedulers),
            (
                "controller-manager",
                "skiff-controller-manager",
                self.spec.controller_managers,
            ),
        ];
        for (kind, program, count) in kinds {
            for i in 1..=count {
                let name = format!("{kind}-{i}");
                let plan = self.client_plan(ADMIN_TOKEN);
                let mut args = plan.control_plane_args(&name);
                args.extend(match kind {
                    "scheduler" => self.spec.scheduler_args.iter().cloned(),
                    _ => self.spec.controller_manager_args.iter().cloned(),
                });
                self.metrics_ports.insert(name.clone(), plan.metrics_port);
                self.run(&name, program, args);
            }
        }
    }

    /// Registers a nodelet (started with `start_component("nodelet-<name>")`); its token
    /// must be in the token file, that is, it must be one of the spec's nodelets.
    pub fn add_nodelet(&mut self, nodelet: &NodeletSpec) {
        let name = format!("nodelet-{}", nodelet.name);
        let data_dir = self.path(&name);
        let index = self.nodelet_data.len();
        let plan = NodeletPlan {
            client: self.client_plan(&nodelet.token()),
            node_name: nodelet.name.clone(),
            data_dir: data_dir.clone(),
            listen_port: free_port(),
            pod_cidr: match &self.sandbox_net {
                Some(net) => net.pod_cidr(index),
                None => unique_pod_cidr(),
            },
            labels: nodelet.labels.clone(),
            pki: self.pki.clone(),
        };
        let mut args = plan.args();
        match &self.sandbox_net {
            Some(net) => args.extend(net.nodelet_args(index)),
            None => args.extend(["--sandbox".to_string(), "none".to_string()]),
        }
        args.extend(self.spec.nodelet_args.iter().cloned());
        args.extend(nodelet.args.iter().cloned());
        let log = self.path(&format!("{name}.log"));
        let mut proc = Process::new(&name, &binary("skiff-nodelet"), args, log);
        proc.envs = self.spec.nodelet_env.clone();
        self.metrics_ports
            .insert(name.clone(), plan.client.metrics_port);
        self.procs.insert(name, proc);
        self.nodelet_data.insert(nodelet.name.clone(), data_dir);
    }

    /// `store-N` is the store's member N-1.
    fn store_member(name: &str) -> Option<usize> {
        name.strip_prefix("store-")?
            .parse::<usize>()
            .ok()?
            .checked_sub(1)
    }

    fn proc(&mut self, name: &str) -> &mut Process {
        match TestCluster::store_member(name) {
            Some(i) => self.store.process(i),
            None => self
                .procs
                .get_mut(name)
                .unwrap_or_else(|| panic!("no component {name}")),
        }
    }

    fn proc_ref(&self, name: &str) -> &Process {
        match TestCluster::store_member(name) {
            Some(i) => self.store.process_ref(i),
            None => self
                .procs
                .get(name)
                .unwrap_or_else(|| panic!("no component {name}")),
        }
    }

    pub fn start_component(&mut self, name: &str) {
        self.proc(name).start();
    }

    /// Stops a component (SIGTERM, then SIGKILL after `grace`) and starts it again with
    /// each `(flag, value)` of `flags` in place of the flag's former value.
    pub fn restart_with(&mut self, name: &str, flags: &[(&str, &str)], grace: Duration) {
        let proc = self.proc(name);
        proc.stop(grace);
        for (flag, value) in flags {
            if let Some(at) = proc.args.iter().position(|a| a == flag) {
                proc.args.drain(at..(at + 2).min(proc.args.len()));
            }
            proc.args.push(flag.to_string());
            proc.args.push(value.to_string());
        }
        proc.start();
    }

    /// SIGKILL.
    pub fn kill(&mut self, name: &str) {
        self.proc(name).kill();
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, name: &str, grace: Duration) {
        self.proc(name).stop(grace);
    }

    pub fn pid(&self, name: &str) -> Option<u32> {
        self.proc_ref(name).pid()
    }

    pub fn is_running(&mut self, name: &str) -> bool {
        self.proc(name).is_running()
    }

    /// The `127.0.0.1:PORT` a nodelet's log service listens on.
    pub fn nodelet_address(&self, node: &str) -> String {
        let args = &self.proc_ref(&format!("nodelet-{node}")).args;
        args.iter()
            .position(|a| a == "--listen")
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| panic!("nodelet-{node} has no --listen"))
    }

    pub fn log(&self, name: &str) -> String {
        self.proc_ref(name).log_text()
    }

    /// Every component's name, store members first.
    pub fn components(&self) -> Vec<String> {
        (1..=self.store.len())
            .map(|i| format!("store-{i}"))
            .chain(self.procs.keys().cloned())
            .collect()
    }

    /// The port a component serves `/metrics` and `/health` on.
    pub fn metrics_port(&self, name: &str) -> Option<u16> {
        match TestCluster::store_member(name) {
            Some(i) => self.store.members().get(i)?.metrics_port,
            None => self.metrics_ports.get(name).copied(),
        }
    }

    pub fn apiserver_endpoints(&self) -> Vec<String> {
        self.apiserver_addrs.clone()
    }

    pub fn store_endpoints(&self) -> Vec<String> {
        self.store.client_urls()
    }

    pub fn client(&self, token: &str) -> Client {
        let config = ClientConfig::new(self.apiserver_addrs.clone())
            .with_token(token)
            .with_timeout(Duration::from_secs(10))
            .with_ca_pem(self.ca_pem());
        Client::new(config).expect("client")
    }

    /// The cluster's certificates (`None`: a plain cluster).
    pub fn pki(&self) -> Option<&PkiLayout> {
        self.pki.as_ref()
    }

    /// The cluster CA's PEM, what clients trust (`None`: a plain cluster).
    pub fn ca_pem(&self) -> Option<Vec<u8>> {
        let pki = self.pki.as_ref()?;
        Some(std::fs::read(pki.ca_cert()).expect("the cluster CA"))
    }

    /// A store client configuration for tests that talk to the store directly.
    pub fn store_tls(&self) -> Option<&tonic::transport::ClientTlsConfig> {
        self.store.client_tls()
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
}
