//! What keeps the dashboard's model current: one list-then-watch loop per resource (listing
//! again whenever the watch ends, so it outlives apiserver restarts), a poll of every store
//! member's status, and the publisher that turns changes into page snapshots.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::join_all;
use futures::StreamExt;
use skiff_client::{Client, ListOptions, WatchOptions};
use skiff_common::pki_layout::PkiLayout;
use tokio::sync::{watch, Notify};

use super::model::{Model, StoreMember};
use crate::cmd::status::{human_bytes, member_names};
use crate::up::store_status;

/// The model and the signal that it changed.
#[derive(Clone, Default)]
pub struct Shared {
    model: Arc<Mutex<Model>>,
    changed: Arc<Notify>,
}

impl Shared {
    /// Changes the model and wakes the publisher.
    pub fn update(&self, change: impl FnOnce(&mut Model)) {
        // A panic elsewhere while holding the lock leaves a usable model: every change is
        // one whole insert or replace.
        change(&mut self.model.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_one();
    }

    fn snapshot(&self) -> String {
        let now = chrono::Utc::now().timestamp_millis();
        self.model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot(now)
            .to_string()
    }
}

/// How long to wait before listing again after a watch ends or a list fails.
const RETRY: Duration = Duration::from_millis(500);

/// Keeps `resource` (every namespace) in the model, for as long as the dashboard runs.
pub async fn watch_resource(client: Client, shared: Shared, resource: &'static str) {
    loop {
        match client
            .list_json(resource, None, &ListOptions::default())
            .await
        {
            Ok(list) => {
                shared.update(|m| m.replace(resource, &list.items));
                let options = WatchOptions {
                    resource_version: list.resource_version,
                    allow_bookmarks: true,
                    ..WatchOptions::default()
                };
                match client.watch_json(resource, None, &options).await {
                    Ok(mut stream) => {
                        while let Some(event) = stream.next().await {
                            match event {
                                Ok(event) => shared.update(|m| m.apply(resource, &event)),
                                Err(e) => {
                                    shared.update(|m| m.feed_failed(resource, e.message));
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => shared.update(|m| m.feed_failed(resource, e.message)),
                }
            }
            Err(e) => shared.update(|m| m.feed_failed(resource, e.message)),
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// How often the store members are asked for their status.
const STORE_POLL: Duration = Duration::from_millis(500);

/// Polls every member's `Maintenance.Status`; a member that does not answer is shown down
/// (with the last name it had) until it answers again.
pub async fn poll_stores(endpoints: Vec<String>, pki: Option<PkiLayout>, shared: Shared) {
    let mut names = std::collections::BTreeMap::new();
    loop {
        let replies = join_all(endpoints.iter().map(|e| store_status(e, pki.as_ref()))).await;
        let ids: Vec<u64> = replies
            .iter()
            .filter_map(|r| r.as_ref().ok()?.header.as_ref().map(|h| h.member_id))
            .collect();
        if ids.iter().any(|id| !names.contains_key(id)) {
            names.extend(member_names(&endpoints, pki.as_ref()).await);
        }
        let members: Vec<StoreMember> = endpoints
            .iter()
            .zip(replies)
            .map(|(endpoint, reply)| match reply {
                Ok(status) => {
                    let id = status.header.map(|h| h.member_id).unwrap_or_default();
                    StoreMember {
                        endpoint: endpoint.clone(),
                        name: names.get(&id).cloned().unwrap_or_else(|| format!("{id:x}")),
                        up: true,
                        leader: status.leader != 0 && status.leader == id,
                        term: status.raft_term,
                        index: status.raft_index,
                        applied: status.raft_applied_index,
                        db_size: human_bytes(status.db_size),
                        error: status.errors.join("; "),
                    }
                }
                Err(error) => StoreMember {
                    endpoint: endpoint.clone(),
                    name: "?".into(),
                    error,
                    ..StoreMember::default()
                },
            })
            .collect();
        shared.update(|m| {
            // A member that went down keeps the name it had, so the page says which is down.
            let named = members
                .into_iter()
                .map(|mut member| {
                    if let Some(before) = m.stores.iter().find(|b| b.endpoint == member.endpoint) {
                        if !member.up {
                            member.name = before.name.clone();
                        }
                    }
                    member
                })
                .collect();
            m.stores = named;
        });
        tokio::time::sleep(STORE_POLL).await;
    }
}

/// The least time between two snapshots: changes within it go out together, so a burst of
/// writes (1000 pods created) costs the page a few renders, not a thousand.
const COALESCE: Duration = Duration::from_millis(150);

/// Publishes a snapshot after every change (at most one per [`COALESCE`]).
pub async fn publish(shared: Shared, snapshots: watch::Sender<Arc<String>>) {
    loop {
        shared.changed.notified().await;
        tokio::time::sleep(COALESCE).await;
        let snapshot = Arc::new(shared.snapshot());
        snapshots.send_replace(snapshot);
    }
}
