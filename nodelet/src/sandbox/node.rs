//! The node's side of the pod network: its bridge, an optional layer-2 link to another
//! node's bridge on the same host, routes to other nodes' podCIDRs (host-gw), the parent
//! cgroup; recorded in `DATA/sandboxes/node.json` so that [`teardown`] removes exactly
//! what was made.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::net::Net;
use super::{io, Record, SandboxError};
use crate::ipam::Ipv4Cidr;
use crate::runtime::cgroup;
use crate::runtime::layout::{read_json, subdirs, write_json_atomic};

/// The node's pod network settings (from flags).
#[derive(Debug, Clone)]
pub struct NodeNetwork {
    /// The bridge's name (unique per node on a host, at most 15 characters).
    pub bridge: String,
    pub pod_cidr: Ipv4Cidr,
    /// Another node's bridge on this host to join at layer 2 (`--pod-bridge-link`).
    pub link: Option<String>,
    /// The whole cluster's pod range, reached on-link from pods (with `link`).
    pub on_link: Option<Ipv4Cidr>,
}

/// `node.json`: what this node made in the host's network and cgroups.
#[derive(Debug, Default, Serialize, Deserialize)]
struct NodeRecord {
    bridge: String,
    link_veth: Option<String>,
    /// podCIDR -> gateway (another node's IP)
    routes: BTreeMap<String, Ipv4Addr>,
    cgroup_parent: String,
}

impl NodeNetwork {
    pub fn cgroup_parent(&self) -> String {
        format!("skiff-{}", self.bridge)
    }

    fn link_names(&self) -> (String, String) {
        (format!("{}x", self.bridge), format!("{}y", self.bridge))
    }

    /// Creates the bridge (gateway address, up), enables forwarding, records the node.
    pub(super) async fn set_up(&self, net: &Net, dir: &Path) -> Result<u32, SandboxError> {
        if self.bridge.is_empty() || self.bridge.len() > 15 {
            return Err(SandboxError::State(format!(
                "--pod-bridge {:?}: a link name has 1 to 15 characters",
                self.bridge
            )));
        }
        let path = dir.join("node.json");
        let mut record = read_json::<NodeRecord>(&path)
            .map_err(|e| SandboxError::State(e.to_string()))?
            .unwrap_or_default();
        record.bridge = self.bridge.clone();
        record.cgroup_parent = self.cgroup_parent();
        write_json_atomic(&path, &record).map_err(io("writing node.json"))?;
        let index = net
            .ensure_bridge(
                &self.bridge,
                self.pod_cidr.gateway(),
                self.pod_cidr.prefix(),
            )
            .await?;
        enable_forwarding()?;
        if let Err(e) = super::firewall::allow(&self.bridge) {
            tracing::debug!(error = %e, "no FORWARD rules for the pod bridge");
        }
        Ok(index)
    }

    /// Joins this node's bridge to the linked node's bridge once that exists; true when
    /// joined (or nothing to join).
    pub async fn ensure_link(&self, net: &Net, dir: &Path) -> Result<bool, SandboxError> {
        let Some(other) = &self.link else {
            return Ok(true);
        };
        let (mine, theirs) = self.link_names();
        if net.index(&mine).await?.is_some() {
            return Ok(true);
        }
        let (Some(own_bridge), Some(other_bridge)) =
            (net.index(&self.bridge).await?, net.index(other).await?)
        else {
            return Ok(false);
        };
        net.add_link_pair(&mine, own_bridge, &theirs, other_bridge)
            .await?;
        update(dir, |r| r.link_veth = Some(mine.clone()))?;
        Ok(true)
    }

