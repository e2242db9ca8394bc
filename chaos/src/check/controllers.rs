//! The controllers' invariants, on the cluster as it stands after convergence and on what watches saw during the run: exact replica counts, one DaemonSet pod per matching node, exact Job completions, one Job per CronJob scheduled time, a pod's node never changing, no process of a deleted pod, every acknowledged object still there.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Verdict;

/// A pod as listed after the run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The controller's uid (ownerReferences with controller: true).
    pub owner_uid: Option<String>,
    pub node_name: Option<String>,
    pub phase: String,
    /// It has a deletionTimestamp.
    pub deleting: bool,
}

/// A node and its labels.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// A workload controller and what it promises.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ControllerView {
    /// A ReplicationController or ReplicaSet: `replicas` pods Running.
    Replicas {
        name: String,
        uid: String,
        replicas: u32,
    },
    /// A DaemonSet: one pod on every node whose labels match.
    DaemonSet {
        name: String,
        uid: String,
        node_selector: BTreeMap<String, String>,
    },
    /// A Job: exactly `completions` pods Succeeded.
    Job {
        name: String,
        uid: String,
        completions: u32,
    },
}

/// A process of a container found running on a node, by its pod's uid.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ContainerProcess {
    pub pid: u32,
    pub node: String,
    pub pod_uid: String,
}

/// An object as the apiserver acknowledged creating it; `deleted` when the workload deleted it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// Everything the controller checks look at.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ControllerEvidence {
    pub pods: Vec<PodView>,
    pub nodes: Vec<NodeView>,
    pub controllers: Vec<ControllerView>,
    pub processes: Vec<ContainerProcess>,
    /// Objects that exist after the run.
    pub present: Vec<ObjectRef>,
    /// Objects the workload created (acknowledged) and did not delete.
    pub acknowledged: Vec<ObjectRef>,
    /// Every (pod uid, node name) a pod watch saw during the run.
    pub pod_nodes: Vec<(String, String)>,
    /// Every Job a watch saw created by a CronJob: (cronjob, scheduled time, job uid).
    pub cron_jobs: Vec<(String, String, String)>,
    /// Every pod a watch saw Succeeded: (controller uid, pod uid). A Job's completions are
    /// these plus the Succeeded pods listed at the end: a finished pod evicted from an
    /// unreachable node is gone from the list but was a completion all the same.
    #[serde(default)]
    pub succeeded: Vec<(String, String)>,
}

fn owned<'a>(pods: &'a [PodView], owner: &'a str) -> impl Iterator<Item = &'a PodView> + 'a {
    pods.iter()
        .filter(move |p| p.owner_uid.as_deref() == Some(owner))
}

fn active<'a>(pods: &'a [PodView], owner: &'a str) -> impl Iterator<Item = &'a PodView> + 'a {
    owned(pods, owner).filter(|p| !p.deleting)
}

/// `name Phase on node`, and `(terminating)` when it has a deletionTimestamp: what a
/// non-converged controller's pods look like, so the report shows why it is off.
fn describe(p: &PodView) -> String {
    format!(
        "{} {} on {}{}",
        p.name,
        p.phase,
        p.node_name.as_deref().unwrap_or("(unscheduled)"),
        if p.deleting { " (terminating)" } else { "" }
    )
}

