//! Leader failover: SIGKILL the leader under a continuous writer and time how
//! long until a write issued after the kill succeeds.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::PutRequest;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::cluster::Cluster;
use crate::stats::{median, ms};
use crate::{probe, BenchError};

/// A new write is started this often, whether or not earlier ones have returned,
/// so a request stuck on a dead leader does not hide the moment writes resume.
const WRITE_EVERY: Duration = Duration::from_millis(10);
/// Longest a single write may take before it counts as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// Most writes in flight at once.
const MAX_IN_FLIGHT: usize = 512;
/// Pause after a restarted member rejoins, so each kill hits a settled cluster
/// (the member caught up, heartbeats flowing) rather than one still recovering.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Round {
    pub killed: String,
    pub new_leader: String,
    /// From the SIGKILL to the completion of the first write started after it.
    pub downtime: Duration,
    /// From the restart of the killed member until all members agree on a leader again.
    pub rejoin: Duration,
}

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "killed leader {} -> next write after {} ms (new leader {}); {} back in {} ms",
            self.killed,
            ms(self.downtime),
            self.new_leader,
            self.killed,
            ms(self.rejoin)
        )
    }
}

#[derive(Debug, Clone)]
pub struct FailoverReport {
    pub rounds: Vec<Round>,
}

impl FailoverReport {
    pub fn median(&self) -> Option<Duration> {
        median(&self.rounds.iter().map(|r| r.downtime).collect::<Vec<_>>())
    }

    pub fn max(&self) -> Option<Duration> {
        self.rounds.iter().map(|r| r.downtime).max()
    }
}

impl fmt::Display for FailoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.rounds.iter().enumerate() {
            writeln!(f, "round {}: {r}", i + 1)?;
        }
        if let (Some(med), Some(max)) = (self.median(), self.max()) {
            writeln!(
                f,
                "failover: median {} ms, max {} ms over {} rounds",
                ms(med),
                ms(max),
                self.rounds.len()
            )?;
        }
        Ok(())
    }
}

/// A write that succeeded, with when it was started and when it returned.
#[derive(Debug, Clone, Copy)]
struct Success {
    started: Instant,
    done: Instant,
}

/// Aborts the writer when the measurement ends, however it ends.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts writes every [`WRITE_EVERY`] to the members not marked in `down`
/// (round-robin), reporting each success.
async fn writer(channels: Vec<Channel>, down: Arc<AtomicU64>, tx: mpsc::UnboundedSender<Success>) {
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tick = tokio::time::interval(WRITE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next = 0usize;
    let mut seq = 0u64;
    loop {
        tick.tick().await;
        let mask = down.load(Ordering::SeqCst);
        let Some(target) = (0..channels.len())
            .map(|k| (next + k) % channels.len())
            .find(|&i| mask & (1 << i) == 0)
        else {
            continue;
        };
        next = target + 1;
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            continue;
        };
        seq += 1;
        let mut client = KvClient::new(channels[target].clone());
        let tx = tx.clone();
        let request = PutRequest {
            key: b"skiff-bench-failover".to_vec(),
            value: seq.to_be_bytes().to_vec(),
            ..Default::default()
        };
        tokio::spawn(async move {
            let started = Instant::now();
            if let Ok(Ok(_)) = tokio::time::timeout(WRITE_TIMEOUT, client.put(request)).await {
                let _ = tx.send(Success {
                    started,
                    done: Instant::now(),
                });
            }
            drop(permit);
        });
    }
}

/// The first success of a write started at or after `since`.
async fn first_write_since(
    rx: &mut mpsc::UnboundedReceiver<Success>,
    since: Instant,
    limit: Duration,
) -> Result<Success, BenchError> {
    let wait = async {
        while let Some(s) = rx.recv().await {
            if s.started >= since {
                return Some(s);
            }
        }
        None
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(BenchError::Invalid("the writer stopped".into())),
        Err(_) => Err(BenchError::timeout("a successful write", limit)),
    }
}

/// Kills the leader `rounds` times, restarting it each time; `on_round` sees each
/// round as it completes.
pub async fn run(
    cluster: &mut Cluster,
    rounds: usize,
    mut on_round: impl FnMut(usize, &Round),
) -> Result<FailoverReport, BenchError> {
    let all: Vec<usize> = (0..cluster.len()).collect();
    let channels = cluster
        .client_urls()
        .iter()
        .map(|u| probe::connect_lazy(u, None))
        .collect::<Result<Vec<_>, _>>()?;
    let down = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _writer = AbortOnDrop(tokio::spawn(writer(channels, Arc::clone(&down), tx)));
    let mut report = FailoverReport {
        rounds: Vec::with_capacity(rounds),
    };
    for round in 0..rounds {
        let leader = cluster
            .wait_for_leader(&all, Duration::from_secs(30))
            .await?;
        // The cluster must be taking writes before the kill, or the number means nothing.
        first_write_since(&mut rx, Instant::now(), Duration::from_secs(15)).await?;
        down.store(1 << leader, Ordering::SeqCst);
        let killed_at = Instant::now();
        cluster.kill(leader)?;
        let first = first_write_since(&mut rx, killed_at, Duration::from_secs(60)).await?;
        let downtime = first.done.duration_since(killed_at);
        let survivors: Vec<usize> = all.iter().copied().filter(|&i| i != leader).collect();
        let new_leader = cluster
            .wait_for_leader(&survivors, Duration::from_secs(30))
            .await?;
        cluster.restart(leader)?;
        let restarted_at = Instant::now();
        cluster
            .wait_for_leader(&all, Duration::from_secs(60))
            .await?;
        let rejoin = restarted_at.elapsed();
        down.store(0, Ordering::SeqCst);
        tokio::time::sleep(SETTLE).await;
        let r = Round {
            killed: cluster.name(leader).to_string(),
            new_leader: cluster.name(new_leader).to_string(),
            downtime,
            rejoin,
        };
        on_round(round, &r);
        report.rounds.push(r);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(ms: u64) -> Round {
        Round {
            killed: "m1".into(),
            new_leader: "m2".into(),
            downtime: Duration::from_millis(ms),
            rejoin: Duration::from_millis(1),
        }
    }

    #[test]
    fn median_and_max_of_rounds() {
        let r = FailoverReport {
            rounds: vec![
                round(1400),
                round(1100),
                round(2000),
                round(1200),
                round(1300),
            ],
        };
        assert_eq!(r.median(), Some(Duration::from_millis(1300)));
        assert_eq!(r.max(), Some(Duration::from_millis(2000)));
        assert!(r
            .to_string()
            .contains("median 1300.00 ms, max 2000.00 ms over 5 rounds"));
        assert_eq!(FailoverReport { rounds: vec![] }.median(), None);
    }

    #[tokio::test]
    async fn only_writes_started_after_the_kill_count() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let before = Instant::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let kill = Instant::now();
        tx.send(Success {
            started: before,
            done: Instant::now(),
        })
        .unwrap();
        let after = Instant::now();
        tx.send(Success {
            started: after,
            done: after,
        })
        .unwrap();
        let s = first_write_since(&mut rx, kill, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(s.started, after);
        assert!(first_write_since(&mut rx, kill, Duration::from_millis(20))
            .await
            .is_err());
    }
}
