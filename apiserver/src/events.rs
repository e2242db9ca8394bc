//! Store leases for events: every event is written with a lease so the store drops it after --event-ttl.
//!
//! As in Kubernetes, one lease is shared by all events written within the same minute (or
//! within `ttl`, when that is shorter), so a busy cluster does not create a lease per event;
//! each lease lives `ttl` plus that reuse window, so every event lives at least `ttl`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use skiff_api::error::ApiError;
use tokio::sync::Mutex;

use crate::store::Store;

/// How long one lease is handed out for new events, at most.
const MAX_REUSE: Duration = Duration::from_secs(60);

pub struct EventLeases {
    store: Arc<Store>,
    ttl: Duration,
    current: Mutex<Option<(i64, Instant)>>,
}

impl EventLeases {
    pub fn new(store: Arc<Store>, ttl: Duration) -> EventLeases {
        EventLeases {
            store,
            ttl,
            current: Mutex::new(None),
        }
    }

    /// The lease to attach to an event written now.
    pub async fn lease(&self) -> Result<i64, ApiError> {
        let mut current = self.current.lock().await;
        if let Some((id, granted)) = *current {
            if granted.elapsed() < self.reuse() {
                return Ok(id);
            }
        }
        let ttl = ((self.ttl + self.reuse()).as_secs_f64().ceil() as i64).max(1);
        let id = self.store.lease_grant(ttl).await?;
        *current = Some((id, Instant::now()));
        Ok(id)
    }

    fn reuse(&self) -> Duration {
        self.ttl.min(MAX_REUSE)
    }

    /// The store no longer knows `id` (it expired early or was revoked): grant a new one next time.
    pub async fn forget(&self, id: i64) {
        let mut current = self.current.lock().await;
        if matches!(*current, Some((cur, _)) if cur == id) {
            *current = None;
        }
    }
}
