//! Validation of cluster-level kinds: Namespace, Node, Event and Lease.

use std::net::IpAddr;

use super::{at, idx, non_negative, one_of, validate_conditions, validate_object_meta};
use crate::error::Cause;
use crate::labels::{validate_dns1123_label, validate_dns1123_subdomain, validate_qualified_name};
use crate::types::{Event, Lease, Namespace, Node, EVENT_TYPES, NODE_ADDRESS_TYPES};

/// Namespace names are DNS-1123 labels (they appear inside other names and keys).
pub fn validate_namespace(ns: &Namespace) -> Vec<Cause> {
    let mut errs = validate_object_meta(&ns.metadata, false, validate_dns1123_label);
    for (i, f) in ns.spec.finalizers.iter().enumerate() {
        if let Err(msg) = validate_qualified_name(f) {
            errs.push(Cause::invalid(&idx("spec.finalizers", i), f, &msg));
        }
    }
    errs
}

/// A node as created or updated: metadata, spec and (since a node agent registers its node
/// with its status) status.
pub fn validate_node(node: &Node) -> Vec<Cause> {
    let mut errs = validate_object_meta(&node.metadata, false, validate_dns1123_subdomain);
    let cidr = &node.spec.pod_cidr;
    if !cidr.is_empty() && !is_cidr(cidr) {
        errs.push(Cause::invalid(
            "spec.podCIDR",
            cidr,
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        ));
    }
    errs.extend(validate_node_status(node));
    errs
}

/// `10.9.8.0/24`, `2001:db8::/64`
fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let (Ok(ip), Ok(prefix)) = (ip.parse::<IpAddr>(), prefix.parse::<u8>()) else {
        return false;
    };
    prefix <= if ip.is_ipv4() { 32 } else { 128 }
}

/// Capacity and allocatable quantities, addresses and conditions.
pub fn validate_node_status(node: &Node) -> Vec<Cause> {
    let mut errs = Vec::new();
    let s = &node.status;
    for (field, map) in [
        ("status.capacity", &s.capacity),
        ("status.allocatable", &s.allocatable),
    ] {
        for (name, q) in map {
            let amount = if name == "cpu" {
                q.parse_cpu_millis()
            } else {
                q.parse_bytes()
            };
            let path = format!("{field}[{name}]");
            match amount {
                Err(msg) => errs.push(Cause::invalid(&path, &q.0, &msg)),
                Ok(v) if v < 0 => errs.push(Cause::invalid(
                    &path,
                    &q.0,
                    "must be greater than or equal to 0",
                )),
                Ok(_) => {}
            }
        }
    }
    for (i, a) in s.addresses.iter().enumerate() {
        let p = idx("status.addresses", i);
        one_of(&mut errs, &at(&p, "type"), &a.type_, &NODE_ADDRESS_TYPES);
        if a.address.is_empty() {
            errs.push(Cause::required(&at(&p, "address"), ""));
        }
    }
    validate_conditions(&mut errs, &s.conditions, "status.conditions");
    let port = s.daemon_endpoints.kubelet_endpoint.port;
    if !(0..=65535).contains(&port) {
        errs.push(Cause::invalid(
            "status.daemonEndpoints.kubeletEndpoint.Port",
            port,
            "must be between 0 and 65535, inclusive",
        ));
    }
    errs
}

/// An event lives in the namespace of the object it is about (cluster-scoped objects' events
/// live in `default`), as Kubernetes requires.
pub fn validate_event(ev: &Event) -> Vec<Cause> {
    let mut errs = validate_object_meta(&ev.metadata, true, validate_dns1123_subdomain);
    let involved_ns = &ev.involved_object.namespace;
    let agrees = if involved_ns.is_empty() {
        ev.metadata.namespace == "default"
    } else {
        *involved_ns == ev.metadata.namespace
    };
    if !agrees {
        errs.push(Cause::invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        ));
    }
    if !ev.type_.is_empty() {
        one_of(&mut errs, "type", &ev.type_, &EVENT_TYPES);
    }
    non_negative(&mut errs, "count", Some(i64::from(ev.count)));
    errs
}

pub fn validate_lease(lease: &Lease) -> Vec<Cause> {
    let mut errs = validate_object_meta(&lease.metadata, true, validate_dns1123_subdomain);
    if let Some(d) = lease.spec.lease_duration_seconds {
        if d <= 0 {
            errs.push(Cause::invalid(
                "spec.leaseDurationSeconds",
                d,
                "must be greater than 0",
            ));
        }
    }
    non_negative(
        &mut errs,
        "spec.leaseTransitions",
        lease.spec.lease_transitions.map(i64::from),
    );
    errs
}
