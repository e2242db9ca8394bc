//! Watches: from the watch cache, or from a store watch of their own for a kind the cache does not keep.

use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;

use super::filter::Filter;
use super::Registry;
use crate::cache::client::Start;
use crate::cache::direct::{self, DirectStream};

impl Registry {
    /// A client watch on the kind from `start`, selected by `filter`.
    pub async fn watch(
        &self,
        info: &'static KindInfo,
        start: Start,
        filter: Filter,
        bookmarks: bool,
    ) -> Result<DirectStream, ApiError> {
        match self.cache.kind(info) {
            Some(cache) => Ok(Box::pin(cache.watch(start, filter, bookmarks).await?)),
            None => {
                let interval = self.cache.config.bookmark_interval;
                direct::watch(&self.store, info, start, filter, bookmarks, interval).await
            }
        }
    }
}
