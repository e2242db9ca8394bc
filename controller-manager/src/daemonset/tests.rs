//! Table tests of the DaemonSet decision: placement by nodeSelector, replacement, removal, status.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use skiff_api::meta::{Condition, OwnerReference, Time};
use skiff_api::selector::Selector;
use skiff_api::types::{DaemonSetStatus, Node, Pod, Resource};

use super::reconcile::{
    reconcile, should_run, Action, Desired, Observed, TEMPLATE_GENERATION_LABEL,
};

const UID: &str = "ds-uid";

fn node(name: &str, disk: &str) -> Arc<Node> {
    let mut n = Node::named("", name);
    if !disk.is_empty() {
        n.metadata.labels.insert("disk".into(), disk.into());
    }
    Arc::new(n)
}

/// A daemon pod on `node`: `state` is `ready`, `starting`, `failed` or `deleting`.
fn pod(name: &str, node: &str, state: &str, created: i64) -> Arc<Pod> {
    let mut p = Pod::named("default", name);
    p.metadata.uid = format!("uid-{name}");
    p.metadata.labels.insert("app".into(), "ssd-monitor".into());
    p.metadata
        .labels
        .insert(TEMPLATE_GENERATION_LABEL.into(), "1".into());
    p.metadata.owner_references.push(OwnerReference {
        kind: "DaemonSet".into(),
        uid: UID.into(),
        controller: Some(true),
        ..OwnerReference::default()
    });
    p.metadata.creation_timestamp =
        Some(Time(Utc.timestamp_opt(1_700_000_000 + created, 0).unwrap()));
    p.spec.node_name = node.into();
    p.status.phase = if state == "failed" {
        "Failed"
    } else {
        "Running"
    }
    .into();
    if state == "ready" {
        p.status
            .conditions
            .push(Condition::new("Ready", true, "", ""));
    }
    if state == "deleting" {
        p.metadata.deletion_timestamp = Some(Time::now());
    }
    Arc::new(p)
}

fn describe(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::Adopt(p) => format!("adopt {}", p.metadata.name),
            Action::Release(p) => format!("release {}", p.metadata.name),
            Action::CreateOn(nodes) => format!("create on {}", nodes.join(",")),
            Action::DeletePods(ps) => format!(
                "delete {}",
                ps.iter()
                    .map(|(p, why)| format!("{}({why:?})", p.metadata.name))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Action::UpdateStatus(s) => format!(
                "status desired={} current={} ready={} misscheduled={} updated={} unavailable={}",
                s.desired_number_scheduled,
                s.current_number_scheduled,
                s.number_ready,
                s.number_misscheduled,
                s.updated_number_scheduled,
                s.number_unavailable
            ),
        })
        .collect()
}

