//! The benchmark's objects: hollow nodes and pods owned by made-up controllers.

use std::collections::BTreeMap;
use std::time::Duration;

use skiff_api::meta::{Condition, OwnerReference};
use skiff_api::quantity::Quantity;
use skiff_api::types::{Container, Node, NodeAddress, Pod, Resource};

use super::{BenchReport, SchedulerArgs, SchedulerBenchError};
use skiff_scheduler::cache::Cache;

pub fn check(args: &SchedulerArgs) -> Result<(), SchedulerBenchError> {
    for (flag, value) in [
        ("--pod-cpu", &args.pod_cpu),
        ("--pod-memory", &args.pod_memory),
        ("--node-cpu", &args.node_cpu),
        ("--node-memory", &args.node_memory),
    ] {
        Quantity::parse(value)
            .map_err(|e| SchedulerBenchError::Invalid(format!("{flag} {value:?}: {e}")))?;
    }
    if args.nodes == 0 || args.pods == 0 {
        return Err(SchedulerBenchError::Invalid(
            "--nodes and --pods must be at least 1".to_string(),
        ));
    }
    if !args.apiserver.is_empty() && args.token.as_deref().is_none_or(str::is_empty) {
        return Err(SchedulerBenchError::Invalid(
            "--apiserver needs --token".to_string(),
        ));
    }
    Ok(())
}

pub fn node_name(i: usize) -> String {
    format!("hollow-node-{i:04}")
}

/// A Ready node that no agent runs.
pub fn hollow_node(args: &SchedulerArgs, i: usize) -> Node {
    let name = node_name(i);
    let mut node = Node::named("", &name);
    node.metadata.labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), name.clone()),
        ("skiff.io/hollow".to_string(), "true".to_string()),
    ]);
    let resources = [
        ("cpu", args.node_cpu.clone()),
        ("memory", args.node_memory.clone()),
        ("pods", args.node_max_pods.to_string()),
    ];
    for (k, v) in resources {
        node.status
            .capacity
            .insert(k.to_string(), Quantity(v.clone()));
        node.status.allocatable.insert(k.to_string(), Quantity(v));
    }
    node.status
        .conditions
        .push(Condition::new("Ready", true, "KubeletReady", "hollow node"));
    node.status.addresses = vec![
        NodeAddress {
            type_: "InternalIP".to_string(),
            address: "127.0.0.1".to_string(),
        },
        NodeAddress {
            type_: "Hostname".to_string(),
            address: name,
        },
    ];
    node
}

/// The `i`th pod, owned by controller `i / pods_per_controller`.
pub fn bench_pod(args: &SchedulerArgs, namespace: &str, i: usize) -> Pod {
    let mut pod = Pod::named(namespace, &format!("bench-pod-{i:05}"));
    pod.metadata.uid = format!("bench-pod-uid-{i}");
    pod.metadata
        .labels
        .insert("app".to_string(), "scheduler-bench".to_string());
    if let Some(owner) = i.checked_div(args.pods_per_controller) {
        pod.metadata.owner_references.push(OwnerReference {
            api_version: "apps/v1".to_string(),
            kind: "ReplicaSet".to_string(),
            name: format!("bench-rs-{owner}"),
            uid: controller_uid(owner),
            controller: Some(true),
            block_owner_deletion: Some(true),
        });
    }
    let mut container = Container {
        name: "main".to_string(),
        image: "busybox".to_string(),
        ..Container::default()
    };
    container
        .resources
        .requests
        .insert("cpu".to_string(), Quantity(args.pod_cpu.clone()));
    container
        .resources
        .requests
        .insert("memory".to_string(), Quantity(args.pod_memory.clone()));
    pod.spec.containers.push(container);
    pod
}

pub fn controller_uid(owner: usize) -> String {
    format!("bench-rs-uid-{owner}")
}

/// How evenly the cache's pods ended up over the nodes.
pub fn spread_report(args: &SchedulerArgs, cache: &Cache, mode: &'static str) -> BenchReport {
    let controllers = if args.pods_per_controller == 0 {
        0
    } else {
        args.pods.div_ceil(args.pods_per_controller)
    };
    let (mut min, mut max, mut siblings) = (i64::MAX, 0, 0);
    for i in 0..args.nodes {
        let Some(node) = cache.node(&node_name(i)) else {
            continue;
        };
        min = min.min(node.pod_count());
        max = max.max(node.pod_count());
        for c in 0..controllers {
            siblings = siblings.max(node.owned_by(&controller_uid(c)));
        }
    }
    BenchReport {
        mode,
        nodes: args.nodes,
        pods: args.pods,
        pods_per_controller: args.pods_per_controller,
        scheduled: 0,
        unschedulable: 0,
        elapsed: Duration::ZERO,
        notes: Vec::new(),
        min_pods_per_node: if min == i64::MAX { 0 } else { min },
        max_pods_per_node: max,
        max_siblings_per_node: siblings,
    }
}
