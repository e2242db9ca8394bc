//! Table tests of the decision: every filter reason, the message and its order, and resource
//! accounting; scoring and spreading are in `scoring`.

use skiff_api::meta::{Condition, OwnerReference};
use skiff_api::quantity::Quantity;
use skiff_api::types::{Container, Node, Pod, Resource};

use super::filter::Reason;
use super::info::{NodeInfo, PodInfo, Resources};
use super::*;

mod scoring;

fn node(name: &str, cpu: &str, memory: &str, pods: &str) -> Node {
    let mut n = Node::named("", name);
    for (k, v) in [("cpu", cpu), ("memory", memory), ("pods", pods)] {
        n.status.allocatable.insert(k.into(), Quantity(v.into()));
        n.status.capacity.insert(k.into(), Quantity(v.into()));
    }
    n.status
        .conditions
        .push(Condition::new("Ready", true, "NodeReady", "ready"));
    n
}

fn ready_node(name: &str) -> Node {
    node(name, "4", "8Gi", "110")
}

fn labelled(mut n: Node, key: &str, value: &str) -> Node {
    n.metadata.labels.insert(key.into(), value.into());
    n
}

fn not_ready(mut n: Node) -> Node {
    n.status.conditions = vec![Condition::new("Ready", false, "NodeStatusUnknown", "gone")];
    n
}

fn cordoned(mut n: Node) -> Node {
    n.spec.unschedulable = true;
    n
}

fn container(cpu: Option<&str>, memory: Option<&str>) -> Container {
    let mut c = Container {
        name: "c".into(),
        image: "busybox".into(),
        ..Container::default()
    };
    if let Some(cpu) = cpu {
        c.resources
            .requests
            .insert("cpu".into(), Quantity(cpu.into()));
    }
    if let Some(memory) = memory {
        c.resources
            .requests
            .insert("memory".into(), Quantity(memory.into()));
    }
    c
}

fn pod(name: &str, cpu: Option<&str>, memory: Option<&str>) -> Pod {
    let mut p = Pod::named("default", name);
    p.metadata.uid = format!("uid-{name}");
    p.spec.containers.push(container(cpu, memory));
    p
}

fn on(mut p: Pod, node: &str) -> Pod {
    p.spec.node_name = node.into();
    p
}

fn phase(mut p: Pod, phase: &str) -> Pod {
    p.status.phase = phase.into();
    p
}

fn owned(mut p: Pod, owner: &str) -> Pod {
    p.metadata.owner_references.push(OwnerReference {
        api_version: "v1".into(),
        kind: "ReplicationController".into(),
        name: owner.into(),
        uid: owner.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    });
    p
}

fn selecting(mut p: Pod, key: &str, value: &str) -> Pod {
    p.spec.node_selector.insert(key.into(), value.into());
    p
}

/// Runs the decision for `pod` over `nodes`, each with the given pods bound to it.
fn decide(pod: &Pod, nodes: Vec<Node>, bound: &[Pod]) -> Result<String, Unschedulable> {
    let infos: Vec<NodeInfo> = nodes
        .into_iter()
        .map(|n| NodeInfo::with_pods(n, bound))
        .collect();
    schedule(&PodInfo::new(pod), &infos).map(str::to_string)
}

fn message_of(result: Result<String, Unschedulable>) -> String {
    match result {
        Ok(node) => panic!("expected unschedulable, got {node}"),
        Err(u) => u.message,
    }
}

/// (name, pod, nodes, pods bound, expected message)
type Case = (&'static str, Pod, Vec<Node>, Vec<Pod>, &'static str);

#[test]
fn each_filter_reason_has_kubernetes_wording() {
    let small = pod("p", Some("500m"), Some("1Gi"));
    let cases: Vec<Case> = vec![
        (
            "cordoned",
            small.clone(),
            vec![cordoned(ready_node("n1"))],
            vec![],
            "0/1 nodes are available: 1 node(s) were unschedulable.",
        ),
        (
            "not ready",
            small.clone(),
            vec![not_ready(ready_node("n1"))],
            vec![],
            "0/1 nodes are available: 1 node(s) were not ready.",
        ),
        (
            "no Ready condition",
            small.clone(),
            vec![{
                let mut n = ready_node("n1");
                n.status.conditions.clear();
                n
            }],
            vec![],
            "0/1 nodes are available: 1 node(s) were not ready.",
        ),
        (
            "selector",
            selecting(small.clone(), "disk", "ssd"),
            vec![labelled(ready_node("n1"), "disk", "hdd")],
            vec![],
            "0/1 nodes are available: 1 node(s) didn't match Pod's node selector.",
        ),
        (
            "cpu",
            pod("p", Some("5"), None),
            vec![ready_node("n1")],
            vec![],
            "0/1 nodes are available: 1 Insufficient cpu.",
        ),
        (
            "memory",
            pod("p", None, Some("9Gi")),
            vec![ready_node("n1")],
            vec![],
            "0/1 nodes are available: 1 Insufficient memory.",
        ),
        (
            "pods",
            small.clone(),
            vec![node("n1", "4", "8Gi", "1")],
            vec![on(pod("q", None, None), "n1")],
            "0/1 nodes are available: 1 Too many pods.",
        ),
        (
            "zero allowed pods",
            small.clone(),
            vec![node("n1", "4", "8Gi", "0")],
            vec![],
            "0/1 nodes are available: 1 Too many pods.",
        ),
        (
            "every resource at once",
            pod("p", Some("3"), Some("7Gi")),
            vec![node("n1", "4", "8Gi", "1")],
            vec![on(pod("q", Some("2"), Some("2Gi")), "n1")],
            "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods.",
        ),
        (
            "no nodes",
            small.clone(),
            vec![],
            vec![],
            "no nodes available to schedule pods",
        ),
    ];
    for (name, pod, nodes, bound, want) in cases {
        assert_eq!(message_of(decide(&pod, nodes, &bound)), want, "case {name}");
    }
}

