//! Fault injection: the seeded schedule ([`plan`]), the clusters it runs against ([`local`]: `skiff up`; [`compose`]: docker compose), and the loop that injects each fault, holds it, heals it and logs both with their times.

pub mod compose;
pub mod local;
pub mod plan;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use rustix::process::Signal;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::ChaosError;
use plan::{FaultKind, PlannedFault, Role};

/// A process (skiff up) or container (compose) a fault hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The component (`store-2`, `apiserver`) or compose service.
    pub name: String,
    pub pid: u32,
    pub start_time: u64,
    /// Started again after a kill (a container supervisor is not: its nodelet handles it).
    pub restartable: bool,
}

/// Who holds the controller-manager's and the scheduler's leader leases.
#[derive(Clone, Debug, Default)]
pub struct LeaseHolders {
    pub controller_manager: Option<String>,
    pub scheduler: Option<String>,
}

/// One line of `faults.jsonl`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FaultRecord {
    /// Milliseconds after the run started.
    pub at_ms: u64,
    pub kind: FaultKind,
    pub role: Role,
    /// What was hit (component or service, and PID under `skiff up`).
    pub target: String,
    /// `inject` or `heal`, or `skipped` (no such target now).
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The cluster faults are injected into.
pub enum Cluster {
    Local(local::LocalCluster),
    Compose(compose::ComposeCluster),
}

impl Cluster {
    pub fn roles(&self) -> Result<Vec<Role>, ChaosError> {
        match self {
            Cluster::Local(c) => c.roles(),
            Cluster::Compose(c) => Ok(c.roles()),
        }
    }

    pub fn store_members(&self) -> usize {
        match self {
            Cluster::Local(c) => c.state().map(|s| s.stores.len()).unwrap_or(3),
            Cluster::Compose(c) => c.store_members(),
        }
    }

    /// Faults this cluster can take.
    pub fn supports(&self, kind: FaultKind) -> bool {
        !(matches!(self, Cluster::Local(_)) && kind == FaultKind::Partition)
    }

    /// What a fault of `kind` on `t` acts on: the process, except under compose, where
    /// everything but a kill acts on the whole container (`docker pause`, `restart`,
    /// `network disconnect`), so a node's nodelet and its container supervisor are one.
    fn acts_on(&self, kind: FaultKind, t: &Target) -> String {
        acted_on(matches!(self, Cluster::Compose(_)), kind, &t.name).to_string()
    }

    async fn resolve(
        &self,
        role: Role,
        rng: &mut StdRng,
        leases: &LeaseHolders,
    ) -> Result<Option<Target>, ChaosError> {
        match self {
            Cluster::Local(c) => c.resolve(role, rng, leases).await,
            Cluster::Compose(c) => c.resolve(role, rng, leases).await,
        }
    }

    async fn inject(&mut self, kind: FaultKind, t: &Target) -> Result<String, ChaosError> {
        match self {
            Cluster::Local(c) => match kind {
                FaultKind::Kill => Ok(if c.signal(t, Signal::KILL)? {
                    format!("SIGKILL pid {}", t.pid)
                } else {
                    "already gone".into()
                }),
                FaultKind::Pause => Ok(if c.signal(t, Signal::STOP)? {
                    format!("SIGSTOP pid {}", t.pid)
                } else {
                    "already gone".into()
                }),
                FaultKind::Restart => {
                    c.signal(t, Signal::TERM)?;
                    let gone = c.wait_gone(t, Duration::from_secs(10)).await;
                    if !gone {
                        c.signal(t, Signal::KILL)?;
                    }
                    Ok(format!(
                        "SIGTERM pid {}{}",
                        t.pid,
                        if gone { "" } else { ", then SIGKILL" }
                    ))
                }
                FaultKind::Partition => Err(ChaosError::msg(
                    "partitions need a compose cluster (--compose FILE)",
                )),
            },
            Cluster::Compose(c) => c.inject(kind, t).await,
        }
    }

    async fn heal(&mut self, kind: FaultKind, t: &Target) -> Result<String, ChaosError> {
        match self {
            Cluster::Local(c) => match kind {
                FaultKind::Pause => {
                    c.signal(t, Signal::CONT)?;
                    Ok(format!("SIGCONT pid {}", t.pid))
                }
                _ if !t.restartable => Ok("left to its nodelet".into()),
                _ => {
                    c.wait_gone(t, Duration::from_secs(5)).await;
                    Ok(match c.start_again(&t.name)? {
                        Some(pid) => format!("started again as pid {pid}"),
                        None => "already running again (the supervisor started it)".into(),
                    })
                }
            },
            Cluster::Compose(c) => c.heal(kind, t).await,
        }
    }

