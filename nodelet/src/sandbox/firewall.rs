//! Lets the pods' traffic through the host's FORWARD chain. Hosts with Docker set its
//! policy to DROP, and with `br_netfilter` loaded even frames between two ports of one
//! bridge pass through it; so, as the CNI firewall plugin does, the node inserts
//! `FORWARD -i BRIDGE -j ACCEPT` and `-o BRIDGE -j ACCEPT` (tagged with a comment) and
//! teardown deletes them.
//!
//! This shells out to `iptables`: no maintained netlink nftables crate edits the tables
//! iptables-nft owns without fighting it. A host without `iptables` (a fresh container's
//! network namespace accepts everything) gets a debug line and no rules.

use std::process::Command;

fn rule(bridge: &str, direction: &str) -> Vec<String> {
    [
        "FORWARD",
        direction,
        bridge,
        "-m",
        "comment",
        "--comment",
        &format!("skiff pods on {bridge}"),
        "-j",
        "ACCEPT",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn iptables(action: &str, rule: &[String]) -> Result<bool, String> {
    let out = Command::new("iptables")
        .arg("-w")
        .arg(action)
        .args(rule)
        .output()
        .map_err(|e| format!("running iptables: {e}"))?;
    Ok(out.status.success())
}

/// Inserts the bridge's ACCEPT rules unless present; `Err` when iptables cannot be run.
pub fn allow(bridge: &str) -> Result<(), String> {
    for direction in ["-i", "-o"] {
        let rule = rule(bridge, direction);
        if !iptables("-C", &rule)? && !iptables("-I", &rule)? {
            return Err(format!("iptables -I {} failed", rule.join(" ")));
        }
    }
    Ok(())
}

/// Deletes the bridge's rules (every copy); missing rules or iptables are fine.
pub fn remove(bridge: &str) {
    for direction in ["-i", "-o"] {
        let rule = rule(bridge, direction);
        for _ in 0..8 {
            if !matches!(iptables("-D", &rule), Ok(true)) {
                break;
            }
        }
    }
}
