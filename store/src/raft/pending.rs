//! Proposals and reads waiting for the raft thread to answer them.
//!
//! raft-rs may drop a proposal or a ReadIndex request silently (no leader yet,
//! a leader that has not committed in its term, a leader change): requests
//! without a leader are parked, reads are re-sent, and everything carries a
//! deadline after which the client gets `request timed out`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use skiff_proto::skiffstore::internal_request::Request;
use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::mvcc::Outcome;

/// A ReadIndex round that has not come back by then is sent again.
const READ_RETRY: Duration = Duration::from_millis(300);
/// After a leader change, proposals still unanswered this long were most
/// likely lost with the old leader: the new leader commits whatever survived
/// within a round trip. Their clients hear "leader changed" (outcome unknown,
/// as with etcd's timeout) instead of waiting for the full request timeout.
const LEADER_CHANGE_GRACE: Duration = Duration::from_millis(500);

pub(crate) type ProposalReply = oneshot::Sender<Result<Outcome>>;
pub(crate) type ReadReply = oneshot::Sender<Result<()>>;

struct Waiting<T> {
    reply: T,
    deadline: Instant,
}

struct Proposal {
    reply: ProposalReply,
    deadline: Instant,
    /// Set when the leader changed while this proposal was in flight.
    orphaned_at: Option<Instant>,
}

pub(crate) struct Parked {
    pub request: Request,
    pub fence: Option<u64>,
    pub reply: ProposalReply,
    pub deadline: Instant,
}

struct ReadRound {
    waiters: Vec<Waiting<ReadReply>>,
    sent_at: Instant,
}

pub(crate) struct Pending {
    next_id: u64,
    proposals: HashMap<u64, Proposal>,
    parked: VecDeque<Parked>,
    reads_unsent: Vec<Waiting<ReadReply>>,
    reads_in_flight: HashMap<u64, ReadRound>,
    reads_waiting_apply: BTreeMap<u64, Vec<Waiting<ReadReply>>>,
    next_read_ctx: u64,
}

