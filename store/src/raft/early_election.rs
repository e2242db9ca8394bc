//! When a follower whose leader's stream has just closed should campaign.
//!
//! A killed leader's connections close at once, yet raft would make the survivors wait out
//! a whole election timeout (1 to 2 s by default). Instead a follower stops deferring to the
//! old leader and campaigns within a tick or two, the survivors staggered by member id so
//! they do not split the vote.
//!
//! Safe whatever really happened: the campaign starts with a pre-vote, which members still
//! hearing from a live leader refuse, and the live leader's next heartbeat resets the
//! follower's timer. Only the timing of an election changes, never its outcome.

/// The follower's new election clock: `elapsed` ticks since it last heard from the leader,
/// and the randomized timeout at which it campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub elapsed: usize,
    pub campaign_at: usize,
}

/// For a follower with election timeout `timeout` (ticks), `elapsed` ticks since it last
/// heard from the leader, and `rank` surviving members with a smaller id: its new clock, or
/// `None` when its own timer fires as soon anyway.
pub fn early_clock(timeout: usize, elapsed: usize, rank: usize) -> Option<Clock> {
    // raft-rs draws election timeouts from [timeout, 2 * timeout) and asserts it.
    let campaign_at = (timeout + 1 + rank).min(2 * timeout - 1);
    if elapsed >= campaign_at {
        return None;
    }
    Some(Clock {
        // At least a full timeout: this member no longer refuses votes to protect the old
        // leader's lease, so whichever survivor campaigns first can win.
        elapsed: elapsed.max(timeout),
        campaign_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survivors_campaign_a_tick_apart_inside_raft_rs_bounds() {
        let cases = [
            // (timeout, elapsed, rank, expected)
            (10, 2, 0, Some((10, 11))),
            (10, 2, 1, Some((10, 12))),
            (10, 10, 0, Some((10, 11))),
            // A big cluster: later ranks share the last allowed tick.
            (10, 0, 12, Some((10, 19))),
            // Silent for longer than the early campaign would wait: nothing to change.
            (10, 11, 0, None),
            (10, 15, 1, None),
            // The smallest timeout the flags allow (5 heartbeats).
            (5, 0, 3, Some((5, 9))),
        ];
        for (timeout, elapsed, rank, expected) in cases {
            let got = early_clock(timeout, elapsed, rank).map(|c| (c.elapsed, c.campaign_at));
            assert_eq!(
                got, expected,
                "timeout {timeout} elapsed {elapsed} rank {rank}"
            );
            if let Some((elapsed, at)) = got {
                assert!(elapsed >= timeout && (timeout..2 * timeout).contains(&at));
            }
        }
    }
}
