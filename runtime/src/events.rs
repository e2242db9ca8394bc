//! Recording events (`Scheduled`, `Killing`, `SuccessfulCreate`, ...) the way
//! Kubernetes components do: fire-and-forget for the caller, written by a
//! background task, and repeats of the same event folded into one object whose
//! `count` and `lastTimestamp` grow.

use std::collections::HashMap;

use tokio::sync::mpsc;

use skiff_api::meta::{ObjectMeta, ObjectReference, Time};
use skiff_api::types::{Event, EventSource};
use skiff_client::Client;

/// Events waiting to be written; beyond this they are dropped (and logged),
/// never blocking the component that records them.
const QUEUE: usize = 1024;
/// Distinct events remembered for folding repeats.
const REMEMBERED: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

struct Record {
    object: ObjectReference,
    type_: EventType,
    reason: String,
    message: String,
}

/// A cheap, cloneable handle; the writer task lives as long as any handle.
#[derive(Clone)]
pub struct EventRecorder {
    queue: mpsc::Sender<Record>,
}

impl EventRecorder {
    /// `component` is the event's source (`kubelet`, `default-scheduler`,
    /// `replicaset-controller`, ...), `host` the node for node agents.
    pub fn new(client: Client, component: &str, host: &str) -> EventRecorder {
        let (queue, rx) = mpsc::channel(QUEUE);
        let source = EventSource {
            component: component.to_string(),
            host: host.to_string(),
        };
        tokio::spawn(write_events(client, source, rx));
        EventRecorder { queue }
    }

    pub fn normal(&self, object: &ObjectReference, reason: &str, message: impl Into<String>) {
        self.record(object, EventType::Normal, reason, message.into());
    }

    pub fn warning(&self, object: &ObjectReference, reason: &str, message: impl Into<String>) {
        self.record(object, EventType::Warning, reason, message.into());
    }

    pub fn record(
        &self,
        object: &ObjectReference,
        type_: EventType,
        reason: &str,
        message: String,
    ) {
        let record = Record {
            object: object.clone(),
            type_,
            reason: reason.to_string(),
            message,
        };
        if self.queue.try_send(record).is_err() {
            tracing::warn!(reason, "event dropped: the event queue is full");
        }
    }
}

type FoldKey = (String, String, String, EventType, String, String);

fn fold_key(r: &Record) -> FoldKey {
    (
        r.object.namespace.clone(),
        r.object.name.clone(),
        r.object.uid.clone(),
        r.type_,
        r.reason.clone(),
        r.message.clone(),
    )
}

/// The Event object a fold key was written to: what a repeat patches. Only these, not the
/// whole Event: the map holds thousands (one per pod scheduled or created).
struct Folded {
    namespace: String,
    name: String,
    count: i32,
}

impl From<Event> for Folded {
    fn from(event: Event) -> Folded {
        Folded {
            namespace: event.metadata.namespace,
            name: event.metadata.name,
            count: event.count,
        }
    }
}

async fn write_events(client: Client, source: EventSource, mut rx: mpsc::Receiver<Record>) {
    // Folded repeats: which Event object carries this (object, reason, message).
    let mut seen: HashMap<FoldKey, Folded> = HashMap::new();
    while let Some(record) = rx.recv().await {
        let key = fold_key(&record);
        let now = Time::now();
        if let Some(existing) = seen.get(&key) {
            let patch = serde_json::json!({ "count": existing.count + 1, "lastTimestamp": now });
            match client
                .patch::<Event>(&existing.namespace, &existing.name, &patch)
                .await
            {
                Ok(updated) => {
                    seen.insert(key, updated.into());
                    continue;
                }
                Err(err) if err.is_not_found() => {}
                Err(err) => {
                    tracing::debug!(%err, "event not updated");
                    continue;
                }
            }
        }
        let namespace = if record.object.namespace.is_empty() {
            "default".to_string()
        } else {
            record.object.namespace.clone()
        };
        let mut event = Event {
            metadata: ObjectMeta::named(&namespace, &event_name(&record.object.name)),
            involved_object: record.object,
            reason: record.reason,
            message: record.message,
            source: source.clone(),
            first_timestamp: Some(now),
            last_timestamp: Some(now),
            count: 1,
            type_: record.type_.as_str().to_string(),
            reporting_component: source.component.clone(),
            reporting_instance: source.host.clone(),
            ..Default::default()
        };
        // Names are unique per component, not across components: on the rare
        // clash with another writer's event, pick a new name once.
        for attempt in 0..2 {
            match client.create(&event).await {
                Ok(created) => {
                    if seen.len() >= REMEMBERED {
                        seen.clear();
                    }
                    seen.insert(key, created.into());
                    break;
                }
                Err(err) if err.is_already_exists() && attempt == 0 => {
                    event.metadata.name = event_name(&event.involved_object.name);
                }
                Err(err) => {
                    tracing::debug!(%err, "event not recorded");
                    break;
                }
            }
        }
    }
}

/// `<object>.<unix nanoseconds, hex><random>`, Kubernetes' event naming with
/// a random tail, since several components record events for one object.
fn event_name(object: &str) -> String {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{object}.{nanos:x}{:04x}", rand::random::<u16>())
}
