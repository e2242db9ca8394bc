//! Informers: a list-then-watch local cache of one kind, with event handlers and periodic resync.
//!
//! An [`Informer`] lists the objects it is asked for, stores them in its [`Store`], then
//! watches from the list's resourceVersion and applies every change to the store before
//! telling the handlers. When the watch breaks it resumes from the last resourceVersion it
//! saw (a bookmark counts); when the server answers Expired (that version is no longer kept)
//! it lists again and reports the difference between the cache and the new list as adds,
//! updates and deletes, so a deletion that happened while it was not watching still reaches
//! the handlers. Every `resync_period` it reports every cached object again as an update
//! (`old` and `new` the same object), so work lost by a consumer is eventually retried.
//!
//! Handlers run on the informer's task and must be cheap: they enqueue keys into a
//! [`WorkQueue`](crate::workqueue::WorkQueue), and workers read the store.

mod reflector;
mod store;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use store::{key_of, object_key, split_key, Store};

use skiff_api::types::Resource;
use skiff_client::Client;

/// A change reported to handlers. The store already holds the new state when it is reported.
#[derive(Debug)]
pub enum Event<T> {
    Added(Arc<T>),
    /// Also sent for every cached object at each resync, with `old` and `new` the same `Arc`.
    Updated {
        old: Arc<T>,
        new: Arc<T>,
    },
    /// The object's last known state.
    Deleted(Arc<T>),
}

impl<T> Event<T> {
    /// The object the event is about (the new state for an update).
    pub fn object(&self) -> &Arc<T> {
        match self {
            Event::Added(o) | Event::Deleted(o) => o,
            Event::Updated { new, .. } => new,
        }
    }
}

/// Which objects an informer caches, and how often it resyncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InformerConfig {
    /// One namespace, or every namespace with `None`.
    pub namespace: Option<String>,
    pub label_selector: String,
    pub field_selector: String,
    /// Report every cached object again this often; `None`: never.
    pub resync_period: Option<Duration>,
}

impl InformerConfig {
    pub fn namespace(mut self, namespace: impl Into<String>) -> InformerConfig {
        self.namespace = Some(namespace.into());
        self
    }

    pub fn labels(mut self, selector: impl Into<String>) -> InformerConfig {
        self.label_selector = selector.into();
        self
    }

    pub fn fields(mut self, selector: impl Into<String>) -> InformerConfig {
        self.field_selector = selector.into();
        self
    }

    pub fn resync(mut self, period: Duration) -> InformerConfig {
        self.resync_period = Some(period);
        self
    }
}

type Handler<T> = Box<dyn Fn(&Event<T>) + Send + Sync>;

/// A list+watch cache of the kind `T`. Register handlers, take [`Informer::store`] handles,
/// then spawn [`Informer::run`].
pub struct Informer<T: Resource> {
    client: Client,
    config: InformerConfig,
    store: Store<T>,
    handlers: Vec<Handler<T>>,
}

impl<T: Resource> Informer<T> {
    pub fn new(client: Client, config: InformerConfig) -> Informer<T> {
        Informer {
            client,
            config,
            store: Store::new(),
            handlers: Vec::new(),
        }
    }

    /// A handle on the cache; valid before, during and after [`Informer::run`].
    pub fn store(&self) -> Store<T> {
        self.store.clone()
    }

    pub fn has_synced(&self) -> bool {
        self.store.has_synced()
    }

    /// Calls `handler` for every event.
    pub fn on_event(&mut self, handler: impl Fn(&Event<T>) + Send + Sync + 'static) -> &mut Self {
        self.handlers.push(Box::new(handler));
        self
    }

    pub fn on_add(&mut self, handler: impl Fn(&Arc<T>) + Send + Sync + 'static) -> &mut Self {
        self.on_event(move |event| {
            if let Event::Added(object) = event {
                handler(object)
            }
        })
    }

    pub fn on_update(
        &mut self,
        handler: impl Fn(&Arc<T>, &Arc<T>) + Send + Sync + 'static,
    ) -> &mut Self {
        self.on_event(move |event| {
            if let Event::Updated { old, new } = event {
                handler(old, new)
            }
        })
    }

    pub fn on_delete(&mut self, handler: impl Fn(&Arc<T>) + Send + Sync + 'static) -> &mut Self {
        self.on_event(move |event| {
            if let Event::Deleted(object) = event {
                handler(object)
            }
        })
    }

    /// Lists, watches and keeps the cache until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let Informer {
            client,
            config,
            store,
            handlers,
        } = self;
        reflector::Reflector::new(client, config, store, handlers)
            .run(cancel)
            .await
    }
}
