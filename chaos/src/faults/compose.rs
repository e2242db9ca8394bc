//! Faults on the compose cluster (`compose/docker-compose.yml`): a component SIGKILLed inside its container (tini exits, Docker's restart policy starts the container again, as after a real crash), `docker pause`/`unpause`, `docker network disconnect`/`connect` partitions (the member keeps its fixed address and name), `docker restart`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tokio::process::Command;

use super::plan::{FaultKind, Role};
use super::{LeaseHolders, Target};
use skiff_common::pki_layout::PkiLayout;

use crate::error::ChaosError;
use crate::tls::ClientTls;

/// A compose project: its file and its services' host-published store ports.
pub struct ComposeCluster {
    file: String,
    /// `docker-compose` (v1) or `docker compose` (v2).
    compose: Vec<String>,
    /// Store services with their published client URLs (`s1` -> `http://127.0.0.1:23791`).
    pub stores: Vec<(String, String)>,
    services: Vec<String>,
    /// Network and fixed address of a disconnected container, to connect it again.
    cut: Vec<(String, String, String)>,
    /// The cluster's certificates, to ask the store members who leads.
    pki: Option<PkiLayout>,
}

async fn output(program: &str, args: &[&str]) -> Result<String, ChaosError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ChaosError::msg(format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        return Err(ChaosError::msg(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn program_of(service: &str) -> &'static str {
    match service {
        s if s.starts_with("apiserver") => "skiff-apiserver",
        s if s.starts_with("controller-manager") => "skiff-controller-manager",
        s if s.starts_with("scheduler") => "skiff-scheduler",
        s if s.starts_with("node") => "skiff-nodelet",
        _ => "skiff-store",
    }
}

impl ComposeCluster {
    /// Reads the services of `file` (`docker-compose config --services`); `tls`: how the
    /// store members are reached (https with its certificates, else http).
    pub async fn open(file: &str, tls: &ClientTls) -> Result<ComposeCluster, ChaosError> {
        let compose: Vec<String> = if output("docker-compose", &["version"]).await.is_ok() {
            vec!["docker-compose".into()]
        } else {
            vec!["docker".into(), "compose".into()]
        };
        let mut c = ComposeCluster {
            file: file.to_string(),
            compose,
            stores: Vec::new(),
            services: Vec::new(),
            cut: Vec::new(),
            pki: tls.pki.clone(),
        };
        c.services = c
            .compose_output(&["config", "--services"])
            .await?
            .lines()
            .map(str::to_string)
            .collect();
        // Published ports as compose/docker-compose.yml sets them (SKIFF_STORE<i>_PORT).
        for (i, s) in c
            .services
            .iter()
            .filter(|s| program_of(s) == "skiff-store")
            .enumerate()
        {
            let port = std::env::var(format!("SKIFF_STORE{}_PORT", i + 1))
                .unwrap_or_else(|_| format!("2379{}", i + 1));
            let scheme = if tls.pki.is_some() { "https" } else { "http" };
            c.stores
                .push((s.clone(), format!("{scheme}://127.0.0.1:{port}")));
        }
        Ok(c)
    }

    async fn compose_output(&self, args: &[&str]) -> Result<String, ChaosError> {
        let mut all: Vec<&str> = self.compose[1..].iter().map(String::as_str).collect();
        all.extend(["-f", &self.file]);
        all.extend(args);
        output(&self.compose[0], &all).await
    }

    async fn container(&self, service: &str) -> Result<String, ChaosError> {
        self.compose_output(&["ps", "-q", service]).await
    }

    pub fn store_members(&self) -> usize {
        self.stores.len()
    }

    pub fn roles(&self) -> Vec<Role> {
        let count = |p: &str| self.services.iter().filter(|s| s.starts_with(p)).count();
        let mut roles = vec![Role::StoreLeader, Role::StoreFollower, Role::Apiserver];
        if count("controller-manager") > 0 {
            roles.push(Role::ControllerManagerLeader);
        }
        if count("controller-manager") > 1 {
            roles.push(Role::ControllerManagerStandby);
        }
        if count("scheduler") > 0 {
            roles.push(Role::SchedulerLeader);
        }
        if count("scheduler") > 1 {
            roles.push(Role::SchedulerStandby);
        }
        roles.extend([Role::Nodelet, Role::ContainerSupervisor]);
        roles
    }

    async fn store_leader(&self) -> Option<String> {
        for (service, url) in &self.stores {
            if let Ok(status) = skiff_cli::up::store_status(url, self.pki.as_ref()).await {
                if status.leader != 0
                    && status.header.as_ref().map(|h| h.member_id) == Some(status.leader)
                {
                    return Some(service.clone());
                }
            }
        }
        None
    }

    pub async fn resolve(
        &self,
        role: Role,
        rng: &mut StdRng,
        leases: &LeaseHolders,
    ) -> Result<Option<Target>, ChaosError> {
        let with = |p: &str| -> Vec<String> {
            self.services
                .iter()
                .filter(|s| s.starts_with(p))
                .cloned()
                .collect()
        };
        let leader = match role {
            Role::StoreLeader | Role::StoreFollower => self.store_leader().await,
            Role::ControllerManagerLeader | Role::ControllerManagerStandby => {
                leases.controller_manager.clone()
            }
            Role::SchedulerLeader | Role::SchedulerStandby => leases.scheduler.clone(),
            _ => None,
        };
        let mut candidates: Vec<String> = match role {
            Role::StoreLeader => leader.into_iter().collect(),
            Role::StoreFollower => self
                .stores
                .iter()
                .map(|(s, _)| s.clone())
                .filter(|s| Some(s) != leader.as_ref())
                .collect(),
            Role::Apiserver => with("apiserver"),
            Role::ControllerManagerLeader | Role::SchedulerLeader => leader.into_iter().collect(),
            Role::ControllerManagerStandby => with("controller-manager")
                .into_iter()
                .filter(|s| Some(s) != leader.as_ref())
                .collect(),
            Role::SchedulerStandby => with("scheduler")
                .into_iter()
                .filter(|s| Some(s) != leader.as_ref())
                .collect(),
            Role::Nodelet | Role::ContainerSupervisor => with("node"),
        };
        candidates.shuffle(rng);
        let Some(service) = candidates.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(Target {
            name: if role == Role::ContainerSupervisor {
                format!("{service}:supervisor")
            } else {
                service
            },
            pid: 0,
            start_time: 0,
            restartable: role != Role::ContainerSupervisor,
        }))
    }

    pub async fn inject(&mut self, kind: FaultKind, t: &Target) -> Result<String, ChaosError> {
        let (service, supervisor) = match t.name.strip_suffix(":supervisor") {
            Some(s) => (s.to_string(), true),
            None => (t.name.clone(), false),
        };
        let id = self.container(&service).await?;
        if id.is_empty() {
            return Err(ChaosError::msg(format!("{service} has no container")));
        }
        match kind {
            FaultKind::Kill if supervisor => {
                let script = "pid=$(pgrep -f 'supervise --state-dir' | head -n 1); \
                              [ -n \"$pid\" ] && kill -KILL $pid && echo $pid";
                let pid = output("docker", &["exec", &id, "sh", "-c", script]).await?;
                Ok(format!(
                    "SIGKILL container supervisor pid {pid} in {service}"
                ))
            }
            FaultKind::Kill => {
                let script = format!("kill -KILL $(pidof {})", program_of(&service));
                output("docker", &["exec", &id, "sh", "-c", &script]).await?;
                Ok(format!("SIGKILL {} in {service}", program_of(&service)))
            }
            FaultKind::Pause => output("docker", &["pause", &id])
                .await
                .map(|_| "docker pause".into()),
            FaultKind::Restart => output("docker", &["restart", "-t", "5", &id])
                .await
                .map(|_| "docker restart".into()),
            FaultKind::Partition => {
                let format = "{{range $n, $s := .NetworkSettings.Networks}}{{$n}} {{if $s.IPAMConfig}}{{$s.IPAMConfig.IPv4Address}}{{end}}{{end}}";
                let net = output("docker", &["inspect", "-f", format, &id]).await?;
                let mut parts = net.split_whitespace();
                let network = parts
                    .next()
                    .ok_or_else(|| ChaosError::msg(format!("cannot tell {service}'s network")))?;
                // Only store members have a fixed address; the others get any on reconnect.
                let ip = parts.next().unwrap_or_default();
                output("docker", &["network", "disconnect", network, &id]).await?;
                self.cut
                    .push((id.clone(), network.to_string(), ip.to_string()));
                Ok(format!("docker network disconnect {network} ({ip})"))
            }
        }
    }

    pub async fn heal(&mut self, kind: FaultKind, t: &Target) -> Result<String, ChaosError> {
        let service = t.name.trim_end_matches(":supervisor").to_string();
        let id = self.container(&service).await?;
        match kind {
            FaultKind::Pause => output("docker", &["unpause", &id])
                .await
                .map(|_| "docker unpause".into()),
            FaultKind::Partition => {
                let Some(at) = self.cut.iter().position(|(c, _, _)| *c == id) else {
                    return Ok("was not cut off".into());
                };
                let (id, network, ip) = self.cut.remove(at);
                let mut args = vec!["network", "connect", "--alias", &service];
                if !ip.is_empty() {
                    args.extend(["--ip", &ip]);
                }
                args.extend([network.as_str(), id.as_str()]);
                output("docker", &args).await?;
                Ok(format!("docker network connect {network}"))
            }
            _ if !t.restartable => Ok("left to its nodelet".into()),
            // Docker's restart policy starts a crashed container again; wait until it runs.
            _ => {
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline {
                    let running =
                        output("docker", &["inspect", "-f", "{{.State.Running}}", &id]).await;
                    if running.as_deref().ok() == Some("true") {
                        return Ok("running again".into());
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                output("docker", &["start", &id]).await?;
                Ok("not restarted by Docker within 30s: docker start".into())
            }
        }
    }

    /// Every container process on the nodes as (host PID, node, pod uid): the container
    /// supervisors Docker lists in each node's container (`docker top`, which shows host
    /// PIDs). A node container that cannot be listed is an error, not an empty node: the
    /// check for processes of deleted pods must not pass for want of looking.
    pub async fn container_processes(&self) -> Result<Vec<(u32, String, String)>, String> {
        let mut found = Vec::new();
        let nodes = self
            .services
            .iter()
            .filter(|s| program_of(s) == "skiff-nodelet");
        for service in nodes {
            let id = self.container(service).await.map_err(|e| e.to_string())?;
            if id.is_empty() {
                return Err(format!("{service} has no container"));
            }
            let top = output("docker", &["top", &id, "-eo", "pid,stat,args"])
                .await
                .map_err(|e| format!("listing the processes of {service}: {e}"))?;
            found.extend(
                supervisors_in_top(&top)
                    .into_iter()
                    .map(|(pid, uid)| (pid, service.clone(), uid)),
            );
        }
        Ok(found)
    }
}

/// The container supervisors in `docker top ... -eo pid,stat,args` output, as (PID, pod
/// uid): `skiff-nodelet-shim supervise --state-dir DATA/containers/POD_UID/NAME`. Zombies
/// (state Z) run nothing and are left out.
pub fn supervisors_in_top(top: &str) -> Vec<(u32, String)> {
    top.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let pid = fields.next()?.parse::<u32>().ok()?;
            if fields.next()?.starts_with('Z') {
                return None;
            }
            let args: Vec<&str> = fields.collect();
            if args.get(1) != Some(&"supervise") {
                return None;
            }
            let dir = args.iter().skip_while(|a| **a != "--state-dir").nth(1)?;
            let parts: Vec<&str> = dir.split('/').collect();
            let at = parts.iter().position(|p| *p == "containers")?;
            let uid = parts.get(at + 1).filter(|u| !u.is_empty())?;
            Some((pid, uid.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::supervisors_in_top;

    #[test]
    fn finds_each_live_supervisor_with_its_pod_uid() {
        let top = "\
PID                 STAT                COMMAND
4101                Ss                  /sbin/docker-init -- with-token system:node:node-1 skiff-nodelet
4170                Sl                  skiff-nodelet --node-name node-1 --data-dir /var/lib/skiff/nodelet
5230                S                   /bin/skiff-nodelet-shim supervise --state-dir /var/lib/skiff/nodelet/containers/8c1f-uid/main --restart Always
5231                S                   sleep 3600
5300                Z                   [skiff-nodelet-s] <defunct>
5302                Zs                  /bin/skiff-nodelet-shim supervise --state-dir /var/lib/skiff/nodelet/containers/dead-uid/main
5400                S                   /bin/skiff-nodelet-shim supervise --state-dir /var/lib/skiff/nodelet/containers/9d2e-uid/main";
        assert_eq!(
            supervisors_in_top(top),
            vec![
                (5230, "8c1f-uid".to_string()),
                (5400, "9d2e-uid".to_string())
            ]
        );
        assert!(supervisors_in_top("").is_empty());
    }
}
