//! Apiserver workloads: watchers on several kinds that record every event (relisting after Expired, resuming after a broken stream, as informers do), and read-modify-write updaters appending tokens to Leases under resourceVersion preconditions.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::{json, Value};
use skiff_client::{Client, ListOptions, WatchEvent, WatchOptions};
use tokio_util::sync::CancellationToken;

use crate::check::rmw::{RmwFinal, RmwOp};
use crate::check::watch::{WatchMark, WatchRecord};
use crate::history::EventType;
use crate::workload::controllers::controller_uid;
use crate::workload::store::Recorder;

/// The annotation holding the tokens of an RMW object.
pub const TOKENS: &str = "chaos.skiff.dev/tokens";
/// The namespace the workloads use.
pub const NAMESPACE: &str = "default";

fn rv_of(object: &Value) -> i64 {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn meta(object: &Value, field: &str) -> String {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A watcher's shared record and the highest revision it has received.
pub struct Watcher {
    pub record: Mutex<WatchRecord>,
    pub last: Mutex<i64>,
}

/// What watches saw of pods' nodes, of CronJobs' Jobs and of pods that succeeded during the run.
#[derive(Default)]
pub struct Observer {
    /// (pod uid, spec.nodeName) pairs seen.
    pub pod_nodes: Mutex<std::collections::BTreeSet<(String, String)>>,
    /// (cronjob, scheduled time, job uid) seen.
    pub cron_jobs: Mutex<std::collections::BTreeSet<(String, String, String)>>,
    /// (controller uid, pod uid) of every pod seen Succeeded: a finished pod may be deleted
    /// later (evicted from an unreachable node) and still counts as its Job's completion.
    pub succeeded: Mutex<std::collections::BTreeSet<(String, String)>>,
}

impl Observer {
    fn saw(&self, kind: &str, object: &Value) {
        let uid = meta(object, "uid");
        match kind {
            "pods" => {
                let phase = object.pointer("/status/phase").and_then(Value::as_str);
                if let (Some("Succeeded"), Some(owner)) = (phase, controller_uid(object)) {
                    self.succeeded.lock().insert((owner, uid.clone()));
                }
                if let Some(node) = object.pointer("/spec/nodeName").and_then(Value::as_str) {
                    if !node.is_empty() {
                        self.pod_nodes.lock().insert((uid, node.to_string()));
                    }
                }
            }
            "jobs" => {
                let owners = object
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for o in owners {
                    if o.get("kind").and_then(Value::as_str) == Some("CronJob") {
                        let cronjob = o.get("name").and_then(Value::as_str).unwrap_or_default();
                        // Jobs are named `<cronjob>-<scheduled minute since the epoch>`.
                        let name = meta(object, "name");
                        let time = name.rsplit('-').next().unwrap_or_default().to_string();
                        self.cron_jobs
                            .lock()
                            .insert((cronjob.to_string(), time, uid.clone()));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Watches `kind` (in `namespace`, or everywhere) until `cancel`, recording every mark.
pub async fn watch(
    client: Client,
    w: Arc<Watcher>,
    observer: Arc<Observer>,
    cancel: CancellationToken,
) {
    let (kind, namespace) = {
        let r = w.record.lock();
        (r.kind.clone(), r.namespace.clone())
    };
    let mark = |m: WatchMark| w.record.lock().marks.push(m);
    // None: list first (at start and after Expired).
    let mut resume: Option<i64> = None;
    while !cancel.is_cancelled() {
        let from = match resume {
            Some(rv) => rv,
            None => match client
                .list_json(&kind, namespace.as_deref(), &ListOptions::default())
                .await
            {
                Ok(list) => {
                    // What the list shows counts as seen too: a pod may have finished (and
                    // later be evicted) before the first watch event about it.
                    for item in &list.items {
                        observer.saw(&kind, item);
                    }
                    list.resource_version.parse().unwrap_or(0)
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        let options = WatchOptions {
            resource_version: from.to_string(),
            ..Default::default()
        };
        let mut stream = match client
            .watch_json(&kind, namespace.as_deref(), &options)
            .await
        {
            Ok(s) => s,
            Err(e) if e.is_expired() => {
                mark(WatchMark::Start { revision: from });
                mark(WatchMark::Expired);
                resume = None;
                continue;
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                resume = Some(from);
                continue;
            }
        };
        mark(WatchMark::Start { revision: from });
        {
            let mut last = w.last.lock();
            *last = (*last).max(from);
        }
        let mut last = from;
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                _ = cancel.cancelled() => return,
            };
            match next {
                Some(Ok(WatchEvent::Bookmark { resource_version })) => {
                    let rv = resource_version.parse().unwrap_or(last);
                    mark(WatchMark::Bookmark { revision: rv });
                    last = last.max(rv);
                }
                Some(Ok(ev)) => {
                    let (kind_name, object) = match &ev {
                        WatchEvent::Added(o) => ("ADDED", o),
                        WatchEvent::Modified(o) => ("MODIFIED", o),
                        WatchEvent::Deleted(o) => ("DELETED", o),
                        WatchEvent::Bookmark { .. } => continue,
                    };
                    let rv = rv_of(object);
                    observer.saw(&kind, object);
                    mark(WatchMark::Event {
                        kind: kind_name.into(),
                        namespace: meta(object, "namespace"),
                        name: meta(object, "name"),
                        revision: rv,
                    });
                    last = last.max(rv);
                }
                Some(Err(e)) if e.is_expired() => {
                    mark(WatchMark::Expired);
                    resume = None;
                    break;
                }
                Some(Err(e)) => {
                    mark(WatchMark::Broken { error: e.message });
                    resume = Some(last);
                    break;
                }
                None => {
                    mark(WatchMark::Broken {
                        error: "stream ended".into(),
                    });
                    resume = Some(last);
                    break;
                }
            }
            *w.last.lock() = last;
        }
        *w.last.lock() = last;
    }
}

/// Creates the RMW objects (Leases `chaos-rmw-<i>`) with an empty token list.
pub async fn create_rmw_objects(client: &Client, count: usize) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for i in 0..count {
        let name = format!("chaos-rmw-{i}");
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": NAMESPACE, "annotations": {TOKENS: ""}},
            "spec": {}
        });
        match client.create_json("leases", NAMESPACE, &lease).await {
            Ok(_) => {}
            Err(e) if e.is_already_exists() => {
                // A previous run's: start it empty again.
                let mut current = client
                    .get_json("leases", NAMESPACE, &name)
                    .await
                    .map_err(|e| e.message)?;
                current["metadata"]["annotations"][TOKENS] = json!("");
                client
                    .update_json("leases", &current)
                    .await
                    .map_err(|e| e.message)?;
            }
            Err(e) => return Err(format!("creating lease {name}: {}", e.message)),
        }
        names.push(name);
    }
    Ok(names)
}

fn tokens_of(object: &Value) -> Vec<String> {
    object
        .pointer(&format!(
            "/metadata/annotations/{}",
            TOKENS.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// One updater: get, append a token, update with the resourceVersion read, until `cancel`.
/// A Conflict is retried with a new read (it did not apply); the outcome of each token's
/// final attempt is recorded.
pub async fn rmw_updater(
    client: Client,
    objects: Vec<String>,
    process: u64,
    rec: Recorder,
    ops: Arc<Mutex<Vec<RmwOp>>>,
    cancel: CancellationToken,
) {
    let mut n = 0u64;
    while !cancel.is_cancelled() {
        n += 1;
        let object = &objects[(n as usize + process as usize) % objects.len()];
        let token = format!("p{process}-{n}");
        let call = rec.now();
        let current = match client.get_json("leases", NAMESPACE, object).await {
            Ok(o) => o,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let mut tokens = tokens_of(&current);
        tokens.push(token.clone());
        let mut updated = current.clone();
        updated["metadata"]["annotations"][TOKENS] = json!(tokens.join(","));
        let result = tokio::time::timeout(
            Duration::from_secs(3),
            client.update_json("leases", &updated),
        )
        .await;
        let (outcome, note) = match result {
            Ok(Ok(_)) => (EventType::Ok, None),
            Ok(Err(e)) if e.is_conflict() => (EventType::Fail, Some(e.message)),
            Ok(Err(e)) => (EventType::Info, Some(e.message)),
            Err(_) => (EventType::Info, Some("timeout".into())),
        };
        ops.lock().push(RmwOp {
            process,
            object: object.clone(),
            token,
            outcome,
            call,
            ret: rec.now(),
            note,
        });
    }
}

/// The RMW objects as they are now.
pub async fn rmw_finals(client: &Client, objects: &[String]) -> Vec<RmwFinal> {
    let mut finals = Vec::new();
    for name in objects {
        let tokens = client
            .get_json("leases", NAMESPACE, name)
            .await
            .ok()
            .map(|o| tokens_of(&o));
        finals.push(RmwFinal {
            object: name.clone(),
            tokens,
        });
    }
    finals
}
