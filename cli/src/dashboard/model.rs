//! What the dashboard knows of the cluster, free of I/O: the objects its watches keep (each
//! reduced to the few fields the page shows), the store members' last status, and the
//! snapshot the page renders.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use skiff_client::WatchEvent;

/// The resources the dashboard watches, every namespace.
pub const WATCHED: [&str; 9] = [
    "nodes",
    "pods",
    "replicationcontrollers",
    "replicasets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "leases",
    "events",
];

/// How many of the newest events the page shows.
const EVENTS_SHOWN: usize = 40;

/// One store member as its last `Maintenance.Status` call left it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreMember {
    pub endpoint: String,
    pub name: String,
    pub up: bool,
    pub leader: bool,
    pub term: u64,
    pub index: u64,
    pub applied: u64,
    pub db_size: String,
    /// Why the member is shown down (or its own errors).
    pub error: String,
}

#[derive(Debug, Default)]
pub struct Model {
    /// resource -> `namespace/name` -> the object reduced by [`summarize`].
    objects: BTreeMap<&'static str, BTreeMap<String, Value>>,
    /// resource -> why its watch is not running (absent: it is).
    feed_errors: BTreeMap<&'static str, String>,
    pub stores: Vec<StoreMember>,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn int_at(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// Unix milliseconds of an RFC 3339 time; 0 when absent or unreadable.
fn millis(time: &str) -> i64 {
    crate::trace::steps::millis(time).unwrap_or(0)
}

fn key(obj: &Value) -> String {
    format!(
        "{}/{}",
        str_at(obj, "/metadata/namespace"),
        str_at(obj, "/metadata/name")
    )
}

/// The fields of `obj` (of `resource`) the page shows.
pub fn summarize(resource: &str, obj: &Value) -> Value {
    let ns = str_at(obj, "/metadata/namespace");
    let name = str_at(obj, "/metadata/name");
    match resource {
        "nodes" => {
            let ready = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| str_at(c, "/type") == "Ready" && str_at(c, "/status") == "True");
            json!({"name": name, "ready": ready})
        }
        "pods" => {
            let phase = if obj.pointer("/metadata/deletionTimestamp").is_some() {
                "Terminating"
            } else {
                str_at(obj, "/status/phase")
            };
            json!({"namespace": ns, "name": name, "node": str_at(obj, "/spec/nodeName"),
                   "phase": if phase.is_empty() { "Pending" } else { phase }})
        }
        "leases" => json!({
            "namespace": ns, "name": name,
            "holder": str_at(obj, "/spec/holderIdentity"),
            "renewed": millis(str_at(obj, "/spec/renewTime")),
            "duration": int_at(obj, "/spec/leaseDurationSeconds"),
        }),
        "events" => {
            let time = [
                "/lastTimestamp",
                "/eventTime",
                "/firstTimestamp",
                "/metadata/creationTimestamp",
            ]
            .iter()
            .map(|p| millis(str_at(obj, p)))
            .find(|t| *t > 0)
            .unwrap_or(0);
            json!({
                "namespace": ns, "time": time, "type": str_at(obj, "/type"),
                "reason": str_at(obj, "/reason"), "count": int_at(obj, "/count").max(1),
                "object": format!("{}/{}", str_at(obj, "/involvedObject/kind").to_lowercase(),
                                  str_at(obj, "/involvedObject/name")),
                "message": str_at(obj, "/message"),
            })
        }
        controller => {
            let (kind, desired, current, ready) = match controller {
                "replicationcontrollers" | "replicasets" => (
                    if controller == "replicasets" {
                        "rs"
                    } else {
                        "rc"
                    },
                    int_at(obj, "/spec/replicas"),
                    int_at(obj, "/status/replicas"),
                    int_at(obj, "/status/readyReplicas"),
                ),
                "daemonsets" => (
                    "ds",
                    int_at(obj, "/status/desiredNumberScheduled"),
                    int_at(obj, "/status/currentNumberScheduled"),
                    int_at(obj, "/status/numberReady"),
                ),
                // A Job's desired is its completions, current its active pods, ready the
                // pods that succeeded.
                "jobs" => (
                    "job",
                    obj.pointer("/spec/completions")
                        .and_then(Value::as_i64)
                        .unwrap_or(1),
                    int_at(obj, "/status/active"),
                    int_at(obj, "/status/succeeded"),
                ),
                _ => {
                    let active = obj
                        .pointer("/status/active")
                        .and_then(Value::as_array)
                        .map_or(0, |a| a.len() as i64);
                    ("cj", 0, active, active)
                }
            };
            json!({"kind": kind, "namespace": ns, "name": name,
                   "desired": desired, "current": current, "ready": ready})
        }
    }
}

impl Model {
    /// A fresh list of `resource` replaces what was known of it.
    pub fn replace(&mut self, resource: &'static str, items: &[Value]) {
        let objects = items
            .iter()
            .map(|o| (key(o), summarize(resource, o)))
            .collect();
        self.objects.insert(resource, objects);
        self.feed_errors.remove(resource);
    }

