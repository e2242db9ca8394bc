//! Lease expiry: only the leader keeps time for leases.
//!
//! The state machine stores each lease's TTL; the leader keeps a deadline per
//! lease in memory, pushes it forward on every keep-alive, and proposes a
//! LeaseRevoke through the raft log when it passes, so every member deletes
//! the attached keys at the same revision. A new leader starts every lease's
//! clock afresh (as etcd does): a lease never expires early because its
//! holder's keep-alives went to a member that is no longer leader.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use skiff_proto::etcdserverpb::LeaseRevokeRequest;
use skiff_proto::skiffstore::internal_request::Request;
use tokio_util::sync::CancellationToken;

use crate::mvcc::StateMachine;
use crate::raft::NodeHandle;

const CHECK_EVERY: Duration = Duration::from_millis(250);
/// A revoke that has not taken effect by then is proposed again.
const REVOKE_RETRY: Duration = Duration::from_secs(3);

#[derive(Default)]
struct Clock {
    /// Whether the deadlines below were started while this member was leader.
    leading: bool,
    deadlines: HashMap<i64, Instant>,
    revoking: HashMap<i64, Instant>,
}

impl Clock {
    /// Starts clocks for leases the state machine has and this clock lacks,
    /// and forgets revoked ones.
    fn sync(&mut self, leases: &[(i64, i64)], now: Instant) {
        let mut seen = HashMap::with_capacity(leases.len());
        for &(id, ttl) in leases {
            let deadline = *self.deadlines.entry(id).or_insert_with(|| now + secs(ttl));
            seen.insert(id, deadline);
        }
        self.deadlines = seen;
        self.revoking
            .retain(|id, _| self.deadlines.contains_key(id));
    }

    /// Leases whose deadline passed and that are not already being revoked.
    fn expired(&mut self, now: Instant) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .deadlines
            .iter()
            .filter(|(id, deadline)| {
                **deadline <= now
                    && self
                        .revoking
                        .get(id)
                        .is_none_or(|at| now.duration_since(*at) >= REVOKE_RETRY)
            })
            .map(|(id, _)| *id)
            .collect();
        out.sort_unstable();
        for id in &out {
            self.revoking.insert(*id, now);
        }
        out
    }
}

fn secs(ttl: i64) -> Duration {
    Duration::from_secs(ttl.max(0) as u64)
}

pub struct Lessor {
    node: NodeHandle,
    state: Arc<StateMachine>,
    clock: Mutex<Clock>,
    min_ttl: i64,
}

impl Lessor {
    pub fn new(node: NodeHandle, state: Arc<StateMachine>, election_timeout: Duration) -> Lessor {
        // etcd's minimum: a lease must outlive one and a half elections, so
        // a leader change alone never expires it.
        let min_ttl = (election_timeout.as_millis() as i64 * 3 / 2 + 999) / 1000;
        Lessor {
            node,
            state,
            clock: Mutex::new(Clock::default()),
            min_ttl,
        }
    }

    pub fn min_ttl(&self) -> i64 {
        self.min_ttl
    }

    /// Extends a lease on the leader; `None` when this member is not the
    /// leader (the caller forwards) and `Some(0)` for an unknown lease.
    pub fn renew(&self, id: i64) -> Option<i64> {
        if !self.node.is_leader() {
            return None;
        }
        let Some(lease) = self.state.lease(id) else {
            return Some(0);
        };
        let mut clock = self.clock.lock();
        clock.deadlines.insert(id, Instant::now() + secs(lease.ttl));
        Some(lease.ttl)
    }

    /// Seconds left on the leader's clock; `None` when not leader.
    pub fn remaining(&self, id: i64) -> Option<Option<i64>> {
        if !self.node.is_leader() {
            return None;
        }
        let Some(lease) = self.state.lease(id) else {
            return Some(None);
        };
        let clock = self.clock.lock();
        let left = match clock.deadlines.get(&id) {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()).as_secs() as i64,
            None => lease.ttl,
        };
        Some(Some(left))
    }

    /// Keeps lease clocks while this member leads and revokes expired leases.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            for id in self.check(Instant::now()) {
                let node = self.node.clone();
                tokio::spawn(async move {
                    let request = Request::LeaseRevoke(LeaseRevokeRequest { id });
                    match node.propose(request).await {
                        Ok(_) => tracing::info!(lease = id, "lease expired and revoked"),
                        Err(err) => {
                            tracing::debug!(lease = id, %err, "lease revoke not applied yet")
                        }
                    }
                });
            }
        }
    }

    fn check(&self, now: Instant) -> Vec<i64> {
        let leading = self.node.is_leader();
        let mut clock = self.clock.lock();
        if leading != clock.leading {
            // Leadership changed: clocks from another term mean nothing.
            *clock = Clock {
                leading,
                ..Clock::default()
            };
        }
        if !leading {
            return Vec::new();
        }
        let leases: Vec<(i64, i64)> = self.state.leases().iter().map(|l| (l.id, l.ttl)).collect();
        clock.sync(&leases, now);
        clock.expired(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_expires_after_its_ttl_unless_renewed() {
        let start = Instant::now();
        let mut clock = Clock {
            leading: true,
            ..Clock::default()
        };
        clock.sync(&[(1, 2), (2, 2)], start);
        assert!(clock
            .expired(start + Duration::from_millis(1900))
            .is_empty());
        // Lease 2 is renewed just before its deadline.
        clock
            .deadlines
            .insert(2, start + Duration::from_millis(1950) + secs(2));
        assert_eq!(clock.expired(start + Duration::from_secs(2)), vec![1]);
        // Already being revoked: not proposed again until the retry interval.
        assert!(clock
            .expired(start + Duration::from_millis(2500))
            .is_empty());
        assert_eq!(clock.expired(start + Duration::from_secs(4)), vec![2]);
        // The first revoke did not take effect: it is proposed again.
        assert_eq!(
            clock.expired(start + Duration::from_secs(2) + REVOKE_RETRY),
            vec![1]
        );
    }

    #[test]
    fn revoked_leases_are_forgotten_and_new_ones_start_their_clock_when_seen() {
        let start = Instant::now();
        let mut clock = Clock {
            leading: true,
            ..Clock::default()
        };
        clock.sync(&[(1, 1)], start);
        assert_eq!(clock.expired(start + Duration::from_secs(1)), vec![1]);
        let later = start + Duration::from_secs(5);
        clock.sync(&[(3, 10)], later);
        assert!(!clock.deadlines.contains_key(&1));
        assert!(clock.revoking.is_empty());
        assert!(clock.expired(later + Duration::from_secs(9)).is_empty());
        assert_eq!(clock.expired(later + Duration::from_secs(10)), vec![3]);
    }
}
