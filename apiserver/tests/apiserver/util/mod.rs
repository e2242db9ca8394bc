//! A real 3-member store (skiff-store, or etcd) and skiff-apiserver processes on free
//! loopback ports, started through `skiff_testkit` and killed by PID when the test ends,
//! even when it fails.
//!
//! The store binary: `SKIFF_TEST_STORE=etcd` forces etcd; otherwise this build's
//! `skiff-store` when it has been built, else etcd. Both take etcd's flags.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use skiff_common::launch::{ApiserverPlan, HttpsPlan};
use skiff_common::pki::{self, Ca};
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::{CompactionRequest, RangeRequest};
use skiff_testkit::http::{http_get, sample_value};
use skiff_testkit::process::Process;
use skiff_testkit::store::{StoreCluster, StoreSpec};
use tonic::transport::Channel;

mod api;
pub mod local;
pub mod rest;
pub use api::*;
pub use skiff_testkit::step;

pub const ADMIN: &str = "admin-token";
pub const VIEWER: &str = "viewer-token";
pub const NODE1: &str = "node1-token";
pub const NODE2: &str = "node2-token";
pub const NOBODY: &str = "nobody-token";

const TOKENS: &str = "\
admin-token,admin,u-admin,\"system:masters\"
viewer-token,vera,u-viewer,\"skiff:viewers\"
node1-token,system:node:n1,u-n1,\"system:nodes\"
node2-token,system:node:n2,u-n2,\"system:nodes\"
nobody-token,bob,u-bob,\"devs,testers\"
";

/// A free loopback port outside the kernel's ephemeral range (see `skiff_common::ports`).
pub fn free_port() -> u16 {
    skiff_testkit::free_port().expect("a free loopback port")
}

pub struct Apiserver {
    pub port: u16,
    pub metrics_port: u16,
    /// The Kubernetes REST API (HTTPS) port.
    pub https_port: u16,
    /// The CA certificate (PEM) its serving certificate chains to.
    pub ca_pem: String,
    process: Process,
}

impl Apiserver {
    /// The gRPC port: TLS, since the apiserver serves its REST API and so has a certificate.
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self, token: &str) -> Client {
        api::client_tls(&self.endpoint(), &self.ca_pem, token).await
    }

    /// A REST client of this apiserver's HTTPS API with this token ("" for none).
    pub fn rest(&self, token: &str) -> rest::Rest {
        rest::Rest::new(self.https_port, &self.ca_pem, token)
    }

    pub async fn metrics(&self) -> String {
        http_get(self.metrics_port, "/metrics")
            .await
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// The value of one sample, e.g. `skiff_apiserver_store_watches{resource="pods"}`.
    pub async fn metric(&self, sample: &str) -> Option<f64> {
        sample_value(&self.metrics().await, sample)
    }

    pub fn log(&self) -> String {
        self.process.log_text()
    }
}

pub struct Cluster {
    pub apiservers: Vec<Apiserver>,
    pub etcd: bool,
    store: StoreCluster,
}

impl Cluster {
    /// A 3-member store and `apiservers` apiservers, each started with `extra` flags; returns
    /// once every apiserver reports healthy.
    pub async fn start(apiservers: usize, extra: &[&str]) -> Cluster {
        let (binary, etcd) = skiff_testkit::binary::store_under_test();
        step(&format!("starting 3 store members ({})", binary.display()));
        let mut spec = StoreSpec::of(&binary, 3);
        spec.cluster_token = Some("t".to_string());
        let store = StoreCluster::launch(&spec).expect("start the store members");
        let mut cluster = Cluster {
            apiservers: Vec::new(),
            etcd,
            store,
        };
        for _ in 0..apiservers {
            cluster.start_apiserver(extra);
        }
        for i in 0..apiservers {
            cluster.wait_healthy(i, Duration::from_secs(40)).await;
        }
        cluster
    }

    /// Starts one more apiserver (not waiting for it); returns its index.
    pub fn start_apiserver(&mut self, extra: &[&str]) -> usize {
        let i = self.apiservers.len();
        let tokens = self.store.dir().join("tokens.csv");
        std::fs::write(&tokens, TOKENS).expect("write tokens");
        // The CA is written once and loaded back for each apiserver: certificates issued by a
        // loaded CA must chain to the ca.crt written first.
        let pki_dir = self.store.dir().join("pki");
        Ca::load_or_generate(&pki_dir).expect("the test CA");
        let ca = Ca::load(&pki_dir).expect("load the test CA");
        let serving = ca
            .issue_server(&["127.0.0.1".into(), "localhost".into()])
            .expect("a serving certificate");
        let name = format!("apiserver-{i}");
        pki::write_pair(&pki_dir, &name, &serving).expect("write the serving certificate");
        let (cert_file, key_file) = pki::pair_paths(&pki_dir, &name);
        let plan = ApiserverPlan {
            port: free_port(),
            metrics_port: free_port(),
            store_endpoints: self.store.client_urls(),
            token_file: tokens,
            https: Some(HttpsPlan {
                port: free_port(),
                cert_file,
                key_file,
            }),
            pki: None,
        };
        let ca_pem = std::fs::read_to_string(pki_dir.join("ca.crt")).expect("read ca.crt");
        let mut args = plan.args();
        args.extend(extra.iter().map(|a| a.to_string()));
        let log = self.store.dir().join(format!("apiserver-{i}.log"));
        let mut process = Process::new(
            &format!("apiserver-{i}"),
            std::path::Path::new(env!("CARGO_BIN_EXE_skiff-apiserver")),
            args,
            log,
        );
        process.envs = vec![("RUST_LOG".into(), "info,skiff_apiserver=debug".into())];
        process.start();
        self.apiservers.push(Apiserver {
            port: plan.port,
            metrics_port: plan.metrics_port,
            https_port: plan.https.as_ref().map_or(0, |h| h.port),
            ca_pem,
            process,
        });
        i
    }

