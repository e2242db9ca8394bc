//! `describe node` in kubectl's layout: labels, lease, conditions, addresses, capacity, system info, the pods it runs and what they request.

use std::collections::BTreeMap;

use skiff_api::quantity::Quantity;
use skiff_api::types::{Node, Pod};

use super::{annotations_multiline, describe_events, labels_multiline, Related, Writer};
use crate::output::age::Clock;
use crate::table::cluster::node_roles;

pub fn describe_node(node: &Node, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let meta = &node.metadata;
    w.write(0, &format!("Name:\t{}\n", meta.name));
    let roles = node_roles(node);
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    w.write(0, &format!("Roles:\t{roles}\n"));
    labels_multiline(&mut w, "", "Labels", &meta.labels);
    annotations_multiline(&mut w, "", "Annotations", &meta.annotations);
    w.write(
        0,
        &format!(
            "CreationTimestamp:\t{}\n",
            clock.rfc1123z_opt(meta.creation_timestamp.as_ref())
        ),
    );
    w.write(0, "Taints:\t<none>\n");
    w.write(0, &format!("Unschedulable:\t{}\n", node.spec.unschedulable));
    if let Some(lease) = &related.lease {
        let unset = || "<unset>".to_string();
        w.write(0, "Lease:\n");
        let holder = lease.spec.holder_identity.clone().unwrap_or_else(unset);
        w.write(1, &format!("HolderIdentity:\t{holder}\n"));
        let at = |t: Option<skiff_api::meta::MicroTime>| {
            t.map(|t| clock.rfc1123z(&t.0)).unwrap_or_else(unset)
        };
        w.write(
            1,
            &format!("AcquireTime:\t{}\n", at(lease.spec.acquire_time)),
        );
        w.write(1, &format!("RenewTime:\t{}\n", at(lease.spec.renew_time)));
    }
    if !node.status.conditions.is_empty() {
        w.write(
            0,
            "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n",
        );
        w.write(
            1,
            "----\t------\t-----------------\t------------------\t------\t-------\n",
        );
        for c in &node.status.conditions {
            w.write(
                1,
                &format!(
                    "{} \t{} \t{} \t{} \t{} \t{}\n",
                    c.type_,
                    c.status,
                    clock.rfc1123z_opt(c.last_heartbeat_time.as_ref()),
                    clock.rfc1123z_opt(c.last_transition_time.as_ref()),
                    c.reason,
                    c.message
                ),
            );
        }
    }
    w.write(0, "Addresses:\n");
    for a in &node.status.addresses {
        w.write(1, &format!("{}:\t{}\n", a.type_, a.address));
    }
    for (title, list) in [
        ("Capacity", &node.status.capacity),
        ("Allocatable", &node.status.allocatable),
    ] {
        if !list.is_empty() {
            w.write(0, &format!("{title}:\n"));
            for (name, q) in list {
                w.write(0, &format!("  {name}:\t{q}\n"));
            }
        }
    }
    let info = &node.status.node_info;
    w.write(0, "System Info:\n");
    for (title, value) in [
        ("Machine ID", &info.machine_id),
        ("System UUID", &info.system_uuid),
        ("Boot ID", &info.boot_id),
        ("Kernel Version", &info.kernel_version),
        ("OS Image", &info.os_image),
        ("Operating System", &info.operating_system),
        ("Architecture", &info.architecture),
        ("Container Runtime Version", &info.container_runtime_version),
        ("Kubelet Version", &info.kubelet_version),
        ("Kube-Proxy Version", &info.kube_proxy_version),
    ] {
        w.write(0, &format!("  {title}:\t{value}\n"));
    }
    if !node.spec.pod_cidr.is_empty() {
        w.write(0, &format!("PodCIDR:\t{}\n", node.spec.pod_cidr));
    }
    let running: Vec<&Pod> = related
        .pods
        .iter()
        .filter(|p| p.status.phase != "Succeeded" && p.status.phase != "Failed")
        .collect();
    node_resources(&mut w, node, &running, clock);
    describe_events(&mut w, &related.events, clock);
    w.finish()
}

/// Requests and limits of one resource summed over pods: (requests, limits).
fn sum(pods: &[&Pod], resource: &str) -> (i64, i64) {
    let value = |q: &Quantity| {
        if resource == "cpu" {
            q.parse_cpu_millis().unwrap_or(0)
        } else {
            q.parse_bytes().unwrap_or(0)
        }
    };
    let mut requests = 0;
    let mut limits = 0;
    for pod in pods {
        for c in &pod.spec.containers {
            requests += c.resources.requests.get(resource).map_or(0, value);
            limits += c.resources.limits.get(resource).map_or(0, value);
        }
    }
    (requests, limits)
}

fn allocatable(node: &Node, resource: &str) -> i64 {
    let list: &BTreeMap<String, Quantity> = if node.status.allocatable.is_empty() {
        &node.status.capacity
    } else {
        &node.status.allocatable
    };
    match list.get(resource) {
        Some(q) if resource == "cpu" => q.parse_cpu_millis().unwrap_or(0),
        Some(q) => q.parse_bytes().unwrap_or(0),
        None => 0,
    }
}

/// `250m`, `2`; `128Mi`, `1Gi` (the canonical forms kubectl prints).
fn format_amount(resource: &str, value: i64) -> String {
    if resource == "cpu" {
        return if value % 1000 == 0 {
            (value / 1000).to_string()
        } else {
            format!("{value}m")
        };
    }
    for (suffix, unit) in [("Gi", 1i64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if value != 0 && value % unit == 0 {
            return format!("{}{suffix}", value / unit);
        }
    }
    value.to_string()
}

fn percent(value: i64, of: i64) -> i64 {
    if of == 0 {
        0
    } else {
        (value as f64 / of as f64 * 100.0) as i64
    }
}

fn node_resources(w: &mut Writer, node: &Node, pods: &[&Pod], clock: &Clock) {
    let cpu_alloc = allocatable(node, "cpu");
    let mem_alloc = allocatable(node, "memory");
    w.write(
        0,
        &format!("Non-terminated Pods:\t({} in total)\n", pods.len()),
    );
    w.write(
        1,
        "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n",
    );
    w.write(
        1,
        "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n",
    );
    let cell = |resource: &str, value: i64, of: i64| {
        format!(
            "{} ({}%)",
            format_amount(resource, value),
            percent(value, of)
        )
    };
    for pod in pods {
        let (cpu_req, cpu_lim) = sum(&[pod], "cpu");
        let (mem_req, mem_lim) = sum(&[pod], "memory");
        w.write(
            1,
            &format!(
                "{}\t{}\t\t{}\t{}\t{}\t{}\t{}\n",
                pod.metadata.namespace,
                pod.metadata.name,
                cell("cpu", cpu_req, cpu_alloc),
                cell("cpu", cpu_lim, cpu_alloc),
                cell("memory", mem_req, mem_alloc),
                cell("memory", mem_lim, mem_alloc),
                clock.since(pod.metadata.creation_timestamp.as_ref()),
            ),
        );
    }
    w.write(
        0,
        "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n",
    );
    w.write(1, "Resource\tRequests\tLimits\n");
    w.write(1, "--------\t--------\t------\n");
    for (resource, of) in [("cpu", cpu_alloc), ("memory", mem_alloc)] {
        let (req, lim) = sum(pods, resource);
        w.write(
            1,
            &format!(
                "{resource}\t{}\t{}\n",
                cell(resource, req, of),
                cell(resource, lim, of)
            ),
        );
    }
}
