//! The fault schedule: a pure function of the seed, the duration, the fault kinds and the roles the cluster has, so one seed always gives one schedule.
//!
//! Faults come one after another, each held for a while and then healed. The first ones go
//! through every (kind, role) pair in a seeded order, so a short run still hits every kind
//! of component with every kind of fault; the rest are drawn at random, sometimes with extra
//! targets hit at the same moment (never more than a minority of the store members).

use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What is done to a target.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// SIGKILL; started again like its supervisor would.
    Kill,
    /// SIGSTOP, then SIGCONT: frozen with its sockets open.
    Pause,
    /// Cut off the network, then reconnected (compose only).
    Partition,
    /// Stopped gracefully and started again.
    Restart,
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<FaultKind, String> {
        match s {
            "kill" => Ok(FaultKind::Kill),
            "pause" => Ok(FaultKind::Pause),
            "partition" => Ok(FaultKind::Partition),
            "restart" => Ok(FaultKind::Restart),
            other => Err(format!(
                "unknown fault {other:?} (known: kill, pause, partition, restart)"
            )),
        }
    }
}

/// Which component a fault hits; resolved to a process or container when it is injected.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    StoreLeader,
    StoreFollower,
    Apiserver,
    ControllerManagerLeader,
    ControllerManagerStandby,
    SchedulerLeader,
    SchedulerStandby,
    Nodelet,
    /// A container's supervisor process on a node.
    ContainerSupervisor,
}

impl Role {
    pub fn is_store(self) -> bool {
        matches!(self, Role::StoreLeader | Role::StoreFollower)
    }
}

/// One fault of the schedule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PlannedFault {
    /// Milliseconds after the run started.
    pub at_ms: u64,
    pub kind: FaultKind,
    pub roles: Vec<Role>,
    /// How long it is held before it is healed (a killed process is started again then).
    pub hold_ms: u64,
}

/// Knobs of the schedule.
#[derive(Clone, Debug)]
pub struct PlanConfig {
    pub seed: u64,
    pub duration: Duration,
    pub kinds: Vec<FaultKind>,
    /// The roles this cluster has.
    pub roles: Vec<Role>,
    pub store_members: usize,
    /// Time from one fault's start to the next one's, before jitter.
    pub interval: Duration,
    /// Longest hold of a fault.
    pub max_hold: Duration,
}

/// Pairs of (kind, role) that make sense: a container supervisor is not on the network.
fn applies(kind: FaultKind, role: Role) -> bool {
    !(kind == FaultKind::Partition && role == Role::ContainerSupervisor)
}

pub fn plan(cfg: &PlanConfig) -> Vec<PlannedFault> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut pairs: Vec<(FaultKind, Role)> = cfg
        .kinds
        .iter()
        .flat_map(|k| cfg.roles.iter().map(move |r| (*k, *r)))
        .filter(|(k, r)| applies(*k, *r))
        .collect();
    pairs.shuffle(&mut rng);
    let minority = cfg.store_members.saturating_sub(1) / 2;
    let interval = cfg.interval.as_millis() as u64;
    let end = cfg.duration.as_millis() as u64;
    let max_hold = (cfg.max_hold.as_millis() as u64).clamp(200, interval.max(400) * 3 / 4);
    let mut faults = Vec::new();
    let mut at = interval / 2;
    let mut i = 0;
    while at < end && !cfg.roles.is_empty() && !cfg.kinds.is_empty() && !pairs.is_empty() {
        let (kind, first) = match pairs.get(i) {
            Some(pair) => *pair,
            None => pairs[rng.gen_range(0..pairs.len())],
        };
        let mut roles = vec![first];
        // Now and then more than one target at once.
        let extra = if i >= pairs.len() {
            rng.gen_range(0..3)
        } else {
            0
        };
        for _ in 0..extra {
            let r = cfg.roles[rng.gen_range(0..cfg.roles.len())];
            let stores = roles.iter().filter(|r| r.is_store()).count();
            if roles.contains(&r) || !applies(kind, r) || (r.is_store() && stores >= minority) {
                continue;
            }
            roles.push(r);
        }
        let hold_ms = rng.gen_range(max_hold / 3..=max_hold);
        faults.push(PlannedFault {
            at_ms: at,
            kind,
            roles,
            hold_ms,
        });
        i += 1;
        at += interval + rng.gen_range(0..=interval / 4);
    }
    faults
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(seed: u64) -> PlanConfig {
        PlanConfig {
            seed,
            duration: Duration::from_secs(120),
            kinds: vec![FaultKind::Kill, FaultKind::Pause],
            roles: vec![
                Role::StoreLeader,
                Role::StoreFollower,
                Role::Apiserver,
                Role::ControllerManagerLeader,
                Role::SchedulerLeader,
                Role::Nodelet,
                Role::ContainerSupervisor,
            ],
            store_members: 3,
            interval: Duration::from_secs(4),
            max_hold: Duration::from_secs(2),
        }
    }

    #[test]
    fn one_seed_one_schedule() {
        assert_eq!(plan(&cfg(7)), plan(&cfg(7)));
        assert_ne!(plan(&cfg(7)), plan(&cfg(8)));
    }

    #[test]
    fn every_kind_hits_every_role_first_and_faults_do_not_overlap() {
        let faults = plan(&cfg(1));
        let first: std::collections::BTreeSet<(FaultKind, Role)> = faults
            .iter()
            .take(14)
            .map(|f| (f.kind, f.roles[0]))
            .collect();
        assert_eq!(first.len(), 14, "{faults:#?}");
        for pair in faults.windows(2) {
            assert!(pair[0].at_ms + pair[0].hold_ms < pair[1].at_ms, "{pair:?}");
        }
        assert!(
            faults.iter().any(|f| f.roles.len() > 1),
            "some hit several at once"
        );
    }

    #[test]
    fn at_most_a_minority_of_store_members_at_once() {
        for seed in 0..50 {
            for f in plan(&cfg(seed)) {
                assert!(
                    f.roles.iter().filter(|r| r.is_store()).count() <= 1,
                    "{f:?}"
                );
            }
        }
    }

    #[test]
    fn fault_names_parse() {
        assert_eq!("pause".parse::<FaultKind>(), Ok(FaultKind::Pause));
        assert!("nuke"
            .parse::<FaultKind>()
            .unwrap_err()
            .contains("known: kill"));
    }
}
