//! What `skiff up` runs: every component's command line, ports and health check, and the token file. Pure: ports and tokens come in as arguments.
//!
//! Node lifecycle settings are short so that a killed node's pods move within seconds:
//! nodelets heartbeat every 1s (`--heartbeat-interval 1s`); the controller-manager marks a
//! node NotReady after 4s of silence (`--node-monitor-grace-period 4s`) and deletes its pods
//! 2s later (`--pod-eviction-timeout 2s`). Leader leases are short too (4s), so a restarted
//! controller-manager or scheduler takes over at once.

use std::path::Path;

use skiff_common::launch::{
    self, ApiserverPlan, ClientPlan, HttpsPlan, NodeletPlan, StorePlan, TokenEntry,
};
use skiff_common::pki_layout::PkiLayout;

use super::state::{ClusterState, Component, Health};

/// Store member names and the number of members.
pub const STORE_MEMBERS: usize = 3;

/// Flags that make node failures visible fast (see the module doc).
pub const NODE_HEARTBEAT: &str = "1s";
pub const NODE_MONITOR_GRACE: &str = "4s";
pub const POD_EVICTION_TIMEOUT: &str = "2s";

/// The random parts of a new cluster.
pub struct Secrets {
    pub admin_token: String,
    /// One token per node, in node order.
    pub node_tokens: Vec<String>,
    /// Second octet of the first node's pod range (`127.X.0.0/16`); node i gets X+i, so two
    /// clusters on one machine rarely hand out the same pod IPs.
    pub pod_net_base: u8,
    /// Pods get sandboxes: node i gets `10.X.(i+1).0/24` and bridge `skuXXn<i>` instead,
    /// the nodes' bridges are joined, and pods reach `10.X.0.0/16` on-link.
    pub sandboxed: bool,
}

/// The bridge of node `i` (0-based) of a sandboxed cluster with this base.
pub fn bridge_name(base: u8, i: usize) -> String {
    format!("sku{base:02x}n{i}")
}

/// `node-1`, `node-2`, ...
pub fn node_names(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("node-{i}")).collect()
}

/// Kubernetes' token file: `token,user,uid,"groups"`.
pub fn token_file(nodes: &[String], secrets: &Secrets) -> String {
    let mut entries = vec![TokenEntry::admin(&secrets.admin_token, "admin")];
    for (node, token) in nodes.iter().zip(&secrets.node_tokens) {
        entries.push(TokenEntry::node(token, node));
    }
    launch::token_file(&entries)
}

fn s(v: &str) -> String {
    v.to_string()
}

fn component(
    name: &str,
    program: &str,
    args: Vec<String>,
    dir: &Path,
    health: Health,
) -> Component {
    Component {
        name: name.to_string(),
        program: program.to_string(),
        args,
        log: dir.join("logs").join(format!("{name}.log")),
        health,
        path: None,
        pid: None,
        start_time: None,
        restarts: 0,
    }
}

