//! Table tests of scoring: least allocated, spreading a controller's pods, tie-breaks, and the
//! node accounting behind them.

use std::sync::Arc;

use super::super::info::DEFAULT_MEMORY_REQUEST;
use super::*;

#[test]
fn non_zero_requests_default_only_absent_entries() {
    let info = PodInfo::new(&pod("p", Some("0"), None));
    assert_eq!(info.requests, Resources::new(0, 0));
    assert_eq!(
        info.non_zero_requests,
        Resources::new(0, DEFAULT_MEMORY_REQUEST)
    );
    let info = PodInfo::new(&pod("p", None, Some("1Gi")));
    assert_eq!(info.non_zero_requests, Resources::new(100, 1 << 30));
}

#[test]
fn least_allocated_prefers_the_emptier_node() {
    let p = pod("p", Some("100m"), Some("100Mi"));
    let busy = on(pod("b", Some("2"), Some("1Gi")), "n1");
    assert_eq!(
        decide(
            &p,
            vec![ready_node("n1"), ready_node("n2")],
            std::slice::from_ref(&busy)
        )
        .unwrap(),
        "n2"
    );
    // A bigger node with the same usage has more room left.
    let bigger = node("n0", "8", "16Gi", "110");
    let on_bigger = on(pod("b2", Some("2"), Some("1Gi")), "n0");
    assert_eq!(
        decide(&p, vec![bigger, ready_node("n1")], &[busy, on_bigger]).unwrap(),
        "n0"
    );
    // Pods without requests count with the defaults, so they spread too.
    let idle = on(pod("i", None, None), "n1");
    assert_eq!(
        decide(
            &pod("p", None, None),
            vec![ready_node("n1"), ready_node("n2")],
            &[idle]
        )
        .unwrap(),
        "n2"
    );
}

#[test]
fn ties_break_by_pod_count_then_name() {
    let p = pod("p", None, None);
    assert_eq!(
        decide(
            &p,
            vec![ready_node("b"), ready_node("a"), ready_node("c")],
            &[]
        )
        .unwrap(),
        "a"
    );
    // Same score (a zero-request pod on "a"), fewer pods wins.
    let zero = on(pod("z", Some("0"), Some("0")), "a");
    assert_eq!(
        decide(&p, vec![ready_node("b"), ready_node("a")], &[zero]).unwrap(),
        "b"
    );
}

#[test]
fn a_controllers_pods_spread_across_nodes() {
    let sibling = |name: &str, node: &str| on(owned(pod(name, Some("100m"), None), "rc-1"), node);
    let p = owned(pod("p", Some("100m"), None), "rc-1");
    // n1 is emptier overall, but already runs a sibling: the pod goes to n2.
    let other = on(pod("other", Some("3"), Some("6Gi")), "n2");
    let nodes = || vec![ready_node("n1"), ready_node("n2")];
    assert_eq!(
        decide(&p, nodes(), &[sibling("s1", "n1"), other.clone()]).unwrap(),
        "n2"
    );
    // Balanced siblings: resources decide.
    assert_eq!(
        decide(
            &p,
            nodes(),
            &[sibling("s1", "n1"), sibling("s2", "n2"), other.clone()]
        )
        .unwrap(),
        "n1"
    );
    // Pods of another controller do not repel.
    let stranger = on(owned(pod("x", Some("100m"), None), "rc-2"), "n1");
    assert_eq!(decide(&p, nodes(), &[stranger, other]).unwrap(), "n1");
}

#[test]
fn placing_pods_one_after_another_spreads_them_evenly() {
    let mut infos: Vec<NodeInfo> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| NodeInfo::new(Arc::new(ready_node(n))))
        .collect();
    for i in 0..9 {
        let info = PodInfo::new(&owned(
            pod(&format!("p{i}"), Some("100m"), Some("64Mi")),
            "rc",
        ));
        let chosen = schedule(&info, &infos).unwrap().to_string();
        infos
            .iter_mut()
            .find(|n| n.name == chosen)
            .unwrap()
            .add_pod(&info);
    }
    let counts: Vec<u32> = infos.iter().map(|n| n.owned_by("rc")).collect();
    assert_eq!(counts, vec![3, 3, 3]);
}

#[test]
fn unknown_nodes_are_neither_offered_nor_counted() {
    let ghost = NodeInfo::ghost("gone");
    let real = NodeInfo::new(Arc::new(not_ready(ready_node("n1"))));
    let err = schedule(&PodInfo::new(&pod("p", None, None)), [&ghost, &real]).unwrap_err();
    assert_eq!(
        err.message,
        "0/1 nodes are available: 1 node(s) were not ready."
    );
}

#[test]
fn node_info_tracks_adds_and_removes() {
    let mut info = NodeInfo::new(Arc::new(ready_node("n1")));
    let a = PodInfo::new(&owned(pod("a", Some("250m"), Some("1Mi")), "rc"));
    info.add_pod(&a);
    info.add_pod(&a);
    assert_eq!((info.pod_count(), info.owned_by("rc")), (2, 2));
    assert_eq!(info.requested(), Resources::new(500, 2 << 20));
    info.remove_pod(&a);
    info.remove_pod(&a);
    assert_eq!(
        (info.pod_count(), info.owned_by("rc"), info.requested()),
        (0, 0, Resources::default())
    );
}

#[test]
fn only_scheduling_relevant_node_changes_count_as_changes() {
    let mut info = NodeInfo::ghost("n1");
    assert!(
        info.set_node(Arc::new(ready_node("n1"))),
        "a new node is a change"
    );
    let mut heartbeat = ready_node("n1");
    heartbeat.status.conditions[0].last_heartbeat_time = Some(skiff_api::meta::Time::now());
    heartbeat.metadata.resource_version = "99".into();
    assert!(!info.set_node(Arc::new(heartbeat)), "a heartbeat is not");
    for changed in [
        labelled(ready_node("n1"), "gpu", "true"),
        not_ready(ready_node("n1")),
        cordoned(ready_node("n1")),
        node("n1", "8", "8Gi", "110"),
    ] {
        let mut fresh = NodeInfo::new(Arc::new(ready_node("n1")));
        assert!(fresh.set_node(Arc::new(changed.clone())), "{changed:?}");
    }
}

#[test]
fn a_placement_names_the_scores_and_the_filtered_out_nodes() {
    let infos: Vec<NodeInfo> = [
        labelled(ready_node("ssd"), "disk", "ssd"),
        ready_node("hdd"),
    ]
    .into_iter()
    .map(|n| NodeInfo::new(Arc::new(n)))
    .collect();
    let wants = selecting(pod("p", None, None), "disk", "ssd");
    let p = super::super::place(&PodInfo::new(&wants), &infos).unwrap();
    assert_eq!(p.node, "ssd");
    assert_eq!((p.feasible, p.filtered_count), (1, 1));
    let text = p.explanation();
    assert!(
        text.starts_with("scores: ssd=")
            && text.ends_with("; filtered out: hdd (node(s) didn't match Pod's node selector)"),
        "{text}"
    );
}
