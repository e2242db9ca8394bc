//! The agent's side of pod sandboxes: choosing the mode at start (and saying once why a
//! node runs plain processes), setting up the node's network, and keeping routes to the
//! other nodes' pods (host-gw) and the layer-2 link to a same-host node's bridge.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use skiff_api::types::Node;
use skiff_client::{Client, ListOptions};
use tokio_util::sync::CancellationToken;

use super::config::{AgentConfig, RuntimeKind};
use crate::ipam::Ipv4Cidr;
use crate::sandbox::{self, NodeNetwork, SandboxError, SandboxMode, Sandboxes};

/// How often routes to other nodes and the bridge link are checked.
const NETWORK_SYNC: Duration = Duration::from_secs(3);

/// Whether pods get sandboxes, from `--sandbox` and what the host allows.
pub fn sandboxed(config: &AgentConfig) -> Result<bool, String> {
    if config.runtime == RuntimeKind::Fake {
        return Ok(false);
    }
    match (config.sandbox, sandbox::namespaces_unavailable()) {
        (SandboxMode::None, _) => Ok(false),
        (SandboxMode::Namespaces, None) | (SandboxMode::Auto, None) => Ok(true),
        (SandboxMode::Namespaces, Some(why)) => Err(format!(
            "--sandbox namespaces: {why}; use --sandbox auto or none"
        )),
        (SandboxMode::Auto, Some(why)) => {
            tracing::warn!(
                "pods run as plain host processes without namespaces, network or cgroup \
                 limits ({why}); --sandbox none makes this explicit"
            );
            Ok(false)
        }
    }
}

/// Sets up the node's pod network and returns the sandbox manager.
pub async fn open(
    config: &AgentConfig,
    helper: &Path,
    pod_cidr: Ipv4Cidr,
) -> Result<Sandboxes, SandboxError> {
    sandbox::routable(pod_cidr).map_err(SandboxError::State)?;
    if config.pod_bridge_link.is_some() && config.cluster_cidr.is_none() {
        return Err(SandboxError::State(
            "--pod-bridge-link needs --cluster-cidr (the range pods reach on-link)".into(),
        ));
    }
    let node = NodeNetwork {
        bridge: config.pod_bridge.clone(),
        pod_cidr,
        link: config.pod_bridge_link.clone(),
        on_link: config.cluster_cidr,
    };
    let sandboxes = Sandboxes::open(helper, &config.data_dir, node).await?;
    tracing::info!(
        bridge = %config.pod_bridge,
        %pod_cidr,
        "pods run in sandboxes (namespaces, pod network, cgroups)"
    );
    Ok(sandboxes)
}

/// Keeps the bridge link (same-host nodes) and the routes to other nodes' podCIDRs
/// (nodes on other hosts) in place until shutdown.
pub async fn keep_network(
    client: Client,
    sandboxes: Sandboxes,
    data_dir: std::path::PathBuf,
    node_name: String,
    node_ip: IpAddr,
    shutdown: CancellationToken,
) {
    let dir = data_dir.join("sandboxes");
    let node = sandboxes.node().clone();
    let mut linked = false;
    loop {
        if !linked {
            match node.ensure_link(sandboxes.net(), &dir).await {
                Ok(done) => linked = done,
                Err(e) => tracing::warn!(error = %e, "joining the other node's bridge failed"),
            }
        }
        // Nodes of one host share a layer-2 segment instead of routes.
        if node.link.is_none() {
            match client.list::<Node>(None, &ListOptions::default()).await {
                Ok(list) => {
                    let others = other_nodes(&list.items, &node_name, node_ip);
                    if let Err(e) = node.sync_routes(sandboxes.net(), &dir, &others).await {
                        tracing::warn!(error = %e, "updating routes to other nodes' pods failed");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "listing nodes for pod routes failed"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(NETWORK_SYNC) => {}
        }
    }
}

/// Other nodes' podCIDRs and the IPs to route them via: nodes on another host only (an
/// address that is neither this node's nor loopback).
fn other_nodes(nodes: &[Node], me: &str, my_ip: IpAddr) -> Vec<(Ipv4Cidr, Ipv4Addr)> {
    nodes
        .iter()
        .filter(|n| n.metadata.name != me)
        .filter_map(|n| {
            let cidr: Ipv4Cidr = n.spec.pod_cidr.parse().ok()?;
            let ip: Ipv4Addr = n
                .status
                .addresses
                .iter()
                .find(|a| a.type_ == "InternalIP")?
                .address
                .parse()
                .ok()?;
            (IpAddr::V4(ip) != my_ip && !ip.is_loopback() && !cidr.network().is_loopback())
                .then_some((cidr, ip))
        })
        .collect()
}

/// The hidden `teardown --data-dir DIR` subcommand: removes the sandboxes, veths, bridge,
/// link, routes and cgroups the node with that data dir made.
pub fn teardown(data_dir: &Path) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("skiff-nodelet teardown: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(sandbox::teardown(data_dir)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skiff-nodelet teardown: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cidr: &str, ip: &str) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}
        }))
        .unwrap()
    }

    #[test]
    fn routes_go_to_other_hosts_only() {
        let nodes = [
            node("n1", "10.1.1.0/24", "172.20.0.2"),
            node("n2", "10.1.2.0/24", "172.20.0.3"),
            node("n3", "10.1.3.0/24", "127.0.0.1"),
            node("n4", "127.9.0.0/16", "172.20.0.5"),
            node("n5", "", "172.20.0.6"),
        ];
        let got = other_nodes(&nodes, "n1", "172.20.0.2".parse().unwrap());
        assert_eq!(
            got,
            vec![(
                "10.1.2.0/24".parse().unwrap(),
                "172.20.0.3".parse().unwrap()
            )]
        );
    }
}
