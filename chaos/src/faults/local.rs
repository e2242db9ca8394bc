//! Faults on a cluster started by `skiff up`: its `state.json` names every component's PID, start time and command line; a killed component is started again the way `skiff up`'s supervisor would (same command line, log and data), under the same lock, so the two never both start it.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rustix::process::{kill_process, Pid, Signal};
use skiff_cli::up::lock::StateLock;
use skiff_cli::up::procs;
use skiff_cli::up::state::{ClusterState, Component, Health};

use super::plan::Role;
use super::Target;
use crate::error::ChaosError;

/// A `skiff up` cluster.
pub struct LocalCluster {
    dir: PathBuf,
    /// Processes this tool started again (reaped so none stays a zombie).
    children: Vec<Child>,
}

fn signal(pid: u32, sig: Signal) -> Result<(), ChaosError> {
    let raw = i32::try_from(pid).ok().and_then(Pid::from_raw);
    let pid = raw.ok_or_else(|| ChaosError::msg(format!("bad pid {pid}")))?;
    kill_process(pid, sig).map_err(|e| ChaosError::msg(format!("signal {sig:?} to {pid:?}: {e}")))
}

/// Still the same process (PID not reused).
fn same(pid: u32, start_time: u64) -> bool {
    procs::proc_info(pid).is_some_and(|i| i.state != 'Z' && i.start_time == start_time)
}