impl Pending {
    pub fn new() -> Pending {
        // Ids must not repeat across restarts of this member: an entry proposed
        // by the previous incarnation may still be applied after a restart.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Pending {
            next_id: seed,
            proposals: HashMap::new(),
            parked: VecDeque::new(),
            reads_unsent: Vec::new(),
            reads_in_flight: HashMap::new(),
            reads_waiting_apply: BTreeMap::new(),
            next_read_ctx: seed,
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    pub fn add_proposal(&mut self, id: u64, reply: ProposalReply, deadline: Instant) {
        self.proposals.insert(
            id,
            Proposal {
                reply,
                deadline,
                orphaned_at: None,
            },
        );
    }

    pub fn resolve_proposal(&mut self, id: u64, outcome: Result<Outcome>) {
        if let Some(waiting) = self.proposals.remove(&id) {
            let _ = waiting.reply.send(outcome);
        }
    }

    /// The leader changed: proposals in flight may have died with the old one.
    pub fn leader_changed(&mut self, now: Instant) {
        for p in self.proposals.values_mut() {
            p.orphaned_at.get_or_insert(now);
        }
    }

    pub fn park(&mut self, parked: Parked) {
        self.parked.push_back(parked);
    }

    pub fn take_parked(&mut self) -> VecDeque<Parked> {
        std::mem::take(&mut self.parked)
    }

    pub fn add_read(&mut self, reply: ReadReply, deadline: Instant) {
        self.reads_unsent.push(Waiting { reply, deadline });
    }

    /// Moves every unsent read into one ReadIndex round; returns its context.
    pub fn start_read_round(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.reads_unsent.is_empty() {
            return None;
        }
        self.next_read_ctx = self.next_read_ctx.wrapping_add(1);
        let waiters = std::mem::take(&mut self.reads_unsent);
        self.reads_in_flight.insert(
            self.next_read_ctx,
            ReadRound {
                waiters,
                sent_at: now,
            },
        );
        Some(self.next_read_ctx.to_be_bytes().to_vec())
    }

    /// A ReadIndex round came back: its reads may go once `index` is applied.
    pub fn read_state(&mut self, ctx: &[u8], index: u64, applied: u64) {
        let Ok(ctx) = <[u8; 8]>::try_from(ctx) else {
            return;
        };
        let Some(round) = self.reads_in_flight.remove(&u64::from_be_bytes(ctx)) else {
            return;
        };
        if index <= applied {
            for w in round.waiters {
                let _ = w.reply.send(Ok(()));
            }
        } else {
            self.reads_waiting_apply
                .entry(index)
                .or_default()
                .extend(round.waiters);
        }
    }

    pub fn applied(&mut self, applied: u64) {
        while let Some(entry) = self.reads_waiting_apply.first_entry() {
            if *entry.key() > applied {
                break;
            }
            for w in entry.remove() {
                let _ = w.reply.send(Ok(()));
            }
        }
    }

    /// Fails what waited too long and queues unanswered read rounds again.
    pub fn expire(&mut self, now: Instant) {
        let expired: Vec<(u64, StoreError)> = self
            .proposals
            .iter()
            .filter_map(|(id, p)| {
                if p.deadline <= now {
                    Some((*id, StoreError::Timeout))
                } else if p
                    .orphaned_at
                    .is_some_and(|at| now.duration_since(at) >= LEADER_CHANGE_GRACE)
                {
                    Some((*id, StoreError::LeaderChanged))
                } else {
                    None
                }
            })
            .collect();
        for (id, err) in expired {
            self.resolve_proposal(id, Err(err));
        }
        let (keep, gone): (VecDeque<_>, VecDeque<_>) =
            self.parked.drain(..).partition(|p| p.deadline > now);
        self.parked = keep;
        for p in gone {
            let _ = p.reply.send(Err(StoreError::Timeout));
        }
        let stale: Vec<u64> = self
            .reads_in_flight
            .iter()
            .filter(|(_, r)| now.duration_since(r.sent_at) >= READ_RETRY)
            .map(|(ctx, _)| *ctx)
            .collect();
        for ctx in stale {
            if let Some(round) = self.reads_in_flight.remove(&ctx) {
                self.reads_unsent.extend(round.waiters);
            }
        }
        let (keep, gone): (Vec<_>, Vec<_>) =
            self.reads_unsent.drain(..).partition(|w| w.deadline > now);
        self.reads_unsent = keep;
        for w in gone {
            let _ = w.reply.send(Err(StoreError::Timeout));
        }
        for waiters in self.reads_waiting_apply.values_mut() {
            let (keep, gone): (Vec<_>, Vec<_>) = waiters.drain(..).partition(|w| w.deadline > now);
            *waiters = keep;
            for w in gone {
                let _ = w.reply.send(Err(StoreError::Timeout));
            }
        }
        self.reads_waiting_apply.retain(|_, w| !w.is_empty());
    }

    #[cfg(test)]
    pub fn has_unsent_reads(&self) -> bool {
        !self.reads_unsent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wait_for_apply_and_retry_when_unanswered() {
        let mut p = Pending::new();
        let now = Instant::now();
        let (tx, mut rx) = oneshot::channel();
        p.add_read(tx, now + Duration::from_secs(10));
        let ctx = p.start_read_round(now).unwrap();
        // Unanswered: after the retry interval the read is queued again.
        p.expire(now + READ_RETRY);
        assert!(p.has_unsent_reads());
        let ctx2 = p.start_read_round(now + READ_RETRY).unwrap();
        assert_ne!(ctx, ctx2);
        p.read_state(&ctx, 5, 0); // the old round is gone: ignored
        p.read_state(&ctx2, 7, 6);
        assert!(rx.try_recv().is_err());
        p.applied(7);
        assert!(matches!(rx.try_recv(), Ok(Ok(()))));
    }

    #[test]
    fn proposals_time_out() {
        let mut p = Pending::new();
        let now = Instant::now();
        let (tx, mut rx) = oneshot::channel();
        let id = p.next_id();
        p.add_proposal(id, tx, now + Duration::from_millis(5));
        p.expire(now + Duration::from_millis(10));
        assert!(matches!(rx.try_recv(), Ok(Err(StoreError::Timeout))));
    }

    #[test]
    fn proposals_in_flight_across_a_leader_change_fail_after_a_grace() {
        let mut p = Pending::new();
        let now = Instant::now();
        let (tx, mut rx) = oneshot::channel();
        let id = p.next_id();
        p.add_proposal(id, tx, now + Duration::from_secs(10));
        p.leader_changed(now);
        let (tx2, mut rx2) = oneshot::channel();
        let id2 = p.next_id();
        p.add_proposal(id2, tx2, now + Duration::from_secs(10));
        p.expire(now + LEADER_CHANGE_GRACE / 2);
        assert!(rx.try_recv().is_err(), "failed before the grace ran out");
        p.expire(now + LEADER_CHANGE_GRACE);
        assert!(matches!(rx.try_recv(), Ok(Err(StoreError::LeaderChanged))));
        assert!(
            rx2.try_recv().is_err(),
            "a proposal made after the change is not affected"
        );
    }
}
