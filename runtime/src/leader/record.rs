//! The pure part of leader election: what the lease says, when this elector last saw it change, and what to write next.
//!
//! Expiry is judged only on the local monotonic clock: a lease held by someone else expires
//! `leaseDurationSeconds` after this elector *saw* it change (its resourceVersion or content),
//! never by comparing the holder's `renewTime` with the local wall clock, so clock skew
//! between machines cannot make two electors lead at once.

use std::time::Duration;

use tokio::time::Instant;

use skiff_api::meta::MicroTime;
use skiff_api::types::{Lease, LeaseSpec};

/// The lease as last read, and when (local clock) it was first seen in that state.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Observation {
    pub spec: LeaseSpec,
    pub resource_version: String,
    pub observed_at: Instant,
}

/// What to do after reading the lease.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Decision {
    /// Someone else holds a live lease; it expires for us at `expires_at` unless it changes.
    Wait { holder: String, expires_at: Instant },
    /// Write this spec (compare-and-swap on the read resourceVersion) to take or renew it.
    Write(LeaseSpec),
}

pub(crate) fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|h| !h.is_empty())
}

/// One elector's view of the lease.
#[derive(Debug)]
pub(crate) struct ElectionState {
    identity: String,
    /// Our lease duration, written as `leaseDurationSeconds` (rounded up to whole seconds).
    lease_duration: Duration,
    observed: Option<Observation>,
}

impl ElectionState {
    pub fn new(identity: &str, lease_duration: Duration) -> ElectionState {
        ElectionState {
            identity: identity.to_string(),
            lease_duration,
            observed: None,
        }
    }

    pub fn observed(&self) -> Option<&Observation> {
        self.observed.as_ref()
    }

    pub fn lease_duration_seconds(&self) -> i32 {
        let secs =
            self.lease_duration.as_secs() + u64::from(self.lease_duration.subsec_nanos() > 0);
        i32::try_from(secs).unwrap_or(i32::MAX)
    }

    /// Records the lease as read at `now`. The expiry timer restarts only when the lease
    /// changed since the last observation.
    pub fn observe(&mut self, lease: &Lease, now: Instant) {
        let changed = match &self.observed {
            None => true,
            Some(seen) => {
                seen.resource_version != lease.metadata.resource_version || seen.spec != lease.spec
            }
        };
        if changed {
            self.observed = Some(Observation {
                spec: lease.spec.clone(),
                resource_version: lease.metadata.resource_version.clone(),
                observed_at: now,
            });
        }
    }

    /// Records our own successful write: we hold the lease from `sent_at`, the moment the
    /// write left (earlier than any other elector can have seen it).
    pub fn wrote(&mut self, lease: &Lease, sent_at: Instant) {
        self.observed = Some(Observation {
            spec: lease.spec.clone(),
            resource_version: lease.metadata.resource_version.clone(),
            observed_at: sent_at,
        });
    }

    /// Forgets the observation, so the next read restarts the expiry timer.
    pub fn forget(&mut self) {
        self.observed = None;
    }

    /// How long the observed holder may go without renewing: what it wrote, else ours.
    fn observed_duration(spec: &LeaseSpec, ours: Duration) -> Duration {
        match spec.lease_duration_seconds {
            Some(secs) if secs > 0 => Duration::from_secs(u64::try_from(secs).unwrap_or(0)),
            _ => ours,
        }
    }

    /// The decision for the lease last observed, at local time `now`, with `wall_now` for the
    /// times written into the lease.
    pub fn decide(&self, now: Instant, wall_now: MicroTime) -> Decision {
        let current = self.observed.as_ref().map(|o| &o.spec);
        if let Some(seen) = &self.observed {
            if let Some(holder) = holder(&seen.spec) {
                if holder != self.identity {
                    let expires_at =
                        seen.observed_at + Self::observed_duration(&seen.spec, self.lease_duration);
                    if now < expires_at {
                        return Decision::Wait {
                            holder: holder.to_string(),
                            expires_at,
                        };
                    }
                }
            }
        }
        Decision::Write(self.next_spec(current, wall_now))
    }

    /// The spec that makes us the holder: a renewal keeps the acquire time and transition
    /// count; a takeover restarts the one and bumps the other.
    pub fn next_spec(&self, current: Option<&LeaseSpec>, wall_now: MicroTime) -> LeaseSpec {
        let transitions = current.and_then(|s| s.lease_transitions).unwrap_or(0);
        let renewing = current.is_some_and(|s| holder(s) == Some(self.identity.as_str()));
        let (acquire_time, lease_transitions) = if renewing {
            (
                current.and_then(|s| s.acquire_time).or(Some(wall_now)),
                transitions,
            )
        } else {
            // Creating the lease is not a transition; taking it from a previous holder (or
            // picking up a released one) is.
            let bump = i32::from(current.is_some());
            (Some(wall_now), transitions.saturating_add(bump))
        };
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_duration_seconds()),
            acquire_time,
            renew_time: Some(wall_now),
            lease_transitions: Some(lease_transitions),
        }
    }
}

/// The spec that gives the lease up at once: no holder, a one-second duration (client-go's
/// release), so a standby takes it on its next try.
pub(crate) fn released(spec: &LeaseSpec, wall_now: MicroTime) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        acquire_time: spec.acquire_time,
        renew_time: Some(wall_now),
        lease_transitions: spec.lease_transitions,
    }
}
