//! What membership tests share: members started by hand beside a test cluster
//! (`--initial-cluster-state existing`), a steady writer that records every
//! acknowledged write, and a watch on who leads in which term.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use skiff_common::launch::{StoreMember, StorePlan};
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::PutRequest;
use skiff_testkit::process::Process;
use skiff_testkit::store::StoreCluster;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::util::*;

/// A member added to a running cluster, killed by PID when dropped.
pub struct Joiner {
    pub member: StoreMember,
    pub process: Process,
}

impl Joiner {
    /// A member named `name` with fresh ports and data dir under the cluster's directory.
    pub fn plan(cluster: &StoreCluster, name: &str) -> StoreMember {
        StoreMember {
            name: name.to_string(),
            client_port: free_port(),
            peer_port: free_port(),
            metrics_port: None,
            data_dir: cluster.dir().join(name),
            tls: false,
        }
    }

    /// Starts `member` with `--initial-cluster-state existing`, `--initial-cluster`
    /// naming `peers` (the members it may ask) and itself.
    pub fn start(cluster: &StoreCluster, member: StoreMember, peers: &[StoreMember]) -> Joiner {
        let mut plan = StorePlan {
            members: peers.to_vec(),
            ..cluster.plan().clone()
        };
        plan.members.push(member.clone());
        let mut args = plan.args(plan.members.len() - 1);
        if let Some(state) = args.iter().position(|a| a == "--initial-cluster-state") {
            args[state + 1] = "existing".into();
        }
        let binary = Path::new(env!("CARGO_BIN_EXE_skiff-store"));
        let log = cluster.dir().join(format!("{}.log", member.name));
        let mut process = Process::new(&member.name, binary, args, log);
        process.start();
        Joiner { member, process }
    }
}

/// Puts `/load/<n>` in a loop through whichever of `urls` answers; every put that was
/// acknowledged is recorded.
pub struct Writer {
    pub acked: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Writer {
    pub fn start(urls: Arc<Mutex<Vec<String>>>) -> Writer {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(write_loop(urls, acked.clone(), stop.clone()));
        Writer { acked, stop, task }
    }

    /// Stops writing; the keys acknowledged.
    pub async fn finish(self) -> Vec<String> {
        self.stop.cancel();
        let _ = self.task.await;
        let acked = self.acked.lock().clone();
        acked
    }
}

async fn write_loop(
    urls: Arc<Mutex<Vec<String>>>,
    acked: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
) {
    let mut n = 0u64;
    let mut target = 0usize;
    while !stop.is_cancelled() {
        let url = {
            let urls = urls.lock();
            urls[target % urls.len()].clone()
        };
        let key = format!("/load/{n:06}");
        let mut kv = KvClient::new(channel(&url).await);
        let put = kv.put(PutRequest {
            key: key.clone().into_bytes(),
            value: b"v".to_vec(),
            ..Default::default()
        });
        match tokio::time::timeout(Duration::from_secs(5), put).await {
            Ok(Ok(_)) => {
                acked.lock().push(key);
                n += 1;
            }
            _ => {
                target += 1;
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls every member's Maintenance.Status and records which leader each term had.
pub struct LeaderWatch {
    seen: Arc<Mutex<BTreeMap<u64, BTreeSet<u64>>>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl LeaderWatch {
    pub fn start(urls: Arc<Mutex<Vec<String>>>) -> LeaderWatch {
        let seen = Arc::new(Mutex::new(BTreeMap::<u64, BTreeSet<u64>>::new()));
        let stop = CancellationToken::new();
        let (record, until) = (seen.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !until.is_cancelled() {
                let current = urls.lock().clone();
                for url in current {
                    if let Some(s) =
                        skiff_testkit::store::status(&url, None, Duration::from_millis(300)).await
                    {
                        if s.leader != 0 {
                            record
                                .lock()
                                .entry(s.raft_term)
                                .or_default()
                                .insert(s.leader);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        LeaderWatch { seen, stop, task }
    }

    /// Stops watching; panics if any term had two leaders.
    pub async fn check_one_leader_per_term(self) {
        self.stop.cancel();
        let _ = self.task.await;
        let seen = self.seen.lock();
        assert!(!seen.is_empty(), "no leader was ever seen");
        for (term, leaders) in seen.iter() {
            assert_eq!(leaders.len(), 1, "term {term} had leaders {leaders:x?}");
        }
    }
}

/// Every key of `acked` is on the member at `url` (a serializable read there).
pub async fn all_present(url: &str, acked: &[String]) -> Result<(), String> {
    let mut kv = KvClient::new(channel(url).await);
    for key in acked {
        read_local(&mut kv, key)
            .await
            .map_err(|e| format!("{key} on {url}: {e}"))?;
    }
    Ok(())
}
