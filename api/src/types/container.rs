//! Containers and what hangs off them: ports, environment, resources and probes.
//!
//! Accepted but not acted on by skiff: `imagePullPolicy` (there is no registry; images resolve
//! through the node's image catalog), `terminationMessagePath` and `terminationMessagePolicy`,
//! `ports[].protocol` other than TCP (ports are informational, as in Kubernetes) and `hostPort`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::{is_default, IntOrString};
use crate::quantity::Quantity;

/// One container of a pod: a supervised process started from an image's command line.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Container {
    /// The container's name, unique within the pod (a DNS label).
    pub name: String,
    /// The image to run; it resolves to a command line through the node's image catalog.
    pub image: String,
    /// Replaces the image's entrypoint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub command: Vec<String>,
    /// Replaces the image's arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub args: Vec<String>,
    /// The directory the container's process starts in.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    /// The ports the container listens on; informational, and probes may name them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub ports: Vec<ContainerPort>,
    /// Environment variables set in the container.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub env: Vec<EnvVar>,
    /// CPU and memory the scheduler reserves for the container (requests) and its limits.
    #[serde(skip_serializing_if = "is_default")]
    pub resources: ResourceRequirements,
    /// Periodic check of the container's health: after `failureThreshold` failures the
    /// container is killed and restarted according to the pod's restart policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Periodic check of whether the container can serve: it drives the container's `ready`
    /// and the pod's Ready condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// `Always`, `IfNotPresent` or `Never`; accepted and defaulted, not acted on.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_pull_policy: String,
    /// Accepted for compatibility with exported manifests; not acted on.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub termination_message_path: String,
    /// Accepted for compatibility with exported manifests; not acted on.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub termination_message_policy: String,
}

/// A port the container listens on. Probes may refer to it by `name`.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContainerPort {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The port number the container listens on (1-65535).
    pub container_port: i32,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    /// Accepted and validated; not acted on.
    #[serde(skip_serializing_if = "is_default")]
    pub host_port: i32,
}

/// An environment variable, given literally or taken from a field of the pod.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EnvVar {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

/// Where an environment variable's value comes from.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EnvVarSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
}

/// A field of the pod (`metadata.name`, `status.podIP`, ...) exposed to the container.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ObjectFieldSelector {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    pub field_path: String,
}

/// The field paths `valueFrom.fieldRef` may name (Kubernetes' list, less those skiff lacks).
pub const ENV_FIELD_PATHS: [&str; 8] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.labels",
    "metadata.annotations",
    "spec.nodeName",
    "status.hostIP",
    "status.podIP",
];

/// Resource requests (what the scheduler reserves) and limits, keyed by resource name
/// (`cpu`, `memory`).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ResourceRequirements {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
}

/// A liveness or readiness check, run by the node agent. Exactly one of `exec`, `httpGet`,
/// `tcpSocket` is set. The numbers are defaulted (delay 0, timeout 1, period 10, success 1,
/// failure 3) when 0 or absent, as in Kubernetes.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Probe {
    /// Run a command in the container; exit status 0 is healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecAction>,
    /// An HTTP GET against the container; a status from 200 to 399 is healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
    /// A TCP connection to the container; accepted is healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketAction>,
    /// Seconds after the container has started before the first probe (default 0).
    #[serde(skip_serializing_if = "is_default")]
    pub initial_delay_seconds: i32,
    /// Seconds after which a probe times out (default 1).
    #[serde(skip_serializing_if = "is_default")]
    pub timeout_seconds: i32,
    /// How often, in seconds, to probe (default 10).
    #[serde(skip_serializing_if = "is_default")]
    pub period_seconds: i32,
    /// Consecutive successes for the probe to count as successful after a failure (default 1).
    #[serde(skip_serializing_if = "is_default")]
    pub success_threshold: i32,
    /// Consecutive failures for the probe to count as failed (default 3).
    #[serde(skip_serializing_if = "is_default")]
    pub failure_threshold: i32,
}

/// Run a command in the container's environment; exit status 0 is success.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ExecAction {
    /// The command line to run; not run in a shell.
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub command: Vec<String>,
}

/// An HTTP GET; a status from 200 to 399 is success.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct HttpGetAction {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// A port number or the name of one of the container's ports.
    pub port: IntOrString,
    /// Defaults to the pod's IP.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// `HTTP` (default) or `HTTPS`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub http_headers: Vec<HttpHeader>,
}

/// A header sent with an HTTP probe.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A TCP connect; success when the connection is accepted.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TcpSocketAction {
    /// A port number or the name of one of the container's ports.
    pub port: IntOrString,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
}

impl Probe {
    /// How `describe pod` shows a probe, exactly like kubectl:
    /// `http-get http://:8080/test delay=15s timeout=1s period=10s #success=1 #failure=3`.
    pub fn describe(&self) -> String {
        let action = if let Some(h) = &self.http_get {
            let scheme = if h.scheme.is_empty() {
                "http".to_string()
            } else {
                h.scheme.to_ascii_lowercase()
            };
            format!("http-get {scheme}://{}:{}{}", h.host, h.port, h.path)
        } else if let Some(t) = &self.tcp_socket {
            format!("tcp-socket {}:{}", t.host, t.port)
        } else if let Some(e) = &self.exec {
            format!("exec [{}]", e.command.join(" "))
        } else {
            "unknown".to_string()
        };
        format!(
            "{action} delay={}s timeout={}s period={}s #success={} #failure={}",
            self.initial_delay_seconds,
            self.timeout_seconds,
            self.period_seconds,
            self.success_threshold,
            self.failure_threshold
        )
    }
}
