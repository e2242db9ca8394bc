//! Hollow nodes (`--runtime fake --hollow-nodes N`): many whole node agents in one process,
//! as Kubernetes' kubemark runs them, so a laptop can hold a cluster of a hundred nodes.
//! Each hollow node is the same agent [`super::run`] runs for a real node: its own apiserver
//! connection, Node registration and status, Lease heartbeat, pod workers (on the fake
//! runtime), log service and data directory. Nothing is shared but the process.

use std::net::{Ipv4Addr, SocketAddr};

use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use super::config::AgentConfig;
use super::AgentError;
use crate::ipam::Ipv4Cidr;

/// The hollow nodes' pod ranges are the /24s of 10.64.0.0/10: room for this many.
pub const MAX_HOLLOW_NODES: usize = 1 << 14;
/// Where the hollow nodes' pod ranges start.
const HOLLOW_POD_RANGE: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 0);

/// The configuration of each node this process runs: `config` itself for a real node, or
/// one per hollow node, named `<prefix><i>`, with its own data directory `DATA/<name>`, its
/// own pod range (the i-th /24 of 10.64.0.0/10: the fake runtime's pod IPs are only
/// addresses) and its log service on a port the kernel picks. Only the first hollow node
/// serves `--metrics-listen`.
pub fn node_configs(config: &AgentConfig) -> Vec<AgentConfig> {
    if config.hollow_nodes == 0 {
        return vec![config.clone()];
    }
    (0..config.hollow_nodes)
        .map(|i| {
            let name = format!("{}{i}", config.node_name_prefix);
            let mut node = config.clone();
            node.data_dir = config.data_dir.join(&name);
            node.listen = SocketAddr::new(config.listen.ip(), 0);
            node.pod_cidr_flag = Some(hollow_pod_cidr(i));
            if i > 0 {
                node.metrics_listen = None;
            }
            node.node_name = name;
            node
        })
        .collect()
}

/// The i-th /24 of 10.64.0.0/10.
fn hollow_pod_cidr(i: usize) -> Ipv4Cidr {
    let offset = u32::try_from(i % MAX_HOLLOW_NODES).unwrap_or(0) << 8;
    Ipv4Cidr::masked(Ipv4Addr::from(u32::from(HOLLOW_POD_RANGE) + offset), 24)
}

/// Runs every node of [`node_configs`] until `shutdown`; the first node that cannot start
/// stops them all, and its error is returned.
pub async fn run_nodes(config: AgentConfig, shutdown: CancellationToken) -> Result<(), AgentError> {
    let configs = node_configs(&config);
    if configs.len() > 1 {
        tracing::info!(
            nodes = configs.len(),
            prefix = %config.node_name_prefix,
            "running hollow nodes on the fake runtime"
        );
    }
    let runs = configs.into_iter().map(|node| {
        let shutdown = shutdown.clone();
        async move {
            let result = super::run(node, shutdown.clone()).await;
            if result.is_err() {
                shutdown.cancel();
            }
            result
        }
    });
    join_all(runs).await.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agent's configuration from a command line.
    fn config_of(args: &[&str]) -> super::super::config::AgentConfig {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            agent: super::super::config::AgentArgs,
        }
        Cli::try_parse_from(args)
            .unwrap()
            .agent
            .into_config()
            .unwrap()
    }

    #[test]
    fn each_hollow_node_gets_its_own_name_dir_port_and_pod_range() {
        let args = [
            "skiff-nodelet",
            "--apiserver",
            "a:1",
            "--token",
            "t",
            "--data-dir",
            "/var/h",
            "--runtime",
            "fake",
            "--hollow-nodes",
            "300",
            "--node-name-prefix",
            "hn-",
            "--metrics-listen",
            "127.0.0.1:9100",
        ];
        let config = config_of(&args);
        let nodes = node_configs(&config);
        assert_eq!(nodes.len(), 300);
        let last = &nodes[299];
        assert_eq!(last.node_name, "hn-299");
        assert_eq!(last.data_dir, std::path::Path::new("/var/h/hn-299"));
        assert_eq!(last.listen.port(), 0);
        assert_eq!(last.pod_cidr(false).to_string(), "10.65.43.0/24");
        assert_eq!(nodes[1].pod_cidr(false).to_string(), "10.64.1.0/24");
        assert_eq!(nodes[0].pod_cidr(false).to_string(), "10.64.0.0/24");
        assert!(nodes[0].metrics_listen.is_some() && nodes[1].metrics_listen.is_none());
        let ranges: std::collections::BTreeSet<String> = nodes
            .iter()
            .map(|n| n.pod_cidr(false).to_string())
            .collect();
        assert_eq!(ranges.len(), 300, "every pod range differs");
    }

    #[test]
    fn a_real_node_is_run_as_configured() {
        let args = [
            "skiff-nodelet",
            "--apiserver",
            "a:1",
            "--token",
            "t",
            "--data-dir",
            "/d",
            "--node-name",
            "n1",
        ];
        let config = config_of(&args);
        let nodes = node_configs(&config);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].node_name, "n1");
        assert_eq!(nodes[0].data_dir, std::path::Path::new("/d"));
    }
}
