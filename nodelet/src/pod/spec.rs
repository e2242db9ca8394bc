//! From a pod's container to what the runtime starts: the command line through the image
//! catalog, the environment (literal values, `$(VAR)` references, `valueFrom.fieldRef`) and
//! the working directory, as the kubelet builds them.

use std::net::IpAddr;
use std::path::PathBuf;

use skiff_api::types::{Container, Pod};

use crate::images::{expand_references, ImageCatalog, ImageError};
use crate::runtime::ContainerSpec;

/// Where a pod runs: what its containers' environment says about it.
#[derive(Debug, Clone)]
pub struct Placement {
    pub pod_ip: IpAddr,
    pub host_ip: String,
}

/// The variables every container gets from the node (the runtime sets them too); listed
/// here so that `$(POD_IP)` in a spec's env or args expands.
fn node_provided(pod: &Pod, placement: &Placement) -> Vec<(String, String)> {
    vec![
        ("HOSTNAME".into(), pod.metadata.name.clone()),
        ("POD_NAME".into(), pod.metadata.name.clone()),
        ("POD_NAMESPACE".into(), pod.metadata.namespace.clone()),
        ("POD_IP".into(), placement.pod_ip.to_string()),
    ]
}

/// The value of a `fieldRef` (Kubernetes' downward API for env): `metadata.name`,
/// `metadata.labels['app']`, `status.podIP`, ... Unknown paths give an empty value (the API
/// server validates them).
pub fn field_value(pod: &Pod, path: &str, placement: &Placement) -> String {
    let meta = &pod.metadata;
    let keyed = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("']"))
            .map(str::to_string)
    };
    let all = |map: &std::collections::BTreeMap<String, String>| {
        map.iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if let Some(key) = keyed("metadata.labels['") {
        return meta.labels.get(&key).cloned().unwrap_or_default();
    }
    if let Some(key) = keyed("metadata.annotations['") {
        return meta.annotations.get(&key).cloned().unwrap_or_default();
    }
    match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "metadata.labels" => all(&meta.labels),
        "metadata.annotations" => all(&meta.annotations),
        "spec.nodeName" => pod.spec.node_name.clone(),
        "status.hostIP" => placement.host_ip.clone(),
        "status.podIP" => placement.pod_ip.to_string(),
        _ => String::new(),
    }
}

/// The container's own environment, in spec order, with references resolved: a `$(VAR)` in
/// a value sees the node-provided variables and the entries before it.
pub fn container_env(
    pod: &Pod,
    container: &Container,
    placement: &Placement,
) -> Vec<(String, String)> {
    let provided = node_provided(pod, placement);
    let mut env: Vec<(String, String)> = Vec::with_capacity(container.env.len());
    for var in &container.env {
        let field = var.value_from.as_ref().and_then(|v| v.field_ref.as_ref());
        let value = match field {
            Some(field) => field_value(pod, &field.field_path, placement),
            None => {
                let visible: Vec<(String, String)> =
                    provided.iter().chain(env.iter()).cloned().collect();
                expand_references(&var.value, &visible)
            }
        };
        env.push((var.name.clone(), value));
    }
    env
}

/// The runtime spec of instance `instance` of `container`, or why the image cannot run.
pub fn container_spec(
    catalog: &ImageCatalog,
    pod: &Pod,
    container: &Container,
    instance: u32,
    placement: &Placement,
) -> Result<ContainerSpec, ImageError> {
    let env = container_env(pod, container, placement);
    let visible: Vec<(String, String)> = node_provided(pod, placement)
        .into_iter()
        .chain(env.iter().cloned())
        .collect();
    let expand = |words: &[String]| -> Vec<String> {
        words
            .iter()
            .map(|w| expand_references(w, &visible))
            .collect()
    };
    let argv = catalog.resolve(
        &container.image,
        &expand(&container.command),
        &expand(&container.args),
    )?;
    Ok(ContainerSpec {
        pod_uid: pod.metadata.uid.clone(),
        pod_namespace: pod.metadata.namespace.clone(),
        pod_name: pod.metadata.name.clone(),
        container_name: container.name.clone(),
        instance,
        argv,
        env,
        working_dir: (!container.working_dir.is_empty())
            .then(|| PathBuf::from(&container.working_dir)),
        pod_ip: placement.pod_ip,
        isolation: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::types::{EnvVar, EnvVarSource, ObjectFieldSelector};

    fn pod() -> Pod {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1",
                         "labels": {"app": "web"}, "annotations": {"team": "blue"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "main", "image": "busybox"}]}
        }))
        .unwrap();
        pod.spec.containers[0].env = vec![
            literal("GREETING", "hello $(POD_NAME)"),
            literal("URL", "http://$(POD_IP):8080/$(GREETING)"),
            literal("ESCAPED", "$$(POD_IP)"),
            field("NODE", "spec.nodeName"),
            field("APP", "metadata.labels['app']"),
            field("TEAM", "metadata.annotations['team']"),
            field("UID", "metadata.uid"),
            field("HOST", "status.hostIP"),
        ];
        pod
    }

    fn literal(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
            value_from: None,
        }
    }

    fn field(name: &str, path: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: String::new(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: "v1".into(),
                    field_path: path.into(),
                }),
            }),
        }
    }

    fn placement() -> Placement {
        Placement {
            pod_ip: "127.42.0.7".parse().unwrap(),
            host_ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn env_resolves_references_and_fields() {
        let pod = pod();
        let env = container_env(&pod, &pod.spec.containers[0], &placement());
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(get("GREETING"), "hello web");
        assert_eq!(get("URL"), "http://127.42.0.7:8080/hello web");
        assert_eq!(get("ESCAPED"), "$(POD_IP)");
        assert_eq!(get("NODE"), "n1");
        assert_eq!(get("APP"), "web");
        assert_eq!(get("TEAM"), "blue");
        assert_eq!(get("UID"), "u-1");
        assert_eq!(get("HOST"), "127.0.0.1");
    }

    #[test]
    fn command_and_args_expand_and_resolve_through_the_catalog() {
        let mut pod = pod();
        let c = &mut pod.spec.containers[0];
        c.command = vec!["sh".into(), "-c".into()];
        c.args = vec!["echo $(GREETING) from $(POD_NAMESPACE) $(UNDEFINED)".into()];
        c.working_dir = "/tmp".into();
        let catalog = ImageCatalog::new("/bin/skiff-nodelet");
        let spec =
            container_spec(&catalog, &pod, &pod.spec.containers[0], 3, &placement()).unwrap();
        assert_eq!(
            spec.argv,
            ["sh", "-c", "echo hello web from shop $(UNDEFINED)"]
        );
        assert_eq!(spec.instance, 3);
        assert_eq!(spec.pod_uid, "u-1");
        assert_eq!(spec.working_dir, Some(PathBuf::from("/tmp")));
        assert_eq!(spec.pod_ip.to_string(), "127.42.0.7");

        pod.spec.containers[0].image = "luksa/kubia".into();
        pod.spec.containers[0].command.clear();
        pod.spec.containers[0].args.clear();
        let spec =
            container_spec(&catalog, &pod, &pod.spec.containers[0], 0, &placement()).unwrap();
        assert_eq!(spec.argv, ["/bin/skiff-nodelet", "image", "kubia"]);

        pod.spec.containers[0].image = "nginx:1.25".into();
        let err =
            container_spec(&catalog, &pod, &pod.spec.containers[0], 0, &placement()).unwrap_err();
        assert!(matches!(err, ImageError::NotFound { .. }));
    }
}
