//! Starts real skiff-store member processes on free loopback ports and kills
//! them by PID when the test ends, even when it fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use skiff_proto::etcdserverpb::{PutRequest, RangeRequest, StatusRequest, StatusResponse};
use tonic::transport::Channel;

pub fn step(what: &str) {
    eprintln!("=== {what}");
}

/// A free loopback port outside the kernel's ephemeral range (see `skiff_common::ports`).
pub fn free_port() -> u16 {
    skiff_common::ports::free_loopback_port().expect("a free loopback port")
}

pub struct MemberSpec {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    pub metrics_port: u16,
    pub data_dir: PathBuf,
}

impl MemberSpec {
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }
}

pub struct Cluster {
    pub members: Vec<MemberSpec>,
    procs: Vec<Option<Child>>,
    initial_cluster: String,
    extra_args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` members with the given extra flags and waits for a leader.
    pub async fn start(n: usize, extra_args: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let members: Vec<MemberSpec> = (0..n)
            .map(|i| MemberSpec {
                name: format!("s{}", i + 1),
                client_port: free_port(),
                peer_port: free_port(),
                metrics_port: free_port(),
                data_dir: dir.path().join(format!("s{}", i + 1)),
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            procs: (0..n).map(|_| None).collect(),
            members,
            initial_cluster,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            _dir: dir,
        };
        for i in 0..n {
            cluster.start_member(i);
        }
        cluster.wait_for_leader(Duration::from_secs(20)).await;
        cluster
    }

    pub fn start_member(&mut self, i: usize) {
        assert!(self.procs[i].is_none(), "member {i} already running");
        let m = &self.members[i];
        let log = std::fs::File::create(format!("{}.log", m.data_dir.display())).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_skiff-store"))
            .args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&m.data_dir)
            .args(["--listen-client-urls", &m.client_url()])
            .args([
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{}", m.peer_port),
            ])
            .args([
                "--listen-metrics-urls",
                &format!("http://127.0.0.1:{}", m.metrics_port),
            ])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(&self.extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start skiff-store");
        self.procs[i] = Some(child);
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.procs[i].take() {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.procs[i].is_some()
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(format!("{}.log", self.members[i].data_dir.display()))
            .unwrap_or_default()
    }

    pub async fn kv(&self, i: usize) -> KvClient<Channel> {
        KvClient::new(channel(&self.members[i].client_url()).await)
    }

    pub async fn status(&self, i: usize) -> Option<StatusResponse> {
        let ch = tonic::transport::Endpoint::from_shared(self.members[i].client_url())
            .ok()?
            .connect_timeout(Duration::from_millis(300))
            .timeout(Duration::from_millis(500))
            .connect()
            .await
            .ok()?;
        MaintenanceClient::new(ch)
            .status(StatusRequest {})
            .await
            .ok()
            .map(|r| r.into_inner())
    }

    /// Index of the member every running member agrees is leader.
    pub async fn wait_for_leader(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let mut leaders = Vec::new();
            for i in 0..self.members.len() {
                if self.is_running(i) {
                    leaders.push(self.status(i).await.map_or(0, |s| s.leader));
                }
            }
            if let Some(&first) = leaders.first() {
                if first != 0 && leaders.iter().all(|l| *l == first) {
                    for i in 0..self.members.len() {
                        if self.is_running(i) {
                            if let Some(s) = self.status(i).await {
                                if s.header.map(|h| h.member_id) == Some(first) {
                                    return i;
                                }
                            }
                        }
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no agreed leader within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until member `i` has applied at least `index`.
    pub async fn wait_applied(&self, i: usize, index: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.status(i).await {
                if s.raft_applied_index >= index {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "member {i} did not apply index {index} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn metric(&self, i: usize, name: &str) -> Option<f64> {
        let body = http_get(self.members[i].metrics_port, "/metrics").await?;
        body.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.kill(i);
        }
    }
}

pub async fn channel(url: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(url.to_string())
        .expect("url")
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(15))
        .connect_lazy()
}

/// A plain HTTP/1.0 GET, enough for /metrics and /health.
pub async fn http_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut body))
        .await
        .ok()?
        .ok()?;
    Some(body)
}

pub async fn put(kv: &mut KvClient<Channel>, key: &str, value: &str) -> Result<i64, tonic::Status> {
    let resp = kv
        .put(PutRequest {
            key: key.into(),
            value: value.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(resp.header.map_or(0, |h| h.revision))
}

/// The value of `key` read locally (serializable) from member `i`'s view.
pub async fn get_local(kv: &mut KvClient<Channel>, key: &str) -> Option<Vec<u8>> {
    read_local(kv, key).await.ok()
}

/// A serializable read of `key` on the member `kv` talks to: its value, or what went wrong
/// (an error answer told apart from a missing key).
pub async fn read_local(kv: &mut KvClient<Channel>, key: &str) -> Result<Vec<u8>, String> {
    let resp = kv
        .range(RangeRequest {
            key: key.into(),
            serializable: true,
            ..Default::default()
        })
        .await
        .map_err(|status| format!("error answer: {status}"))?
        .into_inner();
    match resp.kvs.into_iter().next() {
        Some(kv) => Ok(kv.value),
        None => Err(format!(
            "no such key at revision {:?}",
            resp.header.map(|h| h.revision)
        )),
    }
}

pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
