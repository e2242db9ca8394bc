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
    pub name: String,
    pub image: String,
    /// Replaces the image's entrypoint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Replaces the image's arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "is_default")]
    pub resources: ResourceRequirements,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketAction>,
    #[serde(skip_serializing_if = "is_default")]
    pub initial_delay_seconds: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub timeout_seconds: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub period_seconds: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub success_threshold: i32,
    #[serde(skip_serializing_if = "is_default")]
    pub failure_threshold: i32,
}

/// Run a command in the container's environment; exit status 0 is success.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ExecAction {
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
    pub http_headers: Vec<HttpHeader>,
}

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
