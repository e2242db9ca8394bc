//! A throw-away local cluster for the benchmark: 3 store members and one apiserver on free loopback ports, killed when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ApiserverBenchError;

/// The token the local cluster's admin uses.
pub const LOCAL_TOKEN: &str = "bench-admin";

pub struct LocalCluster {
    children: Vec<Child>,
    pub url: String,
    /// Client URL of the first store member.
    pub store: String,
    pub dir: tempfile::TempDir,
}

fn free_port() -> Result<u16, ApiserverBenchError> {
    skiff_common::ports::free_loopback_port()
        .ok_or_else(|| ApiserverBenchError::Setup("no free loopback port".to_string()))
}

fn spawn(cmd: &mut Command, what: &str, log: &Path) -> Result<Child, ApiserverBenchError> {
    let log = std::fs::File::create(log).map_err(|source| ApiserverBenchError::Spawn {
        what: what.to_string(),
        source,
    })?;
    cmd.stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|source| ApiserverBenchError::Spawn {
            what: what.to_string(),
            source,
        })
}

impl LocalCluster {
    /// Starts the cluster and waits until the apiserver reports healthy.
    pub async fn start(
        store_bin: &Path,
        apiserver_bin: &Path,
    ) -> Result<LocalCluster, ApiserverBenchError> {
        let dir = tempfile::tempdir()
            .map_err(|e| ApiserverBenchError::Setup(format!("no temp dir: {e}")))?;
        let mut cluster = LocalCluster {
            children: Vec::new(),
            url: String::new(),
            store: String::new(),
            dir,
        };
        let mut members = Vec::new();
        for i in 1..=3 {
            members.push((format!("s{i}"), free_port()?, free_port()?));
        }
        let initial: Vec<String> = members
            .iter()
            .map(|(n, _, peer)| format!("{n}=http://127.0.0.1:{peer}"))
            .collect();
        let initial = initial.join(",");
        for (name, client, peer) in &members {
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let mut cmd = Command::new(store_bin);
            cmd.args(["--name", name])
                .arg("--data-dir")
                .arg(cluster.dir.path().join(name))
                .args([
                    "--listen-client-urls",
                    &client_url,
                    "--advertise-client-urls",
                    &client_url,
                ])
                .args([
                    "--listen-peer-urls",
                    &peer_url,
                    "--initial-advertise-peer-urls",
                    &peer_url,
                ])
                .args([
                    "--initial-cluster",
                    &initial,
                    "--initial-cluster-state",
                    "new",
                ]);
            let log = cluster.dir.path().join(format!("{name}.log"));
            cluster
                .children
                .push(spawn(&mut cmd, &store_bin.display().to_string(), &log)?);
        }
        let endpoints: Vec<String> = members
            .iter()
            .map(|(_, c, _)| format!("http://127.0.0.1:{c}"))
            .collect();
        cluster.store = endpoints[0].clone();
        let tokens = cluster.dir.path().join("tokens.csv");
        std::fs::write(
            &tokens,
            format!("{LOCAL_TOKEN},bench,1,\"system:masters\"\n"),
        )
        .map_err(|e| ApiserverBenchError::Setup(format!("cannot write the token file: {e}")))?;
        let (port, metrics_port) = (free_port()?, free_port()?);
        let mut cmd = Command::new(apiserver_bin);
        cmd.args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--store-endpoints", &endpoints.join(",")])
            .arg("--token-file")
            .arg(&tokens)
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .env("RUST_LOG", "warn");
        let log = cluster.dir.path().join("apiserver.log");
        cluster
            .children
            .push(spawn(&mut cmd, &apiserver_bin.display().to_string(), &log)?);
        cluster.url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !healthy(metrics_port).await {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(ApiserverBenchError::Setup(format!(
                    "the local apiserver did not become healthy:\n{log}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(cluster)
    }
}

async fn healthy(port: u16) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"GET /health HTTP/1.0\r\n\r\n").await.is_err() {
        return false;
    }
    let mut text = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut text)).await;
    text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200")
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