    pub async fn wait_healthy(&self, i: usize, within: Duration) {
        let deadline = Instant::now() + within;
        let a = &self.apiservers[i];
        loop {
            if skiff_testkit::http::healthy(a.metrics_port).await {
                return;
            }
            if Instant::now() > deadline {
                let members: Vec<String> = (0..self.store.len())
                    .map(|m| {
                        format!(
                            "--- store member {} ---\n{}",
                            self.store.name(m),
                            self.store.process_ref(m).log_tail(15)
                        )
                    })
                    .collect();
                panic!(
                    "apiserver {i} not healthy within {within:?}; its log:\n{}\n{}",
                    a.log(),
                    members.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL an apiserver.
    pub fn kill_apiserver(&mut self, i: usize) {
        self.apiservers[i].process.kill();
    }

    /// The exit status once the apiserver process has ended.
    pub fn try_wait_apiserver(&mut self, i: usize) -> Option<ExitStatus> {
        self.apiservers[i].process.exited()
    }

    /// SIGKILL a store member.
    pub fn kill_member(&mut self, i: usize) {
        self.store.kill(i);
    }

    /// Signals a store member (SIGSTOP freezes it with its sockets open).
    pub fn signal_member(&self, i: usize, sig: rustix::process::Signal) {
        self.store.process_ref(i).signal(sig);
    }

    pub fn signal_apiserver(&self, i: usize, sig: rustix::process::Signal) {
        self.apiservers[i].process.signal(sig);
    }

    /// A KV client on any member that is still running.
    pub async fn any_kv(&self) -> KvClient<Channel> {
        self.store.any_kv().await
    }

    /// The index of the store member apiserver `i`'s store watch of `resource` is open on.
    pub async fn store_watch_member(&self, i: usize, resource: &str) -> usize {
        let prefix =
            format!("skiff_apiserver_store_watch_member{{resource=\"{resource}\",member=\"");
        let text = self.apiservers[i].metrics().await;
        let url = text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix)?.split('"').next())
            .unwrap_or_else(|| panic!("no store watch of {resource} in the metrics:\n{text}"));
        self.store
            .client_urls()
            .iter()
            .position(|u| u == url)
            .expect("a member of this cluster")
    }

    /// A metric summed over the running store members.
    pub async fn member_metric_sum(&self, name: &str) -> f64 {
        let mut sum = 0.0;
        for i in (0..self.store.len()).filter(|i| self.store.is_running(*i)) {
            let text = self.store.metrics(i).await.unwrap_or_default();
            sum += text
                .lines()
                .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>();
        }
        sum
    }

    pub async fn store_revision(&self) -> i64 {
        let resp = self
            .any_kv()
            .await
            .range(RangeRequest {
                key: b"/".to_vec(),
                ..Default::default()
            })
            .await
            .expect("range");
        resp.into_inner().header.expect("header").revision
    }

    pub async fn compact(&self, revision: i64) {
        self.any_kv()
            .await
            .compact(CompactionRequest {
                revision,
                physical: true,
            })
            .await
            .expect("compact");
    }

    /// Raw keys under a prefix, straight from the store.
    pub async fn store_keys(&self, prefix: &str) -> Vec<String> {
        let mut end = prefix.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let resp = self
            .any_kv()
            .await
            .range(RangeRequest {
                key: prefix.as_bytes().to_vec(),
                range_end: end,
                keys_only: true,
                ..Default::default()
            })
            .await
            .expect("range");
        resp.into_inner()
            .kvs
            .iter()
            .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for a in &mut self.apiservers {
            // A stopped (SIGSTOP) process still dies of SIGKILL.
            a.process.kill();
        }
        if std::thread::panicking() {
            for (i, a) in self.apiservers.iter().enumerate() {
                eprintln!("--- apiserver {i} log (last lines) ---");
                eprintln!("{}", a.process.log_tail(40));
            }
        }
    }
}