/// The whole cluster in `dir` with `nodes` nodelets; `port` hands out free loopback ports.
/// Command lines come from `skiff_common::launch`, as the tests' clusters do.
pub fn plan(
    dir: &Path,
    nodes: usize,
    secrets: &Secrets,
    pki: Option<&PkiLayout>,
    mut port: impl FnMut() -> u16,
) -> ClusterState {
    let data = dir.join("data");
    let store = StorePlan::new(
        STORE_MEMBERS,
        &data,
        |i| format!("store-{i}"),
        true,
        &mut port,
    );
    let store = match pki {
        Some(pki) => store.with_tls(pki),
        None => store,
    };
    let ca = pki.map(PkiLayout::ca_cert);
    let stores = store.client_urls();
    let mut components = Vec::new();
    for (i, client_url) in stores.iter().enumerate() {
        let health = Health::Store {
            client_url: client_url.clone(),
        };
        components.push(component(
            &format!("store-{}", i + 1),
            "skiff-store",
            store.args(i),
            dir,
            health,
        ));
    }
    let apiserver = ApiserverPlan {
        port: port(),
        metrics_port: port(),
        store_endpoints: stores.clone(),
        token_file: dir.join("tokens.csv"),
        // The REST API is served over HTTPS only, so a cluster without TLS has none.
        https: pki.map(|p| HttpsPlan {
            port: port(),
            cert_file: p.apiserver().cert,
            key_file: p.apiserver().key,
        }),
        pki: pki.cloned(),
    };
    let health = Health::Apiserver {
        address: apiserver.address(),
    };
    components.push(component(
        "apiserver",
        "skiff-apiserver",
        apiserver.args(),
        dir,
        health,
    ));
    let lease = [
        s("--leader-elect=true"),
        s("--leader-elect-lease-duration"),
        s("4s"),
        s("--leader-elect-renew-deadline"),
        s("3s"),
        s("--leader-elect-retry-period"),
        s("1s"),
    ];
    for (name, program, extra) in [
        (
            "controller-manager",
            "skiff-controller-manager",
            vec![
                s("--node-monitor-grace-period"),
                s(NODE_MONITOR_GRACE),
                s("--pod-eviction-timeout"),
                s(POD_EVICTION_TIMEOUT),
            ],
        ),
        ("scheduler", "skiff-scheduler", vec![]),
    ] {
        let client = ClientPlan {
            apiservers: vec![apiserver.address()],
            token: secrets.admin_token.clone(),
            metrics_port: port(),
            ca: ca.clone(),
        };
        let mut args = client.control_plane_args(&format!("{name}-1"));
        args.extend(lease.iter().cloned());
        args.extend(extra);
        let health = Health::Http {
            url: format!("http://127.0.0.1:{}/health", client.metrics_port),
        };
        components.push(component(name, program, args, dir, health));
    }
    let names = node_names(nodes);
    for (i, node) in names.iter().enumerate() {
        let nodelet = NodeletPlan {
            client: ClientPlan {
                apiservers: vec![apiserver.address()],
                token: secrets.node_tokens.get(i).cloned().unwrap_or_default(),
                metrics_port: port(),
                ca: ca.clone(),
            },
            node_name: node.clone(),
            data_dir: data.join(format!("nodelet-{node}")),
            listen_port: port(),
            pod_cidr: if secrets.sandboxed {
                format!("10.{}.{}.0/24", secrets.pod_net_base, i + 1)
            } else {
                format!(
                    "127.{}.0.0/16",
                    secrets.pod_net_base.saturating_add(i as u8)
                )
            },
            labels: if i == 0 {
                vec![(s("disk"), s("ssd"))]
            } else {
                Vec::new()
            },
            pki: pki.cloned(),
        };
        let mut args = nodelet.args();
        args.extend([s("--heartbeat-interval"), s(NODE_HEARTBEAT)]);
        if secrets.sandboxed {
            let base = secrets.pod_net_base;
            args.extend([
                s("--sandbox"),
                s("namespaces"),
                s("--pod-bridge"),
                bridge_name(base, i),
                s("--cluster-cidr"),
                format!("10.{base}.0.0/16"),
            ]);
            if i > 0 {
                args.extend([s("--pod-bridge-link"), bridge_name(base, 0)]);
            }
        } else {
            args.extend([s("--sandbox"), s("none")]);
        }
        let health = Health::Node { name: node.clone() };
        components.push(component(
            &format!("nodelet-{node}"),
            "skiff-nodelet",
            args,
            dir,
            health,
        ));
    }
    ClusterState {
        dir: dir.to_path_buf(),
        apiservers: vec![apiserver.address()],
        https_apiservers: apiserver.https_url().into_iter().collect(),
        stores,
        admin_token: secrets.admin_token.clone(),
        nodes: names,
        components,
        supervisor: None,
        pki: pki.map(|p| p.dir.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets {
            admin_token: "admintok".into(),
            node_tokens: vec!["n1tok".into(), "n2tok".into()],
            pod_net_base: 100,
            sandboxed: false,
        }
    }

    #[test]
    fn the_plan_wires_every_component() {
        let mut next = 40000;
        let state = plan(Path::new("/c"), 2, &secrets(), None, || {
            next += 1;
            next
        });
        let names: Vec<&str> = state.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "store-1",
                "store-2",
                "store-3",
                "apiserver",
                "controller-manager",
                "scheduler",
                "nodelet-node-1",
                "nodelet-node-2"
            ]
        );
        assert_eq!(
            state.stores,
            [
                "http://127.0.0.1:40001",
                "http://127.0.0.1:40004",
                "http://127.0.0.1:40007"
            ]
        );
        let store = &state.components[1];
        for pair in [
            ["--name", "s2"],
            ["--data-dir", "/c/data/store-2"],
            ["--listen-client-urls", "http://127.0.0.1:40004"],
            ["--listen-peer-urls", "http://127.0.0.1:40005"],
            ["--listen-metrics-urls", "http://127.0.0.1:40006"],
            [
                "--initial-cluster",
                "s1=http://127.0.0.1:40002,s2=http://127.0.0.1:40005,s3=http://127.0.0.1:40008",
            ],
        ] {
            assert!(store.args.windows(2).any(|w| w == pair), "{pair:?}");
        }
        let apiserver = &state.components[3];
        assert!(apiserver.args.windows(2).any(|w| w
            == [
                "--store-endpoints",
                "http://127.0.0.1:40001,http://127.0.0.1:40004,http://127.0.0.1:40007"
            ]));
        assert!(apiserver
            .args
            .windows(2)
            .any(|w| w == ["--token-file", "/c/tokens.csv"]));
        let cm = &state.components[4];
        assert!(cm
            .args
            .windows(2)
            .any(|w| w == ["--node-monitor-grace-period", "4s"]));
        assert!(cm
            .args
            .windows(2)
            .any(|w| w == ["--pod-eviction-timeout", "2s"]));
        assert!(cm.args.windows(2).any(|w| w == ["--token", "admintok"]));
        assert!(matches!(&cm.health, Health::Http { url } if url.ends_with("/health")));
        let n1 = &state.components[6];
        assert!(n1.args.windows(2).any(|w| w == ["--labels", "disk=ssd"]));
        assert!(n1.args.windows(2).any(|w| w == ["--token", "n1tok"]));
        assert!(n1
            .args
            .windows(2)
            .any(|w| w == ["--pod-cidr", "127.100.0.0/16"]));
        assert!(n1
            .args
            .windows(2)
            .any(|w| w == ["--heartbeat-interval", "1s"]));
        let n2 = &state.components[7];
        assert!(!n2.args.iter().any(|a| a == "--labels"));
        assert!(n2
            .args
            .windows(2)
            .any(|w| w == ["--pod-cidr", "127.101.0.0/16"]));
        assert_eq!(n2.log, Path::new("/c/logs/nodelet-node-2.log"));
        assert_eq!(state.nodes, ["node-1", "node-2"]);
    }

    #[test]
    fn tokens_file_in_kubernetes_format() {
        let text = token_file(&node_names(2), &secrets());
        assert_eq!(
            text,
            "admintok,admin,uid-admin,\"system:masters\"\n\
             n1tok,system:node:node-1,uid-node-node-1,\"system:nodes\"\n\
             n2tok,system:node:node-2,uid-node-node-2,\"system:nodes\"\n"
        );
    }
}