pub fn check(e: &ControllerEvidence) -> Verdict {
    let checked = e.pods.len() + e.controllers.len() + e.pod_nodes.len() + e.cron_jobs.len();
    let mut v = Verdict::new("controller invariants", checked);
    for c in &e.controllers {
        match c {
            ControllerView::Replicas {
                name,
                uid,
                replicas,
            } => {
                let pods: Vec<&PodView> = active(&e.pods, uid).collect();
                let running = pods.iter().filter(|p| p.phase == "Running").count();
                if running != *replicas as usize || pods.len() != *replicas as usize {
                    v.anomaly(
                        format!(
                            "{name}: {running} Running of {} pods, wants {replicas}",
                            pods.len()
                        ),
                        owned(&e.pods, uid).map(describe).collect(),
                    );
                }
            }
            ControllerView::DaemonSet {
                name,
                uid,
                node_selector,
            } => {
                let mut per_node: BTreeMap<&str, Vec<&PodView>> = BTreeMap::new();
                for p in active(&e.pods, uid) {
                    let node = p.node_name.as_deref().unwrap_or("(unscheduled)");
                    per_node.entry(node).or_default().push(p);
                }
                for node in &e.nodes {
                    let matches = node_selector
                        .iter()
                        .all(|(k, want)| node.labels.get(k) == Some(want));
                    let here = per_node.remove(node.name.as_str()).unwrap_or_default();
                    let want = usize::from(matches);
                    if here.len() != want {
                        v.anomaly(
                            format!(
                                "{name}: {} pod(s) on node {} (labels {}match), wants {want}",
                                here.len(),
                                node.name,
                                if matches { "" } else { "do not " }
                            ),
                            here.iter().map(|p| describe(p)).collect(),
                        );
                    }
                }
                for (node, pods) in per_node {
                    v.anomaly(
                        format!("{name}: pods on {node}, which is not a node"),
                        pods.iter().map(|p| describe(p)).collect(),
                    );
                }
            }
            ControllerView::Job {
                name,
                uid,
                completions,
            } => {
                let succeeded: BTreeSet<&str> = owned(&e.pods, uid)
                    .filter(|p| p.phase == "Succeeded")
                    .map(|p| p.uid.as_str())
                    .chain(
                        e.succeeded
                            .iter()
                            .filter(|(owner, _)| owner == uid)
                            .map(|(_, pod)| pod.as_str()),
                    )
                    .collect();
                let succeeded = succeeded.len();
                if succeeded != *completions as usize {
                    v.anomaly(
                        format!(
                            "job {name}: {succeeded} pods Succeeded, wants exactly {completions}"
                        ),
                        owned(&e.pods, uid).map(describe).collect(),
                    );
                }
            }
        }
    }
    let mut scheduled: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for (cronjob, time, job_uid) in &e.cron_jobs {
        scheduled
            .entry((cronjob, time))
            .or_default()
            .insert(job_uid);
    }
    for ((cronjob, time), jobs) in scheduled.iter().filter(|(_, jobs)| jobs.len() > 1) {
        v.anomaly(
            format!(
                "cronjob {cronjob}: {} Jobs for scheduled time {time}",
                jobs.len()
            ),
            jobs.iter().map(|uid| format!("job uid {uid}")).collect(),
        );
    }
    let mut nodes_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (uid, node) in &e.pod_nodes {
        nodes_of.entry(uid).or_default().insert(node);
    }
    for (uid, nodes) in nodes_of.iter().filter(|(_, n)| n.len() > 1) {
        v.anomaly(
            format!("pod {uid}: spec.nodeName changed"),
            nodes.iter().map(|n| format!("on {n}")).collect(),
        );
    }
    let live: BTreeSet<&str> = e.pods.iter().map(|p| p.uid.as_str()).collect();
    for p in e
        .processes
        .iter()
        .filter(|p| !live.contains(p.pod_uid.as_str()))
    {
        v.anomaly(
            format!(
                "a process of deleted pod {} still runs on {}",
                p.pod_uid, p.node
            ),
            vec![format!("pid {}", p.pid)],
        );
    }
    let present: BTreeSet<&ObjectRef> = e.present.iter().collect();
    for o in e.acknowledged.iter().filter(|o| !present.contains(o)) {
        v.anomaly(
            format!("acknowledged {} {}/{} is gone", o.kind, o.namespace, o.name),
            vec![format!("uid {}", o.uid)],
        );
    }
    v
}

#[cfg(test)]
#[path = "controllers_tests.rs"]
mod tests;