    /// PIDs, nodes and pod uids of every container process now, or why they could not be
    /// listed.
    pub async fn container_processes(&self) -> Result<Vec<(u32, String, String)>, String> {
        match self {
            Cluster::Local(c) => Ok(c.container_processes()),
            Cluster::Compose(c) => c.container_processes().await,
        }
    }
}

/// Runs `schedule` from `start`; returns every fault logged and when the last was healed.
pub async fn run(
    cluster: &mut Cluster,
    schedule: &[PlannedFault],
    seed: u64,
    start: Instant,
    leases: impl Fn() -> LeaseHolders,
    cancel: CancellationToken,
) -> (Vec<FaultRecord>, Option<Instant>) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut log = Vec::new();
    let mut last_heal = None;
    let ms = |at: Instant| at.duration_since(start).as_millis() as u64;
    for fault in schedule {
        let due = start + Duration::from_millis(fault.at_ms);
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = cancel.cancelled() => break,
        }
        let holders = leases();
        let mut hit = Vec::new();
        for role in &fault.roles {
            let record = |target: &str, action: &str, detail: String| FaultRecord {
                at_ms: ms(Instant::now()),
                kind: fault.kind,
                role: *role,
                target: target.to_string(),
                action: action.to_string(),
                detail,
            };
            match cluster.resolve(*role, &mut rng, &holders).await {
                Ok(Some(t))
                    if hit.iter().any(|(_, h): &(Role, Target)| {
                        cluster.acts_on(fault.kind, h) == cluster.acts_on(fault.kind, &t)
                    }) =>
                {
                    let what = cluster.acts_on(fault.kind, &t);
                    log.push(record(
                        &t.name,
                        "skipped",
                        format!("{what} is already hit by this fault"),
                    ));
                }
                Ok(Some(t)) => {
                    let detail = cluster
                        .inject(fault.kind, &t)
                        .await
                        .unwrap_or_else(|e| format!("failed: {e}"));
                    log.push(record(&t.name, "inject", detail.clone()));
                    eprintln!(
                        "chaos: {:>7}ms {:?} {:?} {}: {detail}",
                        ms(Instant::now()),
                        fault.kind,
                        role,
                        t.name
                    );
                    hit.push((*role, t));
                }
                Ok(_) => log.push(record("", "skipped", "no such process now".into())),
                Err(e) => log.push(record("", "skipped", e.to_string())),
            }
        }
        tokio::time::sleep(Duration::from_millis(fault.hold_ms)).await;
        for (role, t) in hit {
            let detail = cluster
                .heal(fault.kind, &t)
                .await
                .unwrap_or_else(|e| format!("failed: {e}"));
            eprintln!(
                "chaos: {:>7}ms healed {} : {detail}",
                ms(Instant::now()),
                t.name
            );
            log.push(FaultRecord {
                at_ms: ms(Instant::now()),
                kind: fault.kind,
                role,
                target: t.name.clone(),
                action: "heal".into(),
                detail,
            });
            last_heal = Some(Instant::now());
        }
    }
    (log, last_heal)
}

/// See [`Cluster::acts_on`].
fn acted_on(compose: bool, kind: FaultKind, target: &str) -> &str {
    if compose && kind != FaultKind::Kill {
        target.trim_end_matches(":supervisor")
    } else {
        target
    }
}

#[cfg(test)]
mod acted_on_tests {
    use super::{acted_on, FaultKind};

    #[test]
    fn under_compose_only_a_kill_tells_a_nodelet_from_its_container_supervisor() {
        for kind in [FaultKind::Pause, FaultKind::Restart, FaultKind::Partition] {
            assert_eq!(acted_on(true, kind, "node-1:supervisor"), "node-1");
            assert_eq!(acted_on(true, kind, "node-1"), "node-1");
        }
        assert_eq!(
            acted_on(true, FaultKind::Kill, "node-1:supervisor"),
            "node-1:supervisor"
        );
        assert_eq!(
            acted_on(false, FaultKind::Pause, "nodelet-n1"),
            "nodelet-n1"
        );
    }
}
