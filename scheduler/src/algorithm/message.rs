//! The message of a pod that fits nowhere, worded and ordered as kube-scheduler's `FitError`.

use super::filter::Reason;

/// kube-scheduler's message when the cluster has no nodes at all.
pub const NO_NODES_MESSAGE: &str = "no nodes available to schedule pods";

/// `0/3 nodes are available: 1 node(s) were not ready, 2 node(s) didn't match Pod's node
/// selector.`: one `<count> <reason>` entry per reason, sorted as strings (as Kubernetes does,
/// so `10 ...` sorts before `2 ...`). A node may count under several resource reasons.
pub fn unschedulable_message(nodes: usize, counts: &[(Reason, usize)]) -> String {
    if nodes == 0 {
        return NO_NODES_MESSAGE.to_string();
    }
    let mut entries: Vec<String> = counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(reason, count)| format!("{count} {}", reason.message()))
        .collect();
    entries.sort();
    let mut message = format!("0/{nodes} nodes are available");
    if !entries.is_empty() {
        message.push_str(": ");
        message.push_str(&entries.join(", "));
    }
    message.push('.');
    message
}
