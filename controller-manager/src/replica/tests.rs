//! Table tests of the replica decision: counts, adoption, release, surplus order, expectations, status.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use skiff_api::meta::{Condition, OwnerReference, Time};
use skiff_api::selector::Selector;
use skiff_api::types::{Pod, ReplicaStatus, Resource};

use super::reconcile::{
    reconcile, with_failure, Action, Desired, Observed, BURST_REPLICAS, REPLICA_FAILURE,
};

const UID: &str = "rc-uid";

/// A pod described compactly: `name`, its `app` label, owner (`mine`, `orphan`, `theirs`),
/// node ("" = unscheduled), phase, ready, creation second.
fn pod(
    name: &str,
    app: &str,
    owner: &str,
    node: &str,
    phase: &str,
    ready: bool,
    created: i64,
) -> Arc<Pod> {
    let mut p = Pod::named("default", name);
    p.metadata.uid = format!("uid-{name}");
    p.metadata.labels.insert("app".into(), app.into());
    p.metadata.labels.insert("tier".into(), "web".into());
    let uid = match owner {
        "mine" => Some(UID),
        "theirs" => Some("other-uid"),
        _ => None,
    };
    if let Some(uid) = uid {
        p.metadata.owner_references.push(OwnerReference {
            kind: "ReplicationController".into(),
            uid: uid.into(),
            controller: Some(true),
            ..OwnerReference::default()
        });
    }
    p.spec.node_name = node.into();
    p.status.phase = phase.into();
    if ready {
        p.status.conditions.push(Condition {
            last_transition_time: Some(Time(
                Utc.timestamp_opt(1_700_000_000 + created, 0).unwrap(),
            )),
            ..Condition::new("Ready", true, "", "")
        });
    }
    p.metadata.creation_timestamp =
        Some(Time(Utc.timestamp_opt(1_700_000_000 + created, 0).unwrap()));
    Arc::new(p)
}

fn running(name: &str, created: i64) -> Arc<Pod> {
    pod(name, "crane", "mine", "n1", "Running", true, created)
}

/// Actions as short strings, so a table row reads like what happens.
fn describe(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::Adopt(p) => format!("adopt {}", p.metadata.name),
            Action::Release(p) => format!("release {}", p.metadata.name),
            Action::CreatePods(n) => format!("create {n}"),
            Action::DeletePods(ps) => {
                format!(
                    "delete {}",
                    ps.iter()
                        .map(|p| p.metadata.name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
            Action::UpdateStatus(s) => format!(
                "status replicas={} labeled={} ready={} available={} gen={}",
                s.replicas,
                s.fully_labeled_replicas,
                s.ready_replicas,
                s.available_replicas,
                s.observed_generation
            ),
        })
        .collect()
}

struct Case {
    name: &'static str,
    replicas: i32,
    pods: Vec<Arc<Pod>>,
    met: bool,
    can_adopt: bool,
    deleting: bool,
    status: ReplicaStatus,
    want: &'static [&'static str],
}

fn case(
    name: &'static str,
    replicas: i32,
    pods: Vec<Arc<Pod>>,
    want: &'static [&'static str],
) -> Case {
    Case {
        name,
        replicas,
        pods,
        met: true,
        can_adopt: true,
        deleting: false,
        status: ReplicaStatus::default(),
        want,
    }
}

fn settled(replicas: i32) -> ReplicaStatus {
    ReplicaStatus {
        replicas,
        fully_labeled_replicas: replicas,
        ready_replicas: replicas,
        available_replicas: replicas,
        observed_generation: 2,
        conditions: vec![],
    }
}