    pub fn apply(&mut self, resource: &'static str, event: &WatchEvent<Value>) {
        let objects = self.objects.entry(resource).or_default();
        match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                objects.insert(key(o), summarize(resource, o));
            }
            WatchEvent::Deleted(o) => {
                objects.remove(&key(o));
            }
            WatchEvent::Bookmark { .. } => {}
        }
    }

    pub fn feed_failed(&mut self, resource: &'static str, error: String) {
        self.feed_errors.insert(resource, error);
    }

    fn all(&self, resource: &str) -> Vec<&Value> {
        self.objects
            .get(resource)
            .map(|m| m.values().collect())
            .unwrap_or_default()
    }

    /// Everything the page renders, as of `now` (Unix milliseconds).
    pub fn snapshot(&self, now: i64) -> Value {
        let controllers: Vec<&Value> = WATCHED[2..7].iter().flat_map(|r| self.all(r)).collect();
        let mut events = self.all("events");
        events.sort_by_key(|e| std::cmp::Reverse(e["time"].as_i64().unwrap_or(0)));
        events.truncate(EVENTS_SHOWN);
        json!({
            "now": now,
            "stores": self.stores,
            "leases": self.all("leases"),
            "nodes": self.all("nodes"),
            "pods": self.all("pods"),
            "controllers": controllers,
            "events": events,
            "feedErrors": self.feed_errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_keep_the_fields_the_page_shows() {
        let mut model = Model::default();
        let pod = |phase: &str| {
            json!({"metadata": {"namespace": "default", "name": "web-1"},
                   "spec": {"nodeName": "n1"}, "status": {"phase": phase}})
        };
        model.replace("pods", &[pod("Pending")]);
        model.apply("pods", &WatchEvent::Modified(pod("Running")));
        let rc = json!({"metadata": {"namespace": "default", "name": "web"},
                        "spec": {"replicas": 3}, "status": {"replicas": 2, "readyReplicas": 1}});
        model.apply("replicationcontrollers", &WatchEvent::Added(rc));
        let snap = model.snapshot(5);
        assert_eq!(
            snap["pods"],
            json!([{"namespace": "default", "name": "web-1", "node": "n1", "phase": "Running"}])
        );
        assert_eq!(
            snap["controllers"],
            json!([{"kind": "rc", "namespace": "default", "name": "web",
                    "desired": 3, "current": 2, "ready": 1}])
        );
        model.apply("pods", &WatchEvent::Deleted(pod("Running")));
        assert_eq!(model.snapshot(6)["pods"], json!([]));
    }

    #[test]
    fn newest_events_first_and_a_failed_feed_is_reported_until_it_lists_again() {
        let mut model = Model::default();
        let event = |name: &str, time: &str| {
            json!({"metadata": {"namespace": "default", "name": name}, "reason": "Scheduled",
                   "involvedObject": {"kind": "Pod", "name": "p"}, "lastTimestamp": time})
        };
        model.replace(
            "events",
            &[
                event("a", "2026-01-01T00:00:01Z"),
                event("b", "2026-01-01T00:00:03Z"),
            ],
        );
        let snap = model.snapshot(0);
        assert_eq!(snap["events"][0]["time"], json!(1_767_225_603_000_i64));
        assert_eq!(snap["events"][1]["object"], json!("pod/p"));
        model.feed_failed("events", "apiserver unreachable".into());
        assert_eq!(
            model.snapshot(0)["feedErrors"]["events"],
            json!("apiserver unreachable")
        );
        model.replace("events", &[]);
        assert_eq!(model.snapshot(0)["feedErrors"], json!({}));
    }
}
