//! The watch cache: one store watch per kind feeds an in-memory copy of every object plus a window of recent events, which client watches are served from (events aside: see [`UNCACHED`]).
//!
//! # Layout
//! - [`kind`]: one kind's cache: current objects, the event window, the registered client
//!   watches and the fan-out with per-client filtering.
//! - [`list`]: lists served from the cache once it has reached a revision (consistent
//!   reads from cache).
//! - [`client`]: a client watch: replay from a resourceVersion, then live events, bookmarks,
//!   and the end of a watch (Expired, too slow).
//! - [`direct`]: a client watch on a kind the cache does not keep, from a store watch of its
//!   own.
//! - [`reflector`]: the loop that lists and watches the store for one kind, reconnecting on
//!   another member when the watch breaks and relisting when its revision was compacted.

pub mod client;
pub mod direct;
pub mod kind;
pub mod list;
pub mod reflector;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use skiff_api::kinds::{KindInfo, KINDS};

pub use client::ClientWatch;
pub use kind::{CachedObject, KindCache};
pub use list::Behind;

/// How long a request for a revision the cache has not reached waits for it (Kubernetes
/// waits 3 s too): a watch from a newer resourceVersion (another apiserver wrote it a moment
/// ago), a list that must be consistent with the store.
pub const CATCH_UP: Duration = Duration::from_secs(3);

/// Kinds the cache does not keep, as Kubernetes keeps no watch cache for events by default:
/// every pod leaves four or so behind for an hour, so at 10 000 pods they would be about 40 000
/// cached objects (some 40 MB) that hardly anyone lists or watches. Their lists read the store
/// and their watches are store watches of their own ([`direct`]).
pub const UNCACHED: &[&str] = &["events"];

/// Sizes and periods of the cache.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Events kept per kind for watches that resume from an older resourceVersion.
    pub window: usize,
    /// Events buffered per client watch before it is ended as too slow.
    pub buffer: usize,
    pub bookmark_interval: Duration,
    pub progress_interval: Duration,
}

/// Every kind's cache.
pub struct WatchCache {
    kinds: HashMap<&'static str, Arc<KindCache>>,
    pub config: CacheConfig,
}

impl WatchCache {
    pub fn new(config: CacheConfig) -> WatchCache {
        let kinds = KINDS
            .iter()
            .filter(|info| !UNCACHED.contains(&info.plural))
            .map(|info| (info.plural, Arc::new(KindCache::new(info, &config))))
            .collect();
        WatchCache { kinds, config }
    }

    /// The kind's cache; `None` for a kind in [`UNCACHED`].
    pub fn kind(&self, info: &KindInfo) -> Option<&Arc<KindCache>> {
        self.kinds.get(info.plural)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<KindCache>> {
        self.kinds.values()
    }

    /// True once every kind has loaded its first list.
    pub fn is_ready(&self) -> bool {
        self.kinds.values().all(|k| k.is_ready())
    }
}

#[cfg(test)]
mod tests;
