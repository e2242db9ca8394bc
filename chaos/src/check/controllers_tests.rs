//! Clusters that break each controller invariant once.

use super::*;

fn pod(name: &str, owner: &str, node: &str, phase: &str) -> PodView {
    PodView {
        namespace: "default".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        owner_uid: Some(owner.into()),
        node_name: Some(node.into()),
        phase: phase.into(),
        deleting: false,
    }
}

fn node(name: &str, labels: &[(&str, &str)]) -> NodeView {
    NodeView {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn healthy() -> ControllerEvidence {
    let ssd = BTreeMap::from([("disk".to_string(), "ssd".to_string())]);
    ControllerEvidence {
        pods: vec![
            pod("rc-1", "rc", "n1", "Running"),
            pod("rc-2", "rc", "n2", "Running"),
            pod("ds-1", "ds", "n1", "Running"),
            pod("job-1", "job", "n2", "Succeeded"),
            pod("job-2", "job", "n1", "Failed"),
            pod("job-3", "job", "n1", "Succeeded"),
        ],
        nodes: vec![node("n1", &[("disk", "ssd")]), node("n2", &[])],
        controllers: vec![
            ControllerView::Replicas {
                name: "rc".into(),
                uid: "rc".into(),
                replicas: 2,
            },
            ControllerView::DaemonSet {
                name: "ds".into(),
                uid: "ds".into(),
                node_selector: ssd,
            },
            ControllerView::Job {
                name: "job".into(),
                uid: "job".into(),
                completions: 2,
            },
        ],
        processes: vec![ContainerProcess {
            pid: 10,
            node: "n1".into(),
            pod_uid: "uid-rc-1".into(),
        }],
        present: vec![ObjectRef {
            kind: "replicationcontrollers".into(),
            namespace: "default".into(),
            name: "rc".into(),
            uid: "rc".into(),
        }],
        acknowledged: vec![ObjectRef {
            kind: "replicationcontrollers".into(),
            namespace: "default".into(),
            name: "rc".into(),
            uid: "rc".into(),
        }],
        pod_nodes: vec![
            ("uid-rc-1".into(), "n1".into()),
            ("uid-rc-1".into(), "n1".into()),
        ],
        cron_jobs: vec![
            ("cj".into(), "100".into(), "j1".into()),
            ("cj".into(), "160".into(), "j2".into()),
        ],
        succeeded: vec![("job".into(), "uid-job-1".into())],
    }
}

fn whats(e: &ControllerEvidence) -> Vec<String> {
    check(e).first.into_iter().map(|a| a.what).collect()
}

#[test]
fn a_healthy_cluster_passes() {
    assert_eq!(whats(&healthy()), Vec::<String>::new());
}

#[test]
fn wrong_replica_counts_are_caught() {
    let mut e = healthy();
    e.pods.push(pod("rc-3", "rc", "n1", "Running"));
    assert!(whats(&e)[0].contains("rc: 3 Running of 3 pods, wants 2"));
    let mut e = healthy();
    e.pods[1].phase = "Pending".into();
    assert!(whats(&e)[0].contains("1 Running of 2 pods"));
    // A pod being deleted does not count.
    let mut e = healthy();
    e.pods.push(PodView {
        deleting: true,
        ..pod("rc-3", "rc", "n1", "Running")
    });
    assert!(whats(&e).is_empty());
}

#[test]
fn daemonset_pods_must_be_exactly_one_per_matching_node() {
    let mut e = healthy();
    e.pods.push(pod("ds-2", "ds", "n1", "Running"));
    assert!(whats(&e)[0].contains("2 pod(s) on node n1"));
    let mut e = healthy();
    e.pods.push(pod("ds-2", "ds", "n2", "Running"));
    assert!(whats(&e)[0].contains("on node n2 (labels do not match)"));
    let mut e = healthy();
    e.nodes[1].labels.insert("disk".into(), "ssd".into());
    assert!(whats(&e)[0].contains("0 pod(s) on node n2"));
}

#[test]
fn a_job_with_too_many_or_too_few_completions_is_caught() {
    let mut e = healthy();
    e.pods.push(pod("job-4", "job", "n2", "Succeeded"));
    assert!(whats(&e)[0].contains("3 pods Succeeded, wants exactly 2"));
    let mut e = healthy();
    e.pods.retain(|p| p.name != "job-3");
    assert!(whats(&e)[0].contains("1 pods Succeeded"));
}

#[test]
fn two_jobs_for_one_scheduled_time_are_caught() {
    let mut e = healthy();
    e.cron_jobs.push(("cj".into(), "100".into(), "j3".into()));
    assert!(whats(&e)[0].contains("2 Jobs for scheduled time 100"));
}

#[test]
fn a_pod_that_changed_node_is_caught() {
    let mut e = healthy();
    e.pod_nodes.push(("uid-rc-1".into(), "n2".into()));
    assert!(whats(&e)[0].contains("spec.nodeName changed"));
}

#[test]
fn a_process_of_a_deleted_pod_is_caught() {
    let mut e = healthy();
    e.processes.push(ContainerProcess {
        pid: 11,
        node: "n2".into(),
        pod_uid: "uid-gone".into(),
    });
    assert!(whats(&e)[0].contains("deleted pod uid-gone still runs on n2"));
}

#[test]
fn a_lost_acknowledged_object_is_caught() {
    let mut e = healthy();
    e.present.clear();
    assert!(whats(&e)[0].contains("acknowledged replicationcontrollers default/rc is gone"));
    // Same name, another uid: the acknowledged object is gone all the same.
    let mut e = healthy();
    e.present[0].uid = "other".into();
    assert!(!whats(&e).is_empty());
}

#[test]
fn an_off_controller_shows_each_of_its_pods_with_phase_node_and_termination() {
    let mut e = healthy();
    e.pods[1].phase = "Pending".into();
    e.pods.push(PodView {
        deleting: true,
        ..pod("rc-3", "rc", "n2", "Running")
    });
    let v = check(&e);
    assert_eq!(
        v.first[0].evidence,
        vec![
            "rc-1 Running on n1",
            "rc-2 Pending on n2",
            "rc-3 Running on n2 (terminating)"
        ]
    );
    // A Job's evidence is every pod it owns, not only the Succeeded ones.
    let mut e = healthy();
    e.pods.retain(|p| p.name != "job-3");
    assert_eq!(
        check(&e).first[0].evidence,
        vec!["job-1 Succeeded on n2", "job-2 Failed on n1"]
    );
}

#[test]
fn a_succeeded_pod_evicted_later_still_counts_as_a_completion_once() {
    // job-3 Succeeded, was seen so by the watch, then evicted from an unreachable node.
    let mut e = healthy();
    e.pods.retain(|p| p.name != "job-3");
    e.succeeded.push(("job".into(), "uid-job-3".into()));
    assert_eq!(whats(&e), Vec::<String>::new());
    // A third completion seen only by the watch is one too many.
    e.succeeded.push(("job".into(), "uid-job-9".into()));
    assert!(whats(&e)[0].contains("3 pods Succeeded, wants exactly 2"));
    // Another controller's pods do not count for this Job.
    let mut e = healthy();
    e.succeeded.push(("other".into(), "uid-x".into()));
    assert_eq!(whats(&e), Vec::<String>::new());
}