#[test]
fn daemon_set_decisions() {
    let selector = Selector::parse("app=ssd-monitor").unwrap();
    let ssd: BTreeMap<String, String> = [("disk".to_string(), "ssd".to_string())].into();
    let everywhere = BTreeMap::new();
    let nodes = vec![node("n1", "ssd"), node("n2", "hdd"), node("n3", "ssd")];
    // (case, nodeSelector, pods, expectations met, want)
    type Row<'a> = (
        &'a str,
        &'a BTreeMap<String, String>,
        Vec<Arc<Pod>>,
        bool,
        Vec<&'a str>,
    );
    let cases: Vec<Row<'_>> = vec![
        (
            "a new DaemonSet gets a pod on each matching node",
            &ssd,
            vec![],
            true,
            vec![
                "create on n1,n3",
                "status desired=2 current=0 ready=0 misscheduled=0 updated=0 unavailable=2",
            ],
        ),
        (
            "no nodeSelector means every node",
            &everywhere,
            vec![pod("a", "n1", "ready", 0)],
            true,
            vec![
                "create on n2,n3",
                "status desired=3 current=1 ready=1 misscheduled=0 updated=1 unavailable=2",
            ],
        ),
        (
            "settled: one ready pod per matching node",
            &ssd,
            vec![pod("a", "n1", "ready", 0), pod("b", "n3", "starting", 0)],
            true,
            vec!["status desired=2 current=2 ready=1 misscheduled=0 updated=2 unavailable=1"],
        ),
        (
            "a pod on a node that stopped matching is deleted",
            &ssd,
            vec![
                pod("a", "n1", "ready", 0),
                pod("b", "n3", "ready", 0),
                pod("c", "n2", "ready", 0),
            ],
            true,
            vec![
                "delete c(Misscheduled)",
                "status desired=2 current=2 ready=2 misscheduled=1 updated=2 unavailable=0",
            ],
        ),
        (
            "a deleted pod is replaced while the old one terminates",
            &ssd,
            vec![pod("a", "n1", "deleting", 0), pod("b", "n3", "ready", 0)],
            true,
            vec![
                "create on n1",
                "status desired=2 current=1 ready=1 misscheduled=0 updated=1 unavailable=1",
            ],
        ),
        (
            "a failed pod is deleted and replaced",
            &ssd,
            vec![pod("a", "n1", "failed", 0), pod("b", "n3", "ready", 0)],
            true,
            vec![
                "create on n1",
                "delete a(Failed)",
                "status desired=2 current=1 ready=1 misscheduled=0 updated=1 unavailable=1",
            ],
        ),
        (
            "a duplicate on one node goes, the oldest stays",
            &ssd,
            vec![
                pod("old", "n1", "ready", 0),
                pod("new", "n1", "ready", 5),
                pod("b", "n3", "ready", 0),
            ],
            true,
            vec![
                "delete new(Duplicate)",
                "status desired=2 current=2 ready=2 misscheduled=0 updated=2 unavailable=0",
            ],
        ),
        (
            "a pod on a vanished node is deleted",
            &ssd,
            vec![
                pod("a", "n1", "ready", 0),
                pod("b", "n3", "ready", 0),
                pod("ghost", "n9", "ready", 0),
            ],
            true,
            vec![
                "delete ghost(NodeGone)",
                "status desired=2 current=2 ready=2 misscheduled=0 updated=2 unavailable=0",
            ],
        ),
        (
            "unobserved writes hold back creation and deletion",
            &ssd,
            vec![pod("a", "n1", "ready", 0), pod("c", "n2", "ready", 0)],
            false,
            vec!["status desired=2 current=1 ready=1 misscheduled=1 updated=1 unavailable=1"],
        ),
    ];
    for (name, node_selector, pods, met, want) in cases {
        let status = DaemonSetStatus::default();
        let desired = Desired {
            uid: UID,
            selector: &selector,
            node_selector,
            generation: 1,
            deleting: false,
            status: &status,
        };
        let observed = Observed {
            nodes: &nodes,
            pods: &pods,
            expectations_met: met,
            can_adopt: true,
        };
        assert_eq!(
            describe(&reconcile(&desired, &observed)),
            want,
            "case: {name}"
        );
    }
}

#[test]
fn status_counts_updated_pods_by_template_generation() {
    let selector = Selector::parse("app=ssd-monitor").unwrap();
    let nodes = vec![node("n1", "ssd")];
    let pods = vec![pod("a", "n1", "ready", 0)];
    let status = DaemonSetStatus::default();
    let everywhere = BTreeMap::new();
    let desired = Desired {
        uid: UID,
        selector: &selector,
        node_selector: &everywhere,
        generation: 2,
        deleting: false,
        status: &status,
    };
    let actions = reconcile(
        &desired,
        &Observed {
            nodes: &nodes,
            pods: &pods,
            expectations_met: true,
            can_adopt: true,
        },
    );
    assert_eq!(
        describe(&actions),
        ["status desired=1 current=1 ready=1 misscheduled=0 updated=0 unavailable=0"]
    );
}

#[test]
fn nodes_being_deleted_get_no_daemon_pod() {
    let mut n = (*node("n1", "ssd")).clone();
    assert!(should_run(&n, &BTreeMap::new()));
    n.metadata.deletion_timestamp = Some(Time::now());
    assert!(!should_run(&n, &BTreeMap::new()));
}