#[test]
fn filters_stop_at_the_first_failure_in_plugin_order() {
    // A cordoned node that is also not ready and mismatched counts once, as unschedulable.
    let p = selecting(pod("p", Some("100"), None), "gpu", "true");
    let nodes = vec![
        not_ready(cordoned(ready_node("a"))),
        not_ready(ready_node("b")),
        ready_node("c"),
        node("d", "1", "1Gi", "10"),
    ];
    assert_eq!(
        message_of(decide(&p, nodes, &[])),
        "0/4 nodes are available: 1 node(s) were not ready, 1 node(s) were unschedulable, \
         2 node(s) didn't match Pod's node selector."
    );
}

#[test]
fn reasons_are_sorted_as_strings_with_their_counts() {
    let p = selecting(pod("p", None, None), "disk", "ssd");
    let mut nodes = vec![not_ready(ready_node("a")), ready_node("b"), ready_node("c")];
    assert_eq!(
        message_of(decide(&p, nodes.clone(), &[])),
        "0/3 nodes are available: 1 node(s) were not ready, 2 node(s) didn't match Pod's node selector."
    );
    // Kubernetes sorts "<count> <reason>" strings, so "10 ..." comes before "2 ...".
    for i in 0..10 {
        nodes.push(not_ready(ready_node(&format!("x{i}"))));
    }
    nodes.push(ready_node("d"));
    let err = decide(&p, nodes, &[]).unwrap_err();
    assert_eq!(
        err.message,
        "0/14 nodes are available: 11 node(s) were not ready, 3 node(s) didn't match Pod's node selector."
    );
    assert_eq!(err.nodes, 14);
    assert_eq!(
        err.reasons,
        vec![(Reason::NotReady, 11), (Reason::NodeSelectorMismatch, 3)]
    );
}

#[test]
fn selector_needs_every_label() {
    let p = selecting(selecting(pod("p", None, None), "disk", "ssd"), "zone", "a");
    let ssd = labelled(ready_node("n1"), "disk", "ssd");
    let both = labelled(labelled(ready_node("n2"), "disk", "ssd"), "zone", "a");
    assert!(decide(&p, vec![ssd.clone()], &[]).is_err());
    assert_eq!(decide(&p, vec![ssd, both], &[]).unwrap(), "n2");
}

#[test]
fn resource_accounting() {
    let n = || node("n1", "1", "1Gi", "3");
    let big = |name: &str| pod(name, Some("600m"), Some("600Mi"));
    let cases: Vec<(&str, Vec<Pod>, bool)> = vec![
        ("empty node", vec![], true),
        (
            "a running pod takes its share",
            vec![on(big("q"), "n1")],
            false,
        ),
        (
            "a pending pod bound nowhere takes nothing",
            vec![big("q")],
            true,
        ),
        (
            "a pod on another node takes nothing here",
            vec![on(big("q"), "n2")],
            true,
        ),
        (
            "succeeded pods free their share",
            vec![phase(on(big("q"), "n1"), "Succeeded")],
            true,
        ),
        (
            "failed pods free their share",
            vec![phase(on(big("q"), "n1"), "Failed")],
            true,
        ),
        (
            "running phase counts",
            vec![phase(on(big("q"), "n1"), "Running")],
            false,
        ),
        (
            "terminating pods still hold resources",
            vec![{
                let mut p = on(big("q"), "n1");
                p.metadata.deletion_timestamp = Some(skiff_api::meta::Time::now());
                p
            }],
            false,
        ),
        (
            "exact fit",
            vec![on(pod("q", Some("400m"), Some("424Mi")), "n1")],
            true,
        ),
        (
            "one millicore over",
            vec![on(pod("q", Some("401m"), None), "n1")],
            false,
        ),
        (
            "pod count: finished pods do not count",
            vec![
                phase(on(pod("a", None, None), "n1"), "Succeeded"),
                phase(on(pod("b", None, None), "n1"), "Failed"),
                on(pod("c", None, None), "n1"),
                on(pod("d", None, None), "n1"),
            ],
            true,
        ),
        (
            "pod count: full",
            vec![
                on(pod("a", None, None), "n1"),
                on(pod("b", None, None), "n1"),
                on(pod("c", None, None), "n1"),
            ],
            false,
        ),
    ];
    for (name, bound, fits) in cases {
        assert_eq!(
            decide(&big("p"), vec![n()], &bound).is_ok(),
            fits,
            "case {name}"
        );
    }
}

#[test]
fn requests_sum_over_containers_and_absent_requests_fit_anywhere() {
    let mut p = pod("p", Some("300m"), Some("100Mi"));
    p.spec.containers.push(container(Some("0.5"), Some("1Mi")));
    let info = PodInfo::new(&p);
    assert_eq!(info.requests, Resources::new(800, 101 * 1024 * 1024));
    // A pod that requests nothing fits a node whose cpu and memory are overcommitted.
    let n = node("n1", "1", "1Gi", "10");
    let hog = on(pod("hog", Some("2"), Some("2Gi")), "n1");
    assert_eq!(
        decide(
            &pod("p", None, None),
            vec![n.clone()],
            std::slice::from_ref(&hog)
        )
        .unwrap(),
        "n1"
    );
    assert!(decide(&pod("p", Some("1m"), None), vec![n], &[hog]).is_err());
}