impl LocalCluster {
    pub fn open(dir: &Path) -> Result<LocalCluster, ChaosError> {
        let cluster = LocalCluster {
            dir: dir.to_path_buf(),
            children: Vec::new(),
        };
        cluster.state()?;
        Ok(cluster)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn state(&self) -> Result<ClusterState, ChaosError> {
        ClusterState::load(&self.dir)
            .map_err(|e| ChaosError::msg(e.to_string()))?
            .ok_or_else(|| {
                ChaosError::msg(format!(
                    "{} has no state.json: start a cluster there with `skiff up --dir`",
                    self.dir.display()
                ))
            })
    }

    fn components(&self, prefix: &str) -> Result<Vec<Component>, ChaosError> {
        Ok(self
            .state()?
            .components
            .into_iter()
            .filter(|c| c.name.starts_with(prefix) && procs::is_running(c))
            .collect())
    }

    /// The roles this cluster has.
    pub fn roles(&self) -> Result<Vec<Role>, ChaosError> {
        let state = self.state()?;
        let count = |p: &str| {
            state
                .components
                .iter()
                .filter(|c| c.name.starts_with(p))
                .count()
        };
        let mut roles = vec![Role::StoreLeader, Role::StoreFollower, Role::Apiserver];
        for (prefix, leader, standby) in [
            (
                "controller-manager",
                Role::ControllerManagerLeader,
                Role::ControllerManagerStandby,
            ),
            ("scheduler", Role::SchedulerLeader, Role::SchedulerStandby),
        ] {
            if count(prefix) >= 1 {
                roles.push(leader);
            }
            if count(prefix) >= 2 {
                roles.push(standby);
            }
        }
        roles.extend([Role::Nodelet, Role::ContainerSupervisor]);
        Ok(roles)
    }

    /// The store member leading now, by its own Maintenance.Status.
    async fn store_leader(&self) -> Result<Option<String>, ChaosError> {
        let pki = self.state()?.pki_layout();
        for c in self.components("store-")? {
            let Health::Store { client_url } = &c.health else {
                continue;
            };
            if let Ok(status) = skiff_cli::up::store_status(client_url, pki.as_ref()).await {
                if status.leader != 0
                    && status.header.as_ref().map(|h| h.member_id) == Some(status.leader)
                {
                    return Ok(Some(c.name.clone()));
                }
            }
        }
        Ok(None)
    }

    /// Picks a running process for `role`.
    pub async fn resolve(
        &self,
        role: Role,
        rng: &mut StdRng,
        leases: &super::LeaseHolders,
    ) -> Result<Option<Target>, ChaosError> {
        let of = |c: &Component| Target {
            name: c.name.clone(),
            pid: c.pid.unwrap_or_default(),
            start_time: c.start_time.unwrap_or_default(),
            restartable: true,
        };
        let pick = |mut cs: Vec<Component>, rng: &mut StdRng| {
            cs.shuffle(rng);
            cs.first().map(of)
        };
        let leader_of = |prefix: &str, holder: &Option<String>, want_leader: bool| {
            let cs = self.components(prefix)?;
            let is_holder = |c: &Component| {
                let id = c
                    .args
                    .windows(2)
                    .find(|w| w[0] == "--identity")
                    .map(|w| &w[1]);
                id.is_some() && id == holder.as_ref()
            };
            let mut chosen: Vec<Component> = cs
                .iter()
                .filter(|c| is_holder(c) == want_leader)
                .cloned()
                .collect();
            // One instance only: it is the leader (or about to be).
            if chosen.is_empty() && want_leader && cs.len() == 1 {
                chosen = cs;
            }
            Ok::<_, ChaosError>(chosen)
        };
        Ok(match role {
            Role::StoreLeader => {
                let leader = self.store_leader().await?;
                let cs = self.components("store-")?;
                cs.iter().find(|c| Some(&c.name) == leader.as_ref()).map(of)
            }
            Role::StoreFollower => {
                let leader = self.store_leader().await?;
                let cs = self.components("store-")?;
                pick(
                    cs.into_iter()
                        .filter(|c| Some(&c.name) != leader.as_ref())
                        .collect(),
                    rng,
                )
            }
            Role::Apiserver => pick(self.components("apiserver")?, rng),
            Role::ControllerManagerLeader => pick(
                leader_of("controller-manager", &leases.controller_manager, true)?,
                rng,
            ),
            Role::ControllerManagerStandby => pick(
                leader_of("controller-manager", &leases.controller_manager, false)?,
                rng,
            ),
            Role::SchedulerLeader => pick(leader_of("scheduler", &leases.scheduler, true)?, rng),
            Role::SchedulerStandby => pick(leader_of("scheduler", &leases.scheduler, false)?, rng),
            Role::Nodelet => pick(self.components("nodelet-")?, rng),
            Role::ContainerSupervisor => {
                let mut found = container_supervisors(&self.dir.join("data"));
                found.shuffle(rng);
                found
                    .into_iter()
                    .next()
                    .map(|(pid, start_time, uid)| Target {
                        name: format!("container supervisor of pod {uid}"),
                        pid,
                        start_time,
                        restartable: false,
                    })
            }
        })
    }

    /// Sends `sig` to `target` if it still is that process.
    pub fn signal(&self, target: &Target, sig: Signal) -> Result<bool, ChaosError> {
        if !same(target.pid, target.start_time) {
            return Ok(false);
        }
        signal(target.pid, sig)?;
        Ok(true)
    }

    /// Waits (at most `within`) until `target` has exited.
    pub async fn wait_gone(&self, target: &Target, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if !same(target.pid, target.start_time) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Starts the component again if it is not running, under `state.json`'s lock (the
    /// supervisor may have done it already). Returns the new PID when this call started it.
    pub fn start_again(&mut self, name: &str) -> Result<Option<u32>, ChaosError> {
        self.children
            .retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        let Some(_lock) =
            StateLock::acquire_existing(&self.dir).map_err(|e| ChaosError::msg(e.to_string()))?
        else {
            return Err(ChaosError::msg("the cluster's files are gone"));
        };
        let mut state = self.state()?;
        let Some(c) = state.components.iter_mut().find(|c| c.name == name) else {
            return Ok(None);
        };
        if procs::is_running(c) {
            return Ok(None);
        }
        let path = c
            .path
            .clone()
            .ok_or_else(|| ChaosError::msg(format!("{name} was never started")))?;
        let child =
            procs::spawn(c, &path, &self.dir).map_err(|e| ChaosError::msg(e.to_string()))?;
        let pid = child.id();
        c.pid = Some(pid);
        c.start_time = procs::proc_info(pid).map(|i| i.start_time);
        c.restarts = c.restarts.saturating_add(1);
        self.children.push(child);
        state.save().map_err(|e| ChaosError::msg(e.to_string()))?;
        Ok(Some(pid))
    }

    /// Every container process's pod uid and PID on this cluster's nodes.
    pub fn container_processes(&self) -> Vec<(u32, String, String)> {
        container_supervisors(&self.dir.join("data"))
            .into_iter()
            .map(|(pid, _, uid)| {
                let node = node_of(pid).unwrap_or_default();
                (pid, node, uid)
            })
            .collect()
    }
}

/// The node a supervisor belongs to, from its state dir (`.../nodelet-NODE/containers/...`).
fn node_of(pid: u32) -> Option<String> {
    let info = procs::proc_info(pid)?;
    let dir = info
        .cmdline
        .iter()
        .skip_while(|a| *a != "--state-dir")
        .nth(1)?;
    Path::new(dir)
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .find_map(|c| c.strip_prefix("nodelet-").map(str::to_string))
}

/// `skiff-nodelet supervise --state-dir DATA/nodelet-*/containers/POD_UID/...` processes:
/// (pid, start time, pod uid).
pub fn container_supervisors(data: &Path) -> Vec<(u32, u64, String)> {
    let mut found = Vec::new();
    for (pid, info) in procs::live_processes() {
        if info.cmdline.get(1).map(String::as_str) != Some("supervise") {
            continue;
        }
        let Some(dir) = info
            .cmdline
            .iter()
            .skip_while(|a| *a != "--state-dir")
            .nth(1)
        else {
            continue;
        };
        let Ok(rest) = Path::new(dir).strip_prefix(data) else {
            continue;
        };
        let parts: Vec<&str> = rest.iter().filter_map(|p| p.to_str()).collect();
        if let [_, "containers", uid, ..] = parts.as_slice() {
            found.push((pid, info.start_time, uid.to_string()));
        }
    }
    found
}
