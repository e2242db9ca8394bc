//! `skiff-bench ops`: the store's operations side by side with etcd on the same data:
//! adding a learner to a 3-member cluster holding N keys and promoting it once caught up,
//! and `etcdctl snapshot save` / restore throughput (MB/s of the snapshot file; etcd
//! restores with `etcdctl snapshot restore`, skiff-store with `skiff-store restore`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;
use skiff_common::launch::{StoreMember, StorePlan};
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::PutRequest;
use skiff_testkit::process::Process;

use crate::cli::Kind;
use crate::cluster::Cluster;
use crate::BenchError;

#[derive(Args, Debug)]
pub struct OpsArgs {
    /// The etcd binary.
    #[arg(long, default_value = "/usr/bin/etcd")]
    pub etcd: PathBuf,
    /// The skiff-store binary.
    #[arg(long, default_value = "target/release/skiff-store")]
    pub skiff: PathBuf,
    /// Keys in the store before the learner is added and the snapshot taken.
    #[arg(long, default_value_t = 100_000)]
    pub keys: usize,
    /// Bytes per value.
    #[arg(long, default_value_t = 256)]
    pub val_size: usize,
}

/// One binary's figures.
#[derive(Debug, Default)]
pub struct Figures {
    pub learner_to_voter: Duration,
    pub snapshot_bytes: u64,
    pub save: Duration,
    pub restore: Duration,
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64().max(1e-9)
}

