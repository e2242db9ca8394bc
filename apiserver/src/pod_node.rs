//! Reaching the node that runs a pod: which container is meant, where the pod's nodelet
//! listens, and a connection to its NodeLogs service (TLS with the apiserver's client
//! certificate when the nodelets want one). The log and exec proxies share it.

use std::time::Duration;

use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_api::kinds;
use skiff_proto::skiffapi::node_logs_client::NodeLogsClient;
use tonic::transport::{Channel, Endpoint};

use crate::registry::Registry;

/// A connection to the nodelet running a pod, with the request's namespace and container
/// resolved.
pub struct PodOnNode {
    pub client: NodeLogsClient<Channel>,
    pub namespace: String,
    pub container: String,
}

/// Finds pod `namespace/name` and connects to its node's NodeLogs service.
pub async fn connect(
    registry: &Registry,
    namespace: &str,
    name: &str,
    container: &str,
) -> Result<PodOnNode, ApiError> {
    let pods =
        kinds::by_plural("pods").ok_or_else(|| ApiError::internal("pods are not registered"))?;
    let nodes =
        kinds::by_plural("nodes").ok_or_else(|| ApiError::internal("nodes are not registered"))?;
    let namespace = crate::registry::effective_namespace(pods, namespace).to_string();
    let pod = registry.get(pods, &namespace, name).await?;
    let container = pick_container(&pod, name, container)?;
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if node_name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let node = registry.get(nodes, "", &node_name).await?;
    let target = node_endpoint(&node, &node_name)?;
    let unreachable = |e: String| {
        ApiError::unavailable(format!(
            "cannot reach the nodelet of node {node_name:?} at {target}: {e}"
        ))
    };
    let tls = registry.kubelet_tls();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{target}"))
        .map_err(|e| unreachable(e.to_string()))?;
    // The nodelet must present the certificate of the node the pod is bound to: its name is
    // checked, not the address (a compose node's address changes when its container is
    // recreated; its name and certificate do not).
    let endpoint = match tls {
        Some(tls) => endpoint
            .tls_config(tls.clone().domain_name(node_name.clone()))
            .map_err(|e| unreachable(e.to_string()))?,
        None => endpoint,
    };
    let channel = endpoint
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| unreachable(error_chain(&e)))?;
    Ok(PodOnNode {
        client: NodeLogsClient::new(channel),
        namespace,
        container,
    })
}

/// The container a log request is about: the one named, or the only one.
pub fn pick_container(pod: &Value, name: &str, requested: &str) -> Result<String, ApiError> {
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if requested.is_empty() {
        return match containers.as_slice() {
            [one] => Ok(one.to_string()),
            many => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                many.join(" ")
            ))),
        };
    }
    if containers.contains(&requested) {
        Ok(requested.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "container {requested} is not valid for pod {name}"
        )))
    }
}

/// `host:port` of a node's log service: its InternalIP (else any address) and
/// `status.daemonEndpoints.kubeletEndpoint.Port`.
pub fn node_endpoint(node: &Value, node_name: &str) -> Result<String, ApiError> {
    let addresses = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let address_of = |t: &str| {
        addresses
            .iter()
            .find(|a| a.get("type").and_then(Value::as_str) == Some(t))
            .and_then(|a| a.get("address").and_then(Value::as_str))
            .map(str::to_string)
    };
    let address = address_of("InternalIP")
        .or_else(|| address_of("ExternalIP"))
        .or_else(|| address_of("Hostname"))
        .ok_or_else(|| {
            ApiError::unavailable(format!(
                "node {node_name:?} reports no address (status.addresses)"
            ))
        })?;
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_i64)
        .filter(|p| (1..=65535).contains(p))
        .ok_or_else(|| {
            ApiError::unavailable(format!(
                "node {node_name:?} reports no nodelet endpoint (status.daemonEndpoints.kubeletEndpoint.Port)"
            ))
        })?;
    if address.contains(':') {
        Ok(format!("[{address}]:{port}"))
    } else {
        Ok(format!("{address}:{port}"))
    }
}

/// An error with its causes (a TLS failure is a cause of tonic's "transport error").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers() {
        let one = json!({"spec": {"containers": [{"name": "a"}]}});
        let two = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(pick_container(&one, "p", "").unwrap(), "a");
        assert_eq!(pick_container(&two, "p", "b").unwrap(), "b");
        let e = pick_container(&two, "p", "").unwrap_err();
        assert_eq!(
            e.message,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        let e = pick_container(&two, "p", "c").unwrap_err();
        assert_eq!(e.message, "container c is not valid for pod p");
    }

    #[test]
    fn endpoints() {
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "h"}, {"type": "InternalIP", "address": "10.0.0.1"}],
                                     "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}});
        assert_eq!(node_endpoint(&node, "n").unwrap(), "10.0.0.1:10250");
        let v6 = json!({"status": {"addresses": [{"type": "InternalIP", "address": "::1"}],
                                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 1}}}});
        assert_eq!(node_endpoint(&v6, "n").unwrap(), "[::1]:1");
        assert!(node_endpoint(
            &json!({"status": {"addresses": [{"type": "InternalIP", "address": "a"}]}}),
            "n"
        )
        .is_err());
    }
}
