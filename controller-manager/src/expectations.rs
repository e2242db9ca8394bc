//! Expectations (Kubernetes' `UIDTrackingControllerExpectations`): the creations and deletions a controller has asked for but not yet seen in its cache.
//!
//! A controller records what it is about to do *before* it sends the requests, then skips its
//! "create or delete pods" step for that object until its informer has observed every one of
//! them (or they time out). Without this, a sync that runs before the cache has caught up with
//! the previous sync's writes would count too few pods and create them again.
//!
//! Deletions are tracked by pod uid, so seeing a deletion twice (first `deletionTimestamp`,
//! then the removal) counts once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;
use tracing::info;

/// Kubernetes' `ExpectationsTimeout`: after this long an unmet expectation is assumed lost
/// (a create whose outcome never showed up) and the controller acts again.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Expectation {
    /// Creations still to be observed.
    adds: i64,
    /// Uids of pods whose deletion is still to be observed.
    deletes: HashSet<String>,
    set_at: Instant,
}

/// Expectations of one controller, keyed by its objects' keys (`namespace/name`).
#[derive(Debug)]
pub struct Expectations {
    entries: Mutex<HashMap<String, Expectation>>,
    timeout: Duration,
}

impl Default for Expectations {
    fn default() -> Self {
        Expectations::new(EXPECTATIONS_TIMEOUT)
    }
}

impl Expectations {
    pub fn new(timeout: Duration) -> Expectations {
        Expectations {
            entries: Mutex::new(HashMap::new()),
            timeout,
        }
    }

    /// True when nothing is pending for `key`, or what is pending has timed out.
    pub fn satisfied(&self, key: &str) -> bool {
        let entries = self.entries.lock();
        let Some(e) = entries.get(key) else {
            return true;
        };
        if e.adds <= 0 && e.deletes.is_empty() {
            return true;
        }
        if e.set_at.elapsed() > self.timeout {
            info!(
                key,
                adds = e.adds,
                deletes = e.deletes.len(),
                "expectations timed out; acting again"
            );
            return true;
        }
        false
    }

    /// Records that `adds` creations and the deletion of `deletes` are about to be requested,
    /// replacing whatever was recorded for `key` (only called once the old ones are met).
    pub fn expect(&self, key: &str, adds: usize, deletes: impl IntoIterator<Item = String>) {
        let expectation = Expectation {
            adds: i64::try_from(adds).unwrap_or(i64::MAX),
            deletes: deletes.into_iter().collect(),
            set_at: Instant::now(),
        };
        self.entries.lock().insert(key.to_string(), expectation);
    }

    /// The informer saw one of the creations (or one failed and will never be seen).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.entries.lock().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// Lowers the expected creations by `n` (requests that failed or were never sent).
    pub fn creations_skipped(&self, key: &str, n: usize) {
        if let Some(e) = self.entries.lock().get_mut(key) {
            e.adds -= i64::try_from(n).unwrap_or(i64::MAX);
        }
    }

    /// The informer saw pod `uid` being deleted (or the delete failed); repeats are harmless.
    pub fn deletion_observed(&self, key: &str, uid: &str) {
        if let Some(e) = self.entries.lock().get_mut(key) {
            e.deletes.remove(uid);
        }
    }

    /// Drops everything about `key` (its object was deleted).
    pub fn forget(&self, key: &str) {
        self.entries.lock().remove(key);
    }

    /// Creations and deletions still pending for `key`, for logs and tests.
    pub fn pending(&self, key: &str) -> (i64, usize) {
        self.entries
            .lock()
            .get(key)
            .map_or((0, 0), |e| (e.adds.max(0), e.deletes.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn creations_block_until_observed() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/a"));
        e.expect("ns/a", 2, []);
        assert!(!e.satisfied("ns/a"));
        assert!(e.satisfied("ns/b"), "keys are independent");
        e.creation_observed("ns/a");
        assert!(!e.satisfied("ns/a"));
        e.creation_observed("ns/a");
        assert!(e.satisfied("ns/a"));
        // Observing more than expected (a create by someone else) keeps it satisfied.
        e.creation_observed("ns/a");
        assert!(e.satisfied("ns/a"));
    }

    #[tokio::test(start_paused = true)]
    async fn deletions_count_each_pod_once() {
        let e = Expectations::default();
        e.expect("k", 0, ["u1".to_string(), "u2".to_string()]);
        e.deletion_observed("k", "u1");
        e.deletion_observed("k", "u1");
        assert!(!e.satisfied("k"));
        assert_eq!(e.pending("k"), (0, 1));
        e.deletion_observed("k", "u2");
        assert!(e.satisfied("k"));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_requests_lower_the_expectation() {
        let e = Expectations::default();
        e.expect("k", 5, []);
        e.creations_skipped("k", 3);
        e.creation_observed("k");
        assert!(!e.satisfied("k"));
        e.creation_observed("k");
        assert!(e.satisfied("k"));
    }

    #[tokio::test(start_paused = true)]
    async fn unmet_expectations_time_out() {
        let e = Expectations::new(Duration::from_secs(10));
        e.expect("k", 1, []);
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!e.satisfied("k"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(e.satisfied("k"));
        e.forget("k");
        assert_eq!(e.pending("k"), (0, 0));
    }
}
