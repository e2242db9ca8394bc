//! Controller workloads: an RC and an RS scaled up and down during the run, a DaemonSet on nodes labelled `chaos=yes` (nodes relabelled during the run), a Job with completions and parallelism, a CronJob on `* * * * *`; afterwards, the evidence the controller checker reads.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use skiff_client::{Client, ListOptions};
use tokio_util::sync::CancellationToken;

use super::api::{Observer, NAMESPACE};
use crate::check::controllers::{ControllerEvidence, ControllerView, NodeView, ObjectRef, PodView};

/// The label the DaemonSet selects nodes by.
pub const NODE_LABEL: &str = "chaos";

fn container(command: &[&str]) -> Value {
    json!([{"name": "main", "image": "busybox", "command": command}])
}

/// (resource, manifest) of every controller object the workload creates.
pub fn manifests() -> Vec<(&'static str, Value)> {
    let pod = |app: &str, command: &[&str], restart: &str, selector: Option<Value>| {
        let mut spec = json!({"restartPolicy": restart, "containers": container(command)});
        if let Some(s) = selector {
            spec["nodeSelector"] = s;
        }
        json!({"metadata": {"labels": {"app": app}}, "spec": spec})
    };
    let forever = ["sleep", "3600"];
    vec![
        (
            "replicationcontrollers",
            json!({
            "apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": "chaos-rc", "namespace": NAMESPACE},
            "spec": {"replicas": 2, "selector": {"app": "chaos-rc"},
                     "template": pod("chaos-rc", &forever, "Always", None)}}),
        ),
        (
            "replicasets",
            json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "chaos-rs", "namespace": NAMESPACE},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "chaos-rs"}},
                     "template": pod("chaos-rs", &forever, "Always", None)}}),
        ),
        (
            "daemonsets",
            json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "chaos-ds", "namespace": NAMESPACE},
            "spec": {"selector": {"matchLabels": {"app": "chaos-ds"}},
                     "template": pod("chaos-ds", &forever, "Always",
                                     Some(json!({NODE_LABEL: "yes"})))}}),
        ),
        (
            "jobs",
            json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "chaos-job", "namespace": NAMESPACE},
            "spec": {"completions": 4, "parallelism": 2,
                     "template": pod("chaos-job", &["sh", "-c", "sleep 1"], "OnFailure", None)}}),
        ),
        (
            "cronjobs",
            json!({
            "apiVersion": "batch/v1beta1", "kind": "CronJob",
            "metadata": {"name": "chaos-cron", "namespace": NAMESPACE},
            "spec": {"schedule": "* * * * *",
                     "jobTemplate": {"spec": {"completions": 1, "template":
                        pod("chaos-cron", &["sh", "-c", "sleep 1"], "OnFailure", None)}}}}),
        ),
    ]
}

