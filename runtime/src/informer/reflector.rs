//! The informer's list/watch loop: keeps the store equal to the server's state and tells the handlers what changed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn, Instrument};

use super::store::{key_of, Store};
use super::{Event, Handler, InformerConfig};
use skiff_api::error::ApiError;
use skiff_api::types::Resource;
use skiff_client::{Client, ListOptions, WatchEvent, WatchOptions};

/// Waits between failed list or watch attempts: doubling from 200 ms to 10 s, with jitter so
/// that many informers do not hit a recovering apiserver at the same instant.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const INITIAL: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(10);

    fn new() -> Backoff {
        Backoff {
            next: Backoff::INITIAL,
        }
    }

    fn reset(&mut self) {
        self.next = Backoff::INITIAL;
    }

    fn step(&mut self) -> Duration {
        let wait = self.next.mul_f64(1.0 + rand::random::<f64>() * 0.5);
        self.next = (self.next * 2).min(Backoff::MAX);
        wait
    }
}

pub(super) struct Reflector<T: Resource> {
    client: Client,
    config: InformerConfig,
    store: Store<T>,
    handlers: Vec<Handler<T>>,
    /// The resourceVersion the next watch resumes from.
    resource_version: String,
    backoff: Backoff,
    resync: Option<Interval>,
}

/// Why a watch ended.
enum WatchEnd {
    Cancelled,
    /// The server no longer keeps our resourceVersion: list again.
    Expired,
    /// The stream broke or closed; resume from the last resourceVersion.
    Broken {
        saw_events: bool,
    },
}

