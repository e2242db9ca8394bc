//! The pure decision of the node lifecycle controller: from how long ago a node's heartbeat was last seen to change, whether it is unreachable and whether its pods must go.

use std::sync::Arc;
use std::time::Duration;

use skiff_api::meta::find_condition;
use skiff_api::types::{Node, Pod};

use crate::pods::is_ready;

/// The flags that drive the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `--node-monitor-grace-period`: a heartbeat older than this makes the node unreachable.
    pub grace: Duration,
    /// `--pod-eviction-timeout`: how long a node stays unreachable before its pods go.
    pub eviction: Duration,
}

/// What the controller observed locally: ages measured on its own monotonic clock from when
/// it saw the heartbeat Lease change and when it saw the node stop being Ready. Clocks of
/// other machines never enter the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    pub since_heartbeat: Duration,
    /// How long the node has been seen not Ready (`None` while Ready).
    pub not_ready_for: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Set the node's Ready condition to Unknown (`NodeStatusUnknown`).
    MarkUnknown,
    /// Set Ready=False on these pods: nobody vouches for them any more.
    MarkPodsNotReady(Vec<Arc<Pod>>),
    /// Delete these pods at once (grace period 0: their node agent cannot confirm).
    EvictPods(Vec<Arc<Pod>>),
    RequeueAfter(Duration),
}

/// A little after a deadline, so it has certainly passed when the key comes back.
const SLACK: Duration = Duration::from_millis(100);

/// The status of the node's Ready condition (`""` when it has none).
pub fn ready_status(node: &Node) -> &str {
    find_condition(&node.status.conditions, "Ready").map_or("", |c| c.status.as_str())
}

/// DaemonSet pods stay on an unreachable node, as Kubernetes' DaemonSet pods tolerate
/// `node.kubernetes.io/unreachable`: their controller would only place them there again.
pub fn evictable(pod: &Pod) -> bool {
    pod.metadata
        .controller_ref()
        .is_none_or(|r| r.kind != "DaemonSet")
}

/// Decides one sync of `node`, whose bound pods are `pods`.
pub fn reconcile(node: &Node, health: &Health, pods: &[Arc<Pod>], timing: &Timing) -> Vec<Action> {
    if health.since_heartbeat < timing.grace {
        // Alive. Look again when the heartbeat would be too old (each renewal brings the node
        // back earlier anyway).
        return vec![Action::RequeueAfter(
            timing.grace - health.since_heartbeat + SLACK,
        )];
    }
    let mut actions = Vec::new();
    let mut not_ready_for = health.not_ready_for;
    if ready_status(node) != "Unknown" {
        actions.push(Action::MarkUnknown);
        let ready: Vec<Arc<Pod>> = pods.iter().filter(|p| is_ready(p)).cloned().collect();
        if !ready.is_empty() {
            actions.push(Action::MarkPodsNotReady(ready));
        }
        not_ready_for.get_or_insert(Duration::ZERO);
    }
    let not_ready_for = not_ready_for.unwrap_or(Duration::ZERO);
    if not_ready_for >= timing.eviction {
        let victims: Vec<Arc<Pod>> = pods.iter().filter(|p| evictable(p)).cloned().collect();
        if !victims.is_empty() {
            actions.push(Action::EvictPods(victims));
        }
        // Pods bound to the node later (by hand) are evicted on the next look.
        actions.push(Action::RequeueAfter(
            timing.eviction.max(Duration::from_secs(1)),
        ));
    } else {
        actions.push(Action::RequeueAfter(
            timing.eviction - not_ready_for + SLACK,
        ));
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::meta::{Condition, OwnerReference};
    use skiff_api::types::Resource;

    const TIMING: Timing = Timing {
        grace: Duration::from_secs(10),
        eviction: Duration::from_secs(5),
    };

    fn node(ready: &str) -> Node {
        let mut n = Node::named("", "n1");
        if !ready.is_empty() {
            n.status.conditions.push(Condition {
                type_: "Ready".into(),
                status: ready.into(),
                ..Condition::default()
            });
        }
        n
    }

    fn pod(name: &str, owner_kind: &str, ready: bool) -> Arc<Pod> {
        let mut p = Pod::named("default", name);
        p.spec.node_name = "n1".into();
        if !owner_kind.is_empty() {
            p.metadata.owner_references.push(OwnerReference {
                kind: owner_kind.into(),
                controller: Some(true),
                ..OwnerReference::default()
            });
        }
        if ready {
            p.status
                .conditions
                .push(Condition::new("Ready", true, "", ""));
        }
        Arc::new(p)
    }

    fn describe(actions: &[Action]) -> Vec<String> {
        let names = |ps: &[Arc<Pod>]| {
            ps.iter()
                .map(|p| p.metadata.name.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        actions
            .iter()
            .map(|a| match a {
                Action::MarkUnknown => "mark unknown".to_string(),
                Action::MarkPodsNotReady(ps) => format!("pods not ready {}", names(ps)),
                Action::EvictPods(ps) => format!("evict {}", names(ps)),
                Action::RequeueAfter(d) => format!("requeue {}ms", d.as_millis()),
            })
            .collect()
    }

    #[test]
    fn node_lifecycle_decisions() {
        let secs = Duration::from_secs;
        let pods = vec![
            pod("rc-pod", "ReplicationController", true),
            pod("by-hand", "", false),
            pod("daemon", "DaemonSet", true),
        ];
        type Row<'a> = (&'a str, &'a str, Duration, Option<Duration>, Vec<&'a str>);
        let cases: Vec<Row<'_>> = vec![
            (
                "a fresh heartbeat: nothing to do until it would expire",
                "True",
                secs(3),
                None,
                vec!["requeue 7100ms"],
            ),
            (
                "a heartbeat older than the grace period: Unknown, pods not ready",
                "True",
                secs(10),
                None,
                vec![
                    "mark unknown",
                    "pods not ready rc-pod,daemon",
                    "requeue 5100ms",
                ],
            ),
            (
                "already Unknown: wait for the eviction timeout",
                "Unknown",
                secs(12),
                Some(secs(2)),
                vec!["requeue 3100ms"],
            ),
            (
                "unreachable past the eviction timeout: its pods go, DaemonSet pods stay",
                "Unknown",
                secs(15),
                Some(secs(5)),
                vec!["evict rc-pod,by-hand", "requeue 5000ms"],
            ),
            (
                "a node that never reported is marked too",
                "",
                secs(11),
                None,
                vec![
                    "mark unknown",
                    "pods not ready rc-pod,daemon",
                    "requeue 5100ms",
                ],
            ),
            (
                "a node the agent itself reports NotReady, with a stale heartbeat",
                "False",
                secs(20),
                Some(secs(20)),
                vec![
                    "mark unknown",
                    "pods not ready rc-pod,daemon",
                    "evict rc-pod,by-hand",
                    "requeue 5000ms",
                ],
            ),
            (
                "a heartbeat again: nothing is evicted",
                "Unknown",
                secs(1),
                Some(secs(30)),
                vec!["requeue 9100ms"],
            ),
        ];
        for (name, ready, since, not_ready_for, want) in cases {
            let health = Health {
                since_heartbeat: since,
                not_ready_for,
            };
            assert_eq!(
                describe(&reconcile(&node(ready), &health, &pods, &TIMING)),
                want,
                "case: {name}"
            );
        }
    }
}