fn meta(object: &Value, field: &str) -> String {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Creates every controller object (deleting a previous run's first); returns what was
/// acknowledged.
pub async fn create(client: &Client) -> Result<Vec<ObjectRef>, String> {
    let mut acked = Vec::new();
    for (resource, manifest) in manifests() {
        let name = meta(&manifest, "name");
        let created = loop {
            match client.create_json(resource, NAMESPACE, &manifest).await {
                Ok(o) => break o,
                Err(e) if e.is_already_exists() => {
                    let _ = client
                        .delete_json(resource, NAMESPACE, &name, &Default::default())
                        .await;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(format!("creating {resource} {name}: {}", e.message)),
            }
        };
        acked.push(ObjectRef {
            kind: resource.to_string(),
            namespace: NAMESPACE.to_string(),
            name,
            uid: meta(&created, "uid"),
        });
    }
    Ok(acked)
}

/// Read-modify-write with retries on Conflict, for the workload's own changes.
async fn modify(
    client: &Client,
    resource: &str,
    namespace: &str,
    name: &str,
    change: impl Fn(&mut Value),
) -> bool {
    for _ in 0..10 {
        let Ok(mut object) = client.get_json(resource, namespace, name).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        change(&mut object);
        match client.update_json(resource, &object).await {
            Ok(_) => return true,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    false
}

/// Scales the RC and RS and relabels nodes now and then, until `cancel`.
pub async fn churn(client: Client, nodes: Vec<String>, seed: u64, cancel: CancellationToken) {
    let mut rng = StdRng::seed_from_u64(seed);
    // Start with the label on the first node.
    if let Some(first) = nodes.first() {
        modify(&client, "nodes", "", first, |n| {
            n["metadata"]["labels"][NODE_LABEL] = json!("yes");
        })
        .await;
    }
    while !cancel.is_cancelled() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(rng.gen_range(4..9))) => {}
            _ = cancel.cancelled() => return,
        }
        match rng.gen_range(0..3) {
            0 | 1 => {
                let resource = ["replicationcontrollers", "replicasets"][rng.gen_range(0..2)];
                let name = if resource == "replicasets" {
                    "chaos-rs"
                } else {
                    "chaos-rc"
                };
                let replicas = rng.gen_range(1..4);
                modify(&client, resource, NAMESPACE, name, |o| {
                    o["spec"]["replicas"] = json!(replicas);
                })
                .await;
            }
            _ => {
                if nodes.is_empty() {
                    continue;
                }
                let node = &nodes[rng.gen_range(0..nodes.len())];
                modify(&client, "nodes", "", node, |n| {
                    let labels = &mut n["metadata"]["labels"];
                    if labels.get(NODE_LABEL).is_some() {
                        if let Some(map) = labels.as_object_mut() {
                            map.remove(NODE_LABEL);
                        }
                    } else {
                        labels[NODE_LABEL] = json!("yes");
                    }
                })
                .await;
            }
        }
    }
}

fn labels(object: &Value) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn controller_uid(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|o| o.get("uid")?.as_str().map(str::to_string))
}

fn is_complete(job: &Value) -> bool {
    job.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Complete")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

async fn list(
    client: &Client,
    resource: &str,
    namespace: Option<&str>,
) -> Result<Vec<Value>, String> {
    client
        .list_json(resource, namespace, &ListOptions::default())
        .await
        .map(|l| l.items)
        .map_err(|e| format!("listing {resource}: {}", e.message))
}

/// The cluster as it stands, for the controller checker.
pub async fn evidence(
    client: &Client,
    acknowledged: &[ObjectRef],
    observer: &Observer,
    processes: Vec<(u32, String, String)>,
) -> Result<ControllerEvidence, String> {
    let pods = list(client, "pods", Some(NAMESPACE)).await?;
    let nodes = list(client, "nodes", None).await?;
    let mut e = ControllerEvidence {
        pods: pods
            .iter()
            .map(|p| PodView {
                namespace: meta(p, "namespace"),
                name: meta(p, "name"),
                uid: meta(p, "uid"),
                owner_uid: controller_uid(p),
                node_name: p
                    .pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                phase: p
                    .pointer("/status/phase")
                    .and_then(Value::as_str)
                    .unwrap_or("Pending")
                    .to_string(),
                deleting: p
                    .pointer("/metadata/deletionTimestamp")
                    .is_some_and(|t| !t.is_null()),
            })
            .collect(),
        nodes: nodes
            .iter()
            .map(|n| NodeView {
                name: meta(n, "name"),
                labels: labels(n),
            })
            .collect(),
        processes: processes
            .into_iter()
            .map(
                |(pid, node, pod_uid)| crate::check::controllers::ContainerProcess {
                    pid,
                    node,
                    pod_uid,
                },
            )
            .collect(),
        acknowledged: acknowledged.to_vec(),
        pod_nodes: observer.pod_nodes.lock().iter().cloned().collect(),
        cron_jobs: observer.cron_jobs.lock().iter().cloned().collect(),
        succeeded: observer.succeeded.lock().iter().cloned().collect(),
        ..Default::default()
    };
    for resource in [
        "replicationcontrollers",
        "replicasets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "leases",
    ] {
        for o in list(client, resource, Some(NAMESPACE)).await? {
            let (name, uid) = (meta(&o, "name"), meta(&o, "uid"));
            e.present.push(ObjectRef {
                kind: resource.to_string(),
                namespace: meta(&o, "namespace"),
                name: name.clone(),
                uid: uid.clone(),
            });
            if !name.starts_with("chaos-") {
                continue;
            }
            let replicas = o
                .pointer("/spec/replicas")
                .and_then(Value::as_u64)
                .unwrap_or(1) as u32;
            match resource {
                "replicationcontrollers" | "replicasets" => {
                    e.controllers.push(ControllerView::Replicas {
                        name,
                        uid,
                        replicas,
                    })
                }
                "daemonsets" => e.controllers.push(ControllerView::DaemonSet {
                    name,
                    uid,
                    node_selector: o
                        .pointer("/spec/template/spec/nodeSelector")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                                .collect()
                        })
                        .unwrap_or_default(),
                }),
                // The workload's Job must be complete; a CronJob's Job is judged once it is.
                "jobs" if name == "chaos-job" || is_complete(&o) => {
                    let completions = o
                        .pointer("/spec/completions")
                        .and_then(Value::as_u64)
                        .unwrap_or(1) as u32;
                    e.controllers.push(ControllerView::Job {
                        name,
                        uid,
                        completions,
                    });
                }
                _ => {}
            }
        }
    }
    Ok(e)
}
