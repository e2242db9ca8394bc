//! Lists served from the cache: waiting until the cache has reached a revision, and the matching objects in (namespace, name) order with the revision they are current at.
//!
//! This is what makes a list without resourceVersion both consistent and cheap (Kubernetes'
//! "consistent reads from cache", KEP-2340): the registry reads the store's current revision
//! (one small linearizable request), the cache waits until it has applied every change up to
//! it, and the list is answered from the objects the cache holds, as the JSON bytes they are
//! kept in.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::kind::{CachedObject, KindCache};
use crate::registry::filter::Filter;

/// Why the cache could not serve a revision in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behind {
    /// The first list of the kind has not loaded yet.
    NotReady,
    /// The cache was still at this revision when the wait ended.
    At(i64),
}

impl KindCache {
    /// Waits (at most `timeout`) until the cache has applied every change up to `revision`;
    /// returns the cache's revision then. While it waits the reflector is asked to request
    /// progress from the store at once, so a quiet kind catches up in a couple of round trips
    /// instead of at the next progress tick.
    pub async fn wait_for(&self, revision: i64, timeout: Duration) -> Result<i64, Behind> {
        let mut published = self.revision_tx.subscribe();
        if revision > *published.borrow() {
            self.progress_wanted.notify_one();
        }
        let reached =
            tokio::time::timeout(timeout, published.wait_for(|r| *r >= 0 && *r >= revision))
                .await
                .ok()
                .and_then(|r| r.ok().map(|r| *r));
        let current = *published.borrow();
        match reached {
            Some(r) => Ok(r),
            None if current < 0 => Err(Behind::NotReady),
            None => Err(Behind::At(current)),
        }
    }

    /// The objects `filter` selects, sorted by (namespace, name), and the revision the cache
    /// is at: the list is exactly the state of the store at that revision. `None` before
    /// the first list has loaded.
    pub fn list(&self, filter: &Filter) -> Option<(Vec<Arc<CachedObject>>, i64)> {
        let s = self.state.lock();
        if !s.ready {
            return None;
        }
        let mut items: Vec<Arc<CachedObject>> = s
            .objects
            .values()
            .filter(|o| filter.matches(&o.index))
            .cloned()
            .collect();
        let revision = s.revision;
        drop(s);
        items.sort_unstable_by(|a, b| order_key(a).cmp(&order_key(b)));
        Some((items, revision))
    }

    /// Counts a list answered from the cache, or one that had to read the store instead.
    pub fn count_list(&self, from_cache: bool) {
        let counter = if from_cache {
            &self.lists_from_cache
        } else {
            &self.list_fallbacks
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The order of lists and the key of continue tokens: (namespace, name).
pub fn order_key(o: &CachedObject) -> (&str, &str) {
    (o.index.namespace(), o.index.name())
}

/// The objects as one JSON array, their cached bytes copied as they are.
pub fn json_array(items: &[Arc<CachedObject>]) -> Vec<u8> {
    let len = items.iter().map(|o| o.json.len() + 1).sum::<usize>() + 2;
    let mut out = Vec::with_capacity(len);
    write_json_array(&mut out, items.iter().map(|o| &o.json[..]));
    out
}

/// Writes `[item,item,...]` into `out`.
pub fn write_json_array<'a>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'a [u8]>) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
}
