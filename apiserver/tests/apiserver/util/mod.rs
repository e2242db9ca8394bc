//! Starts a real 3-member store (skiff-store, or etcd) and skiff-apiserver processes on free loopback ports, and kills them by PID when the test ends, even when it fails.
//!
//! The store binary: `SKIFF_TEST_STORE=etcd` forces /usr/bin/etcd; otherwise
//! `target/debug/skiff-store` when it has been built, else etcd. Both take etcd's flags.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::{CompactionRequest, RangeRequest};
use tonic::transport::Channel;

mod api;
pub use api::*;

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

pub fn step(what: &str) {
    eprintln!("=== {what}");
}

/// A free loopback port outside the kernel's ephemeral range (see `skiff_common::ports`).
pub fn free_port() -> u16 {
    skiff_common::ports::free_loopback_port().expect("a free loopback port")
}

/// Which store binary the tests run against.
pub fn store_binary() -> (PathBuf, bool) {
    let etcd = PathBuf::from("/usr/bin/etcd");
    if std::env::var("SKIFF_TEST_STORE").as_deref() == Ok("etcd") {
        return (etcd, true);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let skiff = target.join("debug/skiff-store");
    if skiff.exists() {
        (skiff, false)
    } else {
        (etcd, true)
    }
}

struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    metrics_port: u16,
    data_dir: PathBuf,
    child: Option<Child>,
}

impl Member {
    fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }
}

pub struct Apiserver {
    pub port: u16,
    pub metrics_port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Apiserver {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self, token: &str) -> Client {
        client(&self.endpoint(), token).await
    }

    pub async fn metrics(&self) -> String {
        http_get(self.metrics_port, "/metrics")
            .await
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// The value of one sample, e.g. `skiff_apiserver_store_watches{resource="pods"}`.
    pub async fn metric(&self, sample: &str) -> Option<f64> {
        let text = self.metrics().await;
        text.lines()
            .find(|l| l.starts_with(sample) && l[sample.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    pub fn pid(&self) -> Option<rustix::process::Pid> {
        self.child.as_ref().map(rustix::process::Pid::from_child)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub struct Cluster {
    members: Vec<Member>,
    pub apiservers: Vec<Apiserver>,
    pub etcd: bool,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// A 3-member store and `apiservers` apiservers, each started with `extra` flags; returns
    /// once every apiserver reports healthy.
    pub async fn start(apiservers: usize, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let (binary, etcd) = store_binary();
        step(&format!("starting 3 store members ({})", binary.display()));
        let mut members: Vec<Member> = (1..=3)
            .map(|i| Member {
                name: format!("s{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                metrics_port: free_port(),
                data_dir: dir.path().join(format!("s{i}")),
                child: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        for m in &mut members {
            let log = std::fs::File::create(dir.path().join(format!("{}.log", m.name)))
                .expect("log file");
            let child = Command::new(&binary)
                .args(["--name", &m.name])
                .arg("--data-dir")
                .arg(&m.data_dir)
                .args([
                    "--listen-client-urls",
                    &m.client_url(),
                    "--advertise-client-urls",
                    &m.client_url(),
                ])
                .args([
                    "--listen-peer-urls",
                    &format!("http://127.0.0.1:{}", m.peer_port),
                ])
                .args([
                    "--initial-advertise-peer-urls",
                    &format!("http://127.0.0.1:{}", m.peer_port),
                ])
                .args([
                    "--listen-metrics-urls",
                    &format!("http://127.0.0.1:{}", m.metrics_port),
                ])
                .args([
                    "--initial-cluster",
                    &initial,
                    "--initial-cluster-state",
                    "new",
                    "--initial-cluster-token",
                    "t",
                ])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start a store member");
            m.child = Some(child);
        }
        let mut cluster = Cluster {
            members,
            apiservers: Vec::new(),
            etcd,
            dir,
        };
        for _ in 0..apiservers {
            cluster.start_apiserver(extra);
        }
        for i in 0..apiservers {
            cluster.wait_healthy(i, Duration::from_secs(40)).await;
        }
        cluster
    }

    pub fn store_endpoints(&self) -> String {
        self.members
            .iter()
            .map(Member::client_url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts one more apiserver (not waiting for it); returns its index.
    pub fn start_apiserver(&mut self, extra: &[&str]) -> usize {
        let i = self.apiservers.len();
        let tokens = self.dir.path().join("tokens.csv");
        std::fs::write(&tokens, TOKENS).expect("write tokens");
        let (port, metrics_port) = (free_port(), free_port());
        let log = self.dir.path().join(format!("apiserver-{i}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_skiff-apiserver"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--store-endpoints", &self.store_endpoints()])
            .arg("--token-file")
            .arg(&tokens)
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .args(extra)
            .env("RUST_LOG", "info,skiff_apiserver=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("apiserver log"))
            .spawn()
            .expect("start skiff-apiserver");
        self.apiservers.push(Apiserver {
            port,
            metrics_port,
            child: Some(child),
            log,
        });
        i
    }

    pub async fn wait_healthy(&self, i: usize, within: Duration) {
        let deadline = Instant::now() + within;
        let a = &self.apiservers[i];
        loop {
            if let Some((200, _)) = http_get(a.metrics_port, "/health").await {
                return;
            }
            if Instant::now() > deadline {
                let members: Vec<String> = self
                    .members
                    .iter()
                    .map(|m| {
                        let log = std::fs::read_to_string(
                            self.dir.path().join(format!("{}.log", m.name)),
                        )
                        .unwrap_or_default();
                        let tail: Vec<&str> = log
                            .lines()
                            .rev()
                            .take(15)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect();
                        format!("--- store member {} ---\n{}", m.name, tail.join("\n"))
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
        if let Some(mut c) = self.apiservers[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The exit status once the apiserver process has ended.
    pub fn try_wait_apiserver(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        self.apiservers[i].child.as_mut()?.try_wait().ok()?
    }

    /// SIGKILL a store member.
    pub fn kill_member(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn signal_apiserver(&self, i: usize, sig: rustix::process::Signal) {
        if let Some(pid) = self.apiservers[i].pid() {
            rustix::process::kill_process(pid, sig).expect("signal the apiserver");
        }
    }

    pub async fn kv(&self, i: usize) -> KvClient<Channel> {
        KvClient::new(channel(&self.members[i].client_url()).await)
    }

    /// A KV client on any member that is still running.
    pub async fn any_kv(&self) -> KvClient<Channel> {
        let i = self
            .members
            .iter()
            .position(|m| m.child.is_some())
            .expect("a running member");
        self.kv(i).await
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
        self.members
            .iter()
            .position(|m| m.client_url() == url)
            .expect("a member of this cluster")
    }

    /// A metric summed over the running store members.
    pub async fn member_metric_sum(&self, name: &str) -> f64 {
        let mut sum = 0.0;
        for m in self.members.iter().filter(|m| m.child.is_some()) {
            let text = http_get(m.metrics_port, "/metrics")
                .await
                .map(|(_, b)| b)
                .unwrap_or_default();
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
            if let Some(mut c) = a.child.take() {
                // A stopped (SIGSTOP) process still dies of SIGKILL.
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        for m in &mut self.members {
            if let Some(mut c) = m.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if std::thread::panicking() {
            for (i, a) in self.apiservers.iter().enumerate() {
                let log = a.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- apiserver {i} log (last lines) ---");
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
    }
}