#[test]
fn replica_decisions() {
    let selector = Selector::parse("app=crane").unwrap();
    let template_labels: BTreeMap<String, String> = [("app", "crane"), ("tier", "web")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let three = || vec![running("a", 1), running("b", 2), running("c", 3)];
    let cases = vec![
        case(
            "a new controller creates its pods",
            3,
            vec![],
            &[
                "create 3",
                "status replicas=0 labeled=0 ready=0 available=0 gen=2",
            ],
        ),
        Case {
            status: settled(3),
            ..case("exactly enough: nothing to do", 3, three(), &[])
        },
        Case {
            status: settled(3),
            ..case(
                "a deleted pod is replaced",
                3,
                vec![running("a", 1), running("b", 2)],
                &[
                    "create 1",
                    "status replicas=2 labeled=2 ready=2 available=2 gen=2",
                ],
            )
        },
        Case {
            status: settled(3),
            ..case(
                "scale down deletes the newest ready pods first",
                1,
                three(),
                &["delete c,b"],
            )
        },
        Case {
            status: settled(4),
            ..case(
                "surplus goes unscheduled, then pending, then not ready, then ready",
                1,
                vec![
                    running("ready", 1),
                    pod("not-ready", "crane", "mine", "n1", "Running", false, 0),
                    pod("pending", "crane", "mine", "n1", "Pending", false, 0),
                    pod("unscheduled", "crane", "mine", "", "Pending", false, 0),
                ],
                &[
                    "delete unscheduled,pending,not-ready",
                    "status replicas=4 labeled=4 ready=1 available=1 gen=2",
                ],
            )
        },
        Case {
            met: false,
            ..case(
                "unobserved creations block the manage step but not the status",
                3,
                vec![running("a", 1)],
                &["status replicas=1 labeled=1 ready=1 available=1 gen=2"],
            )
        },
        Case {
            status: settled(3),
            ..case(
                "a matching orphan is adopted instead of creating a pod",
                3,
                vec![
                    running("a", 1),
                    running("b", 2),
                    pod("orphan", "crane", "orphan", "n2", "Running", true, 9),
                ],
                &["adopt orphan"],
            )
        },
        Case {
            status: settled(3),
            ..case(
                "a hand-made matching pod makes a surplus",
                3,
                vec![
                    running("a", 1),
                    running("b", 2),
                    running("c", 3),
                    pod("by-hand", "crane", "orphan", "n2", "Running", true, 9),
                ],
                &[
                    "adopt by-hand",
                    "delete by-hand",
                    "status replicas=4 labeled=4 ready=4 available=4 gen=2",
                ],
            )
        },
        Case {
            status: settled(3),
            ..case(
                "a relabelled pod is released and replaced",
                3,
                vec![
                    running("a", 1),
                    running("b", 2),
                    pod("moved", "other", "mine", "n1", "Running", true, 3),
                ],
                &[
                    "release moved",
                    "create 1",
                    "status replicas=2 labeled=2 ready=2 available=2 gen=2",
                ],
            )
        },
        Case {
            status: settled(3),
            ..case(
                "pods of other controllers and non-matching orphans are ignored",
                3,
                vec![
                    running("a", 1),
                    running("b", 2),
                    running("c", 3),
                    pod("theirs", "crane", "theirs", "n1", "Running", true, 0),
                    pod("stray", "other", "orphan", "n1", "Running", true, 0),
                ],
                &[],
            )
        },
        Case {
            can_adopt: false,
            status: settled(2),
            ..case(
                "an owner that may not adopt creates instead",
                3,
                vec![
                    running("a", 1),
                    running("b", 2),
                    pod("orphan", "crane", "orphan", "n2", "Running", true, 9),
                ],
                &["create 1"],
            )
        },
        Case {
            deleting: true,
            status: settled(3),
            ..case(
                "an owner being deleted neither adopts, releases nor manages",
                5,
                vec![
                    running("a", 1),
                    pod("moved", "other", "mine", "n1", "Running", true, 3),
                    pod("orphan", "crane", "orphan", "n2", "Running", true, 9),
                ],
                &["status replicas=1 labeled=1 ready=1 available=1 gen=2"],
            )
        },
        case(
            "one sync creates at most the burst",
            1000,
            vec![],
            &[
                "create 500",
                "status replicas=0 labeled=0 ready=0 available=0 gen=2",
            ],
        ),
    ];
    for c in cases {
        let desired = Desired {
            uid: UID,
            replicas: c.replicas,
            selector: &selector,
            template_labels: &template_labels,
            generation: 2,
            deleting: c.deleting,
            status: &c.status,
        };
        let observed = Observed {
            pods: &c.pods,
            expectations_met: c.met,
            can_adopt: c.can_adopt,
        };
        assert_eq!(
            describe(&reconcile(&desired, &observed)),
            c.want,
            "case: {}",
            c.name
        );
    }
    assert_eq!(BURST_REPLICAS, 500);
}

#[test]
fn fully_labeled_counts_pods_carrying_every_template_label() {
    let selector = Selector::parse("app=crane").unwrap();
    let template_labels: BTreeMap<String, String> =
        [("app", "crane"), ("tier", "web"), ("track", "stable")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let mut full = (*running("full", 1)).clone();
    full.metadata.labels.insert("track".into(), "stable".into());
    let pods = vec![Arc::new(full), running("partial", 2)];
    let status = ReplicaStatus::default();
    let desired = Desired {
        uid: UID,
        replicas: 2,
        selector: &selector,
        template_labels: &template_labels,
        generation: 1,
        deleting: false,
        status: &status,
    };
    let actions = reconcile(
        &desired,
        &Observed {
            pods: &pods,
            expectations_met: true,
            can_adopt: true,
        },
    );
    assert_eq!(
        describe(&actions),
        ["status replicas=2 labeled=1 ready=2 available=2 gen=1"]
    );
}

#[test]
fn a_failure_condition_is_set_then_cleared() {
    let selector = Selector::parse("app=crane").unwrap();
    let template_labels = BTreeMap::new();
    let failed = with_failure(settled(1), &settled(1), "FailedCreate", "quota exceeded");
    let cond = failed
        .conditions
        .iter()
        .find(|c| c.type_ == REPLICA_FAILURE)
        .unwrap();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("True", "FailedCreate")
    );
    // The same failure again keeps its transition time.
    let again = with_failure(settled(1), &failed, "FailedCreate", "quota exceeded");
    assert_eq!(again, failed);
    // A sync without failure drops the condition (and so writes the status).
    let pods = vec![running("a", 1)];
    let desired = Desired {
        uid: UID,
        replicas: 1,
        selector: &selector,
        template_labels: &template_labels,
        generation: 2,
        deleting: false,
        status: &failed,
    };
    let actions = reconcile(
        &desired,
        &Observed {
            pods: &pods,
            expectations_met: true,
            can_adopt: true,
        },
    );
    match actions.as_slice() {
        [Action::UpdateStatus(s)] => assert!(s.conditions.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
}
