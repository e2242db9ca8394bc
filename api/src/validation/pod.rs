//! Validation of pods: the pod spec (also used for controllers' templates), its containers, and pod status.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::{
    at, idx, non_negative, one_of, port_number, validate_conditions, validate_labels,
    validate_object_meta,
};
use crate::error::Cause;
use crate::labels::{
    validate_dns1123_label, validate_dns1123_subdomain, validate_label_key, validate_port_name,
};
use crate::meta::IntOrString;
use crate::quantity::Quantity;
use crate::types::{
    Container, EnvVar, Pod, PodSpec, Probe, ResourceRequirements, ENV_FIELD_PATHS, POD_PHASES,
};

pub const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];
const SCHEMES: [&str; 2] = ["HTTP", "HTTPS"];
const TERMINATION_MESSAGE_POLICIES: [&str; 2] = ["File", "FallbackToLogsOnError"];
/// Resource names a container may request without a domain prefix.
const STANDARD_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// A pod as created or replaced: metadata and spec.
pub fn validate_pod(pod: &Pod) -> Vec<Cause> {
    let mut errs = validate_object_meta(&pod.metadata, true, validate_dns1123_subdomain);
    errs.extend(validate_pod_spec(&pod.spec, "spec"));
    errs
}

/// A pod spec at `path` (`spec` for a pod, `spec.template.spec` in a controller).
pub fn validate_pod_spec(spec: &PodSpec, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let containers_path = at(path, "containers");
    if spec.containers.is_empty() {
        errs.push(Cause::required(&containers_path, ""));
    }
    let mut names = BTreeSet::new();
    let mut port_names = BTreeSet::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let p = idx(&containers_path, i);
        if !c.name.is_empty() && !names.insert(c.name.as_str()) {
            errs.push(Cause::duplicate(&at(&p, "name"), &c.name));
        }
        for (j, port) in c.ports.iter().enumerate() {
            if !port.name.is_empty() && !port_names.insert(port.name.as_str()) {
                errs.push(Cause::duplicate(
                    &at(&idx(&at(&p, "ports"), j), "name"),
                    &port.name,
                ));
            }
        }
        validate_container(&mut errs, c, &p);
    }
    if spec.restart_policy.is_empty() {
        errs.push(Cause::required(&at(path, "restartPolicy"), ""));
    } else {
        one_of(
            &mut errs,
            &at(path, "restartPolicy"),
            &spec.restart_policy,
            &RESTART_POLICIES,
        );
    }
    errs.extend(validate_labels(
        &spec.node_selector,
        &at(path, "nodeSelector"),
    ));
    if !spec.node_name.is_empty() {
        if let Err(msg) = validate_dns1123_subdomain(&spec.node_name) {
            errs.push(Cause::invalid(&at(path, "nodeName"), &spec.node_name, &msg));
        }
    }
    non_negative(
        &mut errs,
        &at(path, "terminationGracePeriodSeconds"),
        spec.termination_grace_period_seconds,
    );
    if let Some(v) = spec.active_deadline_seconds {
        if !(1..=i64::from(i32::MAX)).contains(&v) {
            errs.push(Cause::invalid(
                &at(path, "activeDeadlineSeconds"),
                v,
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    errs
}

fn validate_container(errs: &mut Vec<Cause>, c: &Container, p: &str) {
    if c.name.is_empty() {
        errs.push(Cause::required(&at(p, "name"), ""));
    } else if let Err(msg) = validate_dns1123_label(&c.name) {
        errs.push(Cause::invalid(&at(p, "name"), &c.name, &msg));
    }
    if c.image.is_empty() {
        errs.push(Cause::required(&at(p, "image"), ""));
    } else if c.image.trim() != c.image {
        errs.push(Cause::invalid(
            &at(p, "image"),
            &c.image,
            "must not have leading or trailing whitespace",
        ));
    }
    if !c.image_pull_policy.is_empty() {
        one_of(
            errs,
            &at(p, "imagePullPolicy"),
            &c.image_pull_policy,
            &PULL_POLICIES,
        );
    }
    if !c.termination_message_policy.is_empty() {
        one_of(
            errs,
            &at(p, "terminationMessagePolicy"),
            &c.termination_message_policy,
            &TERMINATION_MESSAGE_POLICIES,
        );
    }
    for (j, port) in c.ports.iter().enumerate() {
        let pp = idx(&at(p, "ports"), j);
        if port.container_port == 0 {
            errs.push(Cause::required(&at(&pp, "containerPort"), ""));
        } else {
            port_number(errs, &at(&pp, "containerPort"), port.container_port);
        }
        if port.host_port != 0 {
            port_number(errs, &at(&pp, "hostPort"), port.host_port);
        }
        if !port.name.is_empty() {
            if let Err(msg) = validate_port_name(&port.name) {
                errs.push(Cause::invalid(&at(&pp, "name"), &port.name, &msg));
            }
        }
        if port.protocol.is_empty() {
            errs.push(Cause::required(&at(&pp, "protocol"), ""));
        } else {
            one_of(errs, &at(&pp, "protocol"), &port.protocol, &PROTOCOLS);
        }
    }
    for (j, env) in c.env.iter().enumerate() {
        validate_env(errs, env, &idx(&at(p, "env"), j));
    }
    validate_resources(errs, &c.resources, &at(p, "resources"));
    if let Some(probe) = &c.liveness_probe {
        validate_probe(errs, probe, &at(p, "livenessProbe"));
        if probe.success_threshold != 1 {
            errs.push(Cause::invalid(
                &at(p, "livenessProbe.successThreshold"),
                probe.success_threshold,
                "must be 1",
            ));
        }
    }
    if let Some(probe) = &c.readiness_probe {
        validate_probe(errs, probe, &at(p, "readinessProbe"));
    }
}

/// `[-._a-zA-Z][-._a-zA-Z0-9]*`
fn is_env_var_name(name: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    name.chars().next().is_some_and(|c| !c.is_ascii_digit()) && name.chars().all(ok)
}

fn validate_env(errs: &mut Vec<Cause>, env: &EnvVar, p: &str) {
    if env.name.is_empty() {
        errs.push(Cause::required(&at(p, "name"), ""));
    } else if !is_env_var_name(&env.name) {
        errs.push(Cause::invalid(
            &at(p, "name"),
            &env.name,
            "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
        ));
    }
    let Some(from) = &env.value_from else { return };
    let from_path = at(p, "valueFrom");
    if !env.value.is_empty() {
        errs.push(Cause::invalid(
            &from_path,
            "",
            "may not be specified when `value` is not empty",
        ));
    }
    let Some(field_ref) = &from.field_ref else {
        errs.push(Cause::invalid(
            &from_path,
            "",
            "must specify one of: `fieldRef`",
        ));
        return;
    };
    let fp = at(&from_path, "fieldRef");
    if field_ref.api_version != "v1" {
        one_of(
            errs,
            &at(&fp, "apiVersion"),
            &field_ref.api_version,
            &["v1"],
        );
    }
    let path = &field_ref.field_path;
    if path.is_empty() {
        errs.push(Cause::required(&at(&fp, "fieldPath"), ""));
    } else if let Some(key) = subscript(path) {
        if let Err(msg) = validate_label_key(key) {
            errs.push(Cause::invalid(&at(&fp, "fieldPath"), path, &msg));
        }
    } else if !ENV_FIELD_PATHS.contains(&path.as_str()) {
        let mut supported: Vec<&str> = ENV_FIELD_PATHS.to_vec();
        supported.extend(["metadata.labels['<KEY>']", "metadata.annotations['<KEY>']"]);
        errs.push(Cause::not_supported(
            &at(&fp, "fieldPath"),
            path,
            &supported,
        ));
    }
}

/// The key of `metadata.labels['key']` or `metadata.annotations['key']`.
fn subscript(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("metadata.labels['")
        .or_else(|| path.strip_prefix("metadata.annotations['"))?;
    rest.strip_suffix("']")
}

fn validate_resources(errs: &mut Vec<Cause>, r: &ResourceRequirements, p: &str) {
    let amount = |name: &str, q: &Quantity| {
        if name == "cpu" {
            q.parse_cpu_millis()
        } else {
            q.parse_bytes()
        }
    };
    for (field, map) in [("limits", &r.limits), ("requests", &r.requests)] {
        for (name, q) in map {
            let path = format!("{}[{name}]", at(p, field));
            if !STANDARD_RESOURCES.contains(&name.as_str()) && !name.contains('/') {
                errs.push(Cause::invalid(
                    &path,
                    name,
                    "must be a standard resource type or fully qualified",
                ));
            }
            match amount(name, q) {
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
    for (name, request) in &r.requests {
        let Some(limit) = r.limits.get(name) else {
            continue;
        };
        if let (Ok(req), Ok(lim)) = (amount(name, request), amount(name, limit)) {
            if req > lim {
                errs.push(Cause::invalid(
                    &format!("{}[{name}]", at(p, "requests")),
                    &request.0,
                    &format!("must be less than or equal to {name} limit of {}", limit.0),
                ));
            }
        }
    }
}

fn validate_probe(errs: &mut Vec<Cause>, probe: &Probe, p: &str) {
    let handlers: Vec<&str> = [
        probe.exec.as_ref().map(|_| "exec"),
        probe.http_get.as_ref().map(|_| "httpGet"),
        probe.tcp_socket.as_ref().map(|_| "tcpSocket"),
    ]
    .into_iter()
    .flatten()
    .collect();
    match handlers.as_slice() {
        [] => errs.push(Cause::required(
            p,
            "must specify a handler type (exec, httpGet or tcpSocket)",
        )),
        [_] => {}
        [_, rest @ ..] => {
            for h in rest {
                errs.push(Cause::forbidden(
                    &at(p, h),
                    "may not specify more than 1 handler type",
                ));
            }
        }
    }
    if let Some(exec) = &probe.exec {
        if exec.command.is_empty() {
            errs.push(Cause::required(&at(p, "exec.command"), ""));
        }
    }
    if let Some(h) = &probe.http_get {
        let hp = at(p, "httpGet");
        validate_probe_port(errs, &h.port, &at(&hp, "port"));
        one_of(errs, &at(&hp, "scheme"), &h.scheme, &SCHEMES);
        for (i, header) in h.http_headers.iter().enumerate() {
            let name_ok = !header.name.is_empty()
                && header
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !name_ok {
                errs.push(Cause::invalid(
                    &at(&idx(&at(&hp, "httpHeaders"), i), "name"),
                    &header.name,
                    "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
                ));
            }
        }
    }
    if let Some(t) = &probe.tcp_socket {
        validate_probe_port(errs, &t.port, &at(p, "tcpSocket.port"));
    }
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        non_negative(errs, &at(p, field), Some(i64::from(value)));
    }
}

/// A probe port is a number in 1-65535 or the name of a container port.
fn validate_probe_port(errs: &mut Vec<Cause>, port: &IntOrString, path: &str) {
    match port {
        IntOrString::Int(n) => port_number(errs, path, *n),
        IntOrString::String(name) => {
            if let Err(msg) = validate_port_name(name) {
                errs.push(Cause::invalid(path, name, &msg));
            }
        }
    }
}

/// The status a node agent reports: phase, conditions, IPs and container statuses.
pub fn validate_pod_status(pod: &Pod) -> Vec<Cause> {
    let mut errs = Vec::new();
    let s = &pod.status;
    if !s.phase.is_empty() {
        one_of(&mut errs, "status.phase", &s.phase, &POD_PHASES);
    }
    validate_conditions(&mut errs, &s.conditions, "status.conditions");
    for (field, ip) in [("status.hostIP", &s.host_ip), ("status.podIP", &s.pod_ip)] {
        if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
            errs.push(Cause::invalid(
                field,
                ip,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
    }
    for (i, cs) in s.container_statuses.iter().enumerate() {
        let p = idx("status.containerStatuses", i);
        if cs.name.is_empty() {
            errs.push(Cause::required(&at(&p, "name"), ""));
        }
        non_negative(
            &mut errs,
            &at(&p, "restartCount"),
            Some(i64::from(cs.restart_count)),
        );
    }
    errs
}