    /// Routes to the other nodes' podCIDRs via their node IPs (flannel's host-gw); stale
    /// routes this node added are removed.
    pub async fn sync_routes(
        &self,
        net: &Net,
        dir: &Path,
        others: &[(Ipv4Cidr, Ipv4Addr)],
    ) -> Result<(), SandboxError> {
        let path = dir.join("node.json");
        let record = read_json::<NodeRecord>(&path)
            .map_err(|e| SandboxError::State(e.to_string()))?
            .unwrap_or_default();
        let wanted: BTreeMap<String, Ipv4Addr> = others
            .iter()
            .filter(|(cidr, _)| *cidr != self.pod_cidr)
            .map(|(cidr, via)| (cidr.to_string(), *via))
            .collect();
        for (cidr, via) in &record.routes {
            if wanted.get(cidr) != Some(via) {
                if let Ok(c) = cidr.parse::<Ipv4Cidr>() {
                    net.delete_route(c, *via).await?;
                }
            }
        }
        // Every wanted route is replaced on each pass, not only new ones: the record outlives
        // the kernel's table when the node's network namespace is new (a restarted
        // container, a rebooted host) while its data dir is not.
        for (cidr, via) in &wanted {
            if let Ok(c) = cidr.parse::<Ipv4Cidr>() {
                net.replace_route(c, *via).await?;
                if record.routes.get(cidr) != Some(via) {
                    tracing::info!(%cidr, %via, "route to another node's pods added");
                }
            }
        }
        update(dir, |r| r.routes = wanted.clone())
    }
}

/// Turns IPv4 forwarding on unless it is on already: a container's /proc/sys is
/// read-only, and its runtime sets the sysctl instead (the compose nodes do).
fn enable_forwarding() -> Result<(), SandboxError> {
    const FORWARDING: &str = "/proc/sys/net/ipv4/ip_forward";
    if std::fs::read_to_string(FORWARDING).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    std::fs::write(FORWARDING, "1").map_err(io("enabling IPv4 forwarding (net.ipv4.ip_forward)"))
}

fn update(dir: &Path, change: impl FnOnce(&mut NodeRecord)) -> Result<(), SandboxError> {
    let path = dir.join("node.json");
    let mut record = read_json::<NodeRecord>(&path)
        .map_err(|e| SandboxError::State(e.to_string()))?
        .unwrap_or_default();
    change(&mut record);
    write_json_atomic(&path, &record).map_err(io("writing node.json"))
}

/// Removes everything the node in `data_dir` made: its pods' pause processes (and so
/// their network namespaces), veths, its bridge and link, its routes, its cgroups and
/// the sandbox files. For `skiff down`, once the node's containers are stopped.
pub async fn teardown(data_dir: &Path) -> Result<(), SandboxError> {
    let dir = data_dir.join("sandboxes");
    let Some(record) = read_json::<NodeRecord>(&dir.join("node.json"))
        .map_err(|e| SandboxError::State(e.to_string()))?
    else {
        return Ok(());
    };
    let net = Net::connect()?;
    for pod in subdirs(&dir).map_err(io(format!("listing {}", dir.display())))? {
        if let Ok(Some(sandbox)) = read_json::<Record>(&dir.join(&pod).join("sandbox.json")) {
            super::kill_pause(&sandbox);
            net.delete_link(&sandbox.host_veth).await?;
        }
    }
    for (cidr, via) in &record.routes {
        if let Ok(c) = cidr.parse::<Ipv4Cidr>() {
            net.delete_route(c, *via).await?;
        }
    }
    if let Some(link) = &record.link_veth {
        net.delete_link(link).await?;
    }
    if !record.bridge.is_empty() {
        net.delete_link(&record.bridge).await?;
        super::firewall::remove(&record.bridge);
    }
    if let Some(version) = cgroup::detect() {
        if !record.cgroup_parent.is_empty() {
            for parent in cgroup::parent_dirs(version, &record.cgroup_parent) {
                // Containers' cgroups left by supervisors that were killed.
                for child in subdirs(&parent).unwrap_or_default() {
                    remove_cgroup_retrying(&parent.join(child)).await?;
                }
                remove_cgroup_retrying(&parent).await?;
            }
        }
    }
    std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))
}

/// Kills what is still in the cgroup (a container whose supervisor was killed first),
/// then removes it once empty (a moment after the kill).
async fn remove_cgroup_retrying(dir: &Path) -> Result<(), SandboxError> {
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
    let mut tries = 0;
    loop {
        match cgroup::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(_) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => return Err(io(format!("removing the cgroup {}", dir.display()))(e)),
        }
    }
}