async fn next_tick(resync: &mut Option<Interval>) {
    match resync {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl<T: Resource> Reflector<T> {
    pub(super) fn new(
        client: Client,
        config: InformerConfig,
        store: Store<T>,
        handlers: Vec<Handler<T>>,
    ) -> Self {
        let resync = config.resync_period.filter(|p| !p.is_zero()).map(|period| {
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        Reflector {
            client,
            config,
            store,
            handlers,
            resource_version: String::new(),
            backoff: Backoff::new(),
            resync,
        }
    }

    fn namespace(&self) -> Option<&str> {
        self.config.namespace.as_deref()
    }

    pub(super) async fn run(self, cancel: CancellationToken) {
        let span = tracing::info_span!(
            "informer",
            resource = T::PLURAL,
            namespace = self.namespace().unwrap_or("*")
        );
        self.list_and_watch(cancel).instrument(span).await
    }

    async fn list_and_watch(mut self, cancel: CancellationToken) {
        let mut need_list = true;
        loop {
            if need_list {
                let options = ListOptions {
                    label_selector: self.config.label_selector.clone(),
                    field_selector: self.config.field_selector.clone(),
                };
                let listed = tokio::select! {
                    _ = cancel.cancelled() => return,
                    listed = self.client.list::<T>(self.namespace(), &options) => listed,
                };
                match listed {
                    Ok(list) => {
                        info!(count = list.items.len(), resource_version = %list.resource_version, "listed");
                        self.replace(list.items);
                        self.resource_version = list.resource_version;
                        self.store.mark_synced();
                        self.backoff.reset();
                        need_list = false;
                    }
                    Err(error) => {
                        warn!("list failed: {error}");
                        if !self.pause(&cancel).await {
                            return;
                        }
                        continue;
                    }
                }
            }
            match self.watch(&cancel).await {
                WatchEnd::Cancelled => return,
                WatchEnd::Expired => need_list = true,
                WatchEnd::Broken { saw_events } => {
                    if saw_events {
                        self.backoff.reset();
                    } else if !self.pause(&cancel).await {
                        return;
                    }
                }
            }
        }
    }

    /// Sleeps for the next back-off step, still resyncing; false when cancelled.
    async fn pause(&mut self, cancel: &CancellationToken) -> bool {
        let until = Instant::now() + self.backoff.step();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return false,
                _ = tokio::time::sleep_until(until) => return true,
                _ = next_tick(&mut self.resync) => self.resync_all(),
            }
        }
    }

    async fn watch(&mut self, cancel: &CancellationToken) -> WatchEnd {
        let options = WatchOptions {
            label_selector: self.config.label_selector.clone(),
            field_selector: self.config.field_selector.clone(),
            resource_version: self.resource_version.clone(),
            allow_bookmarks: true,
        };
        let opened = tokio::select! {
            _ = cancel.cancelled() => return WatchEnd::Cancelled,
            opened = self.client.watch::<T>(self.namespace(), &options) => opened,
        };
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(error) => return self.watch_failed(error, false),
        };
        debug!(resource_version = %self.resource_version, "watching");
        let mut saw_events = false;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return WatchEnd::Cancelled,
                _ = next_tick(&mut self.resync) => self.resync_all(),
                item = stream.next() => match item {
                    Some(Ok(event)) => {
                        saw_events = true;
                        self.apply(event);
                    }
                    Some(Err(error)) => return self.watch_failed(error, saw_events),
                    None => {
                        debug!(resource_version = %self.resource_version, "watch closed; resuming");
                        return WatchEnd::Broken { saw_events };
                    }
                },
            }
        }
    }

    fn watch_failed(&self, error: ApiError, saw_events: bool) -> WatchEnd {
        if error.is_expired() {
            info!(resource_version = %self.resource_version, "watch expired; listing again: {error}");
            WatchEnd::Expired
        } else {
            warn!(resource_version = %self.resource_version, "watch failed; resuming: {error}");
            WatchEnd::Broken { saw_events }
        }
    }

    fn notify(&self, event: Event<T>) {
        for handler in &self.handlers {
            handler(&event);
        }
    }

    fn apply(&mut self, event: WatchEvent<T>) {
        match event {
            WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                self.advance(&object.metadata().resource_version);
                let new = Arc::new(object);
                match self.store.upsert(new.clone()) {
                    Some(old) => self.notify(Event::Updated { old, new }),
                    None => self.notify(Event::Added(new)),
                }
            }
            WatchEvent::Deleted(object) => {
                self.advance(&object.metadata().resource_version);
                // Report the state the watch sent: it is at least as new as the cached one.
                self.store.remove(&key_of(&object));
                self.notify(Event::Deleted(Arc::new(object)));
            }
            WatchEvent::Bookmark { resource_version } => self.advance(&resource_version),
        }
    }

    /// Moves the resume point; an event without a resourceVersion leaves it, since resuming
    /// from an empty one would mean "from now" and could skip changes.
    fn advance(&mut self, resource_version: &str) {
        if !resource_version.is_empty() {
            self.resource_version = resource_version.to_string();
        }
    }

    /// Stores a fresh list and reports how it differs from the cache.
    fn replace(&mut self, items: Vec<T>) {
        let fresh: HashMap<String, Arc<T>> = items
            .into_iter()
            .map(|o| (key_of(&o), Arc::new(o)))
            .collect();
        let mut old = self.store.replace(fresh.clone());
        let mut events = Vec::new();
        for (key, new) in fresh {
            match old.remove(&key) {
                None => events.push(Event::Added(new)),
                // Same name, different object: it was deleted and created again meanwhile.
                Some(old) if old.metadata().uid != new.metadata().uid => {
                    events.push(Event::Deleted(old));
                    events.push(Event::Added(new));
                }
                Some(old) if old.metadata().resource_version != new.metadata().resource_version => {
                    events.push(Event::Updated { old, new })
                }
                Some(_) => {}
            }
        }
        events.extend(old.into_values().map(Event::Deleted));
        for event in events {
            self.notify(event);
        }
    }

    fn resync_all(&self) {
        if !self.store.has_synced() {
            return;
        }
        let objects = self.store.list();
        debug!(resource = T::PLURAL, count = objects.len(), "resync");
        for object in objects {
            self.notify(Event::Updated {
                old: object.clone(),
                new: object,
            });
        }
    }
}