fn etcdctl(endpoint: &str, args: &[&str]) -> Result<String, BenchError> {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(args)
        .output()
        .map_err(|e| BenchError::io("running etcdctl", e))?;
    if !out.status.success() {
        return Err(BenchError::Invalid(format!(
            "etcdctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `keys` keys of `val_size` bytes, written by 64 concurrent clients.
async fn load(url: &str, keys: usize, val_size: usize) -> Result<(), BenchError> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .map_err(|e| BenchError::Invalid(e.to_string()))?
        .connect_lazy();
    let mut tasks = Vec::new();
    for worker in 0..64 {
        let mut kv = KvClient::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            for i in (worker..keys).step_by(64) {
                kv.put(PutRequest {
                    key: format!("/bench/ops/{i:08}").into_bytes(),
                    value: vec![b'v'; val_size],
                    ..Default::default()
                })
                .await
                .map_err(|s| BenchError::rpc("put", s))?;
            }
            Ok::<(), BenchError>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| BenchError::Invalid(format!("loader: {e}")))??;
    }
    Ok(())
}

fn free_member(dir: &Path, name: &str) -> Result<StoreMember, BenchError> {
    let port = || skiff_testkit::free_port().map_err(|_| BenchError::NoFreePort);
    Ok(StoreMember {
        name: name.to_string(),
        client_port: port()?,
        peer_port: port()?,
        metrics_port: None,
        data_dir: dir.join(name),
        tls: false,
    })
}

/// Adds a learner, starts it, and promotes it as soon as the leader accepts.
async fn learner(cluster: &Cluster, binary: &Path, endpoint: &str) -> Result<Duration, BenchError> {
    let member = free_member(cluster.dir(), "learner")?;
    let mut plan: StorePlan = cluster.plan().clone();
    plan.members.push(member.clone());
    let mut args = plan.args(plan.members.len() - 1);
    if let Some(i) = args.iter().position(|a| a == "--initial-cluster-state") {
        args[i + 1] = "existing".into();
    }
    // etcd accepts a member only once every voter has been connected for 5 s.
    let peer_urls = format!("--peer-urls={}", member.peer_url());
    let add = ["member", "add", "learner", "--learner", &peer_urls];
    let asked = Instant::now();
    let added = loop {
        match etcdctl(endpoint, &add) {
            Ok(out) => break out,
            Err(e)
                if asked.elapsed() < Duration::from_secs(30)
                    && e.to_string().contains("unhealthy") =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let started = Instant::now();
    let id = added
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| BenchError::Invalid(format!("member add said {added:?}")))?
        .to_string();
    let mut process = Process::new("learner", binary, args, cluster.dir().join("learner.log"));
    process.try_start()?;
    loop {
        if etcdctl(endpoint, &["member", "promote", &id]).is_ok() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(BenchError::Timeout {
                what: "the learner's promotion".into(),
                secs: 600.0,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn restore(kind: Kind, binary: &Path, file: &Path, dir: &Path) -> Result<Duration, BenchError> {
    let member = free_member(dir, "restored")?;
    let flags = [
        "--name".to_string(),
        member.name.clone(),
        "--data-dir".into(),
        member.data_dir.display().to_string(),
        "--initial-cluster".into(),
        format!("restored={}", member.peer_url()),
        "--initial-cluster-token".into(),
        "restored".into(),
        "--initial-advertise-peer-urls".into(),
        member.peer_url(),
    ];
    let mut command = match kind {
        Kind::Etcd => {
            let mut c = Command::new("etcdctl");
            c.env("ETCDCTL_API", "3")
                .args(["snapshot", "restore"])
                .arg(file);
            c
        }
        Kind::Skiff => {
            let mut c = Command::new(binary);
            c.args(["restore", "--snapshot"]).arg(file);
            c
        }
    };
    let started = Instant::now();
    let out = command
        .args(&flags)
        .output()
        .map_err(|e| BenchError::io("running restore", e))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(BenchError::Invalid(format!(
            "restore: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(took)
}

pub async fn measure(binary: &Path, kind: Kind, args: &OpsArgs) -> Result<Figures, BenchError> {
    let mut cluster = Cluster::start(binary, kind, 3, Duration::from_secs(30)).await?;
    let leader = cluster
        .wait_for_leader(&[0, 1, 2], Duration::from_secs(30))
        .await?;
    let endpoint = cluster.client_urls()[leader].clone();
    eprintln!("{}: loading {} keys", kind.label(), args.keys);
    load(&endpoint, args.keys, args.val_size).await?;
    let file = cluster.dir().join("ops-snapshot.db");
    let started = Instant::now();
    etcdctl(
        &endpoint,
        &["snapshot", "save", &file.display().to_string()],
    )?;
    let save = started.elapsed();
    let snapshot_bytes = std::fs::metadata(&file)
        .map_err(|e| BenchError::io("reading the snapshot's size", e))?
        .len();
    let restore = restore(kind, binary, &file, cluster.dir())?;
    eprintln!("{}: adding a learner", kind.label());
    let learner_to_voter = learner(&cluster, binary, &endpoint).await?;
    Ok(Figures {
        learner_to_voter,
        snapshot_bytes,
        save,
        restore,
    })
}

pub async fn run(args: OpsArgs) -> Result<(), BenchError> {
    let etcd = measure(&args.etcd, Kind::Etcd, &args).await?;
    let skiff = measure(&args.skiff, Kind::Skiff, &args).await?;
    println!(
        "| {} keys of {} B, 3 members | etcd | skiff-store |",
        args.keys, args.val_size
    );
    println!("|---|---|---|");
    println!(
        "| learner added, caught up, promoted | {:.2} s | {:.2} s |",
        etcd.learner_to_voter.as_secs_f64(),
        skiff.learner_to_voter.as_secs_f64()
    );
    println!(
        "| snapshot file | {:.1} MB | {:.1} MB |",
        etcd.snapshot_bytes as f64 / 1e6,
        skiff.snapshot_bytes as f64 / 1e6
    );
    for (what, e, s) in [
        ("snapshot save", etcd.save, skiff.save),
        ("restore", etcd.restore, skiff.restore),
    ] {
        println!(
            "| {what} | {:.0} MB/s ({:.2} s) | {:.0} MB/s ({:.2} s) |",
            mb_per_s(etcd.snapshot_bytes, e),
            e.as_secs_f64(),
            mb_per_s(skiff.snapshot_bytes, s),
            s.as_secs_f64()
        );
    }
    Ok(())
}
