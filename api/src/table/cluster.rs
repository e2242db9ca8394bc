//! Rows of `get` for nodes, namespaces, events and leases, with kubectl's columns.

use crate::types::{Event, Lease, Namespace, Node};

use super::pods::or_none;
use crate::table::age::Clock;

pub const NODE_HEADERS: [&str; 5] = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
pub const NODE_WIDE_HEADERS: [&str; 5] = [
    "INTERNAL-IP",
    "EXTERNAL-IP",
    "OS-IMAGE",
    "KERNEL-VERSION",
    "CONTAINER-RUNTIME",
];
pub const NAMESPACE_HEADERS: [&str; 3] = ["NAME", "STATUS", "AGE"];
pub const EVENT_HEADERS: [&str; 5] = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
pub const EVENT_WIDE_HEADERS: [&str; 10] = [
    "LAST SEEN",
    "TYPE",
    "REASON",
    "OBJECT",
    "SUBOBJECT",
    "SOURCE",
    "MESSAGE",
    "FIRST SEEN",
    "COUNT",
    "NAME",
];
pub const LEASE_HEADERS: [&str; 3] = ["NAME", "HOLDER", "AGE"];

/// `Ready`, `NotReady` or `Unknown`, with `,SchedulingDisabled` for a cordoned node.
pub fn node_status(node: &Node) -> String {
    let mut status: Vec<&str> = Vec::new();
    if let Some(ready) = node.status.conditions.iter().find(|c| c.type_ == "Ready") {
        status.push(if ready.is_true() { "Ready" } else { "NotReady" });
    }
    if status.is_empty() {
        status.push("Unknown");
    }
    if node.spec.unschedulable {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// Roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role` labels.
pub fn node_roles(node: &Node) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for (k, v) in &node.metadata.labels {
        if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.push(role.to_string());
            }
        } else if k == "kubernetes.io/role" && !v.is_empty() {
            roles.push(v.clone());
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

fn address(node: &Node, kind: &str) -> String {
    node.status
        .addresses
        .iter()
        .find(|a| a.type_ == kind)
        .map(|a| a.address.clone())
        .unwrap_or_else(|| "<none>".to_string())
}

pub fn node_row(node: &Node, wide: bool, clock: &Clock) -> Vec<String> {
    let roles = node_roles(node);
    let info = &node.status.node_info;
    let mut cells = vec![
        node.metadata.name.clone(),
        node_status(node),
        if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        },
        clock.since(node.metadata.creation_timestamp.as_ref()),
        info.kubelet_version.clone(),
    ];
    if wide {
        cells.extend([
            address(node, "InternalIP"),
            address(node, "ExternalIP"),
            or_unknown(&info.os_image),
            or_unknown(&info.kernel_version),
            or_unknown(&info.container_runtime_version),
        ]);
    }
    cells
}

fn or_unknown(s: &str) -> String {
    if s.is_empty() {
        "<unknown>".to_string()
    } else {
        s.to_string()
    }
}

pub fn namespace_row(ns: &Namespace, clock: &Clock) -> Vec<String> {
    vec![
        ns.metadata.name.clone(),
        if ns.status.phase.is_empty() {
            "Active".to_string()
        } else {
            ns.status.phase.clone()
        },
        clock.since(ns.metadata.creation_timestamp.as_ref()),
    ]
}

/// `kubelet, node-1` or just the component.
pub fn event_source(event: &Event) -> String {
    let component = if event.source.component.is_empty() {
        event.reporting_component.as_str()
    } else {
        event.source.component.as_str()
    };
    if event.source.host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {}", event.source.host)
    }
}

/// The age of the event's first and last occurrence, as kubectl reads them.
pub fn event_times(event: &Event, clock: &Clock) -> (String, String) {
    let first = match (&event.first_timestamp, &event.event_time) {
        (Some(t), _) => clock.since(Some(t)),
        (None, Some(t)) => clock.since(Some(&crate::meta::Time(t.0))),
        (None, None) => clock.since(None),
    };
    let last = match &event.last_timestamp {
        Some(t) => clock.since(Some(t)),
        None => first.clone(),
    };
    (first, last)
}

pub fn event_row(event: &Event, wide: bool, clock: &Clock) -> Vec<String> {
    let (first, last) = event_times(event, clock);
    let object = &event.involved_object;
    let target = if object.name.is_empty() {
        object.kind.to_ascii_lowercase()
    } else {
        format!("{}/{}", object.kind.to_ascii_lowercase(), object.name)
    };
    let message = event.message.trim().to_string();
    if wide {
        vec![
            last,
            event.type_.clone(),
            event.reason.clone(),
            target,
            object.field_path.clone(),
            event_source(event),
            message,
            first,
            event.count.max(1).to_string(),
            event.metadata.name.clone(),
        ]
    } else {
        vec![
            last,
            event.type_.clone(),
            event.reason.clone(),
            target,
            message,
        ]
    }
}

pub fn lease_row(lease: &Lease, clock: &Clock) -> Vec<String> {
    vec![
        lease.metadata.name.clone(),
        or_none(lease.spec.holder_identity.as_deref().unwrap_or_default()),
        clock.since(lease.metadata.creation_timestamp.as_ref()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn clock() -> Clock {
        Clock::fixed(Utc.with_ymd_and_hms(2024, 5, 5, 10, 0, 0).unwrap())
    }

    #[test]
    fn node_rows() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "node-1", "creationTimestamp": "2024-05-05T09:00:00Z",
                         "labels": {"disk": "ssd", "node-role.kubernetes.io/worker": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "nodeInfo": {"kubeletVersion": "skiff-v0.1.0", "osImage": "Linux"}}}))
        .unwrap();
        assert_eq!(
            node_row(&node, true, &clock()),
            [
                "node-1",
                "NotReady,SchedulingDisabled",
                "worker",
                "60m",
                "skiff-v0.1.0",
                "127.0.0.1",
                "<none>",
                "Linux",
                "<unknown>",
                "<unknown>"
            ]
        );
        let bare: Node = serde_json::from_value(json!({"metadata": {"name": "n"}})).unwrap();
        assert_eq!(node_status(&bare), "Unknown");
    }

    #[test]
    fn event_rows() {
        let event: Event = serde_json::from_value(json!({
            "metadata": {"name": "kubia-liveness.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "kubia-liveness", "fieldPath": "spec.containers{kubia}"},
            "reason": "Unhealthy", "message": "Liveness probe failed: HTTP probe failed with statuscode: 500\n",
            "source": {"component": "kubelet", "host": "node-1"}, "type": "Warning", "count": 3,
            "firstTimestamp": "2024-05-05T09:58:00Z", "lastTimestamp": "2024-05-05T09:59:40Z"})).unwrap();
        assert_eq!(
            event_row(&event, false, &clock()),
            [
                "20s",
                "Warning",
                "Unhealthy",
                "pod/kubia-liveness",
                "Liveness probe failed: HTTP probe failed with statuscode: 500"
            ]
        );
        let wide = event_row(&event, true, &clock());
        assert_eq!(
            wide[4..],
            [
                "spec.containers{kubia}",
                "kubelet, node-1",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
                "2m",
                "3",
                "kubia-liveness.17a"
            ]
        );
    }
}
