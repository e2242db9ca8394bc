//! Write fences: a client's limit on how late its write may enter the raft log.
//!
//! A client that gives up on a member and sends the same write to another one cannot call
//! the first attempt back: a member that was stopped (SIGSTOP, a long pause) while holding
//! it would propose it when it resumes, possibly after the client's later writes, and a
//! create-if-absent answered through the retry would bring a deleted key back. So a client
//! may stamp a write with a fence, a wall-clock instant (Unix milliseconds, the gRPC header
//! [`skiff_proto::WRITE_FENCE_HEADER`]), and retries elsewhere only once the fence has
//! passed. Members keep the other half of the bargain: the fence rides in the raft entry's
//! context, and an entry is appended to a leader's log only before its fence, checked where
//! the member proposes it and again where a leader steps a follower's forwarded proposal.
//!
//! Why that is enough: an entry the leader appended before the fence precedes, in the log,
//! every entry appended after it, and a retry sent after the fence is appended after it, by
//! the same leader or by a newer one (which either has the entry, before the retry, or
//! overwrites it, and then it is never applied). The clocks of the client and the leader
//! must agree within the client's margin between its fence and its retry (one host, or
//! hosts kept in time by NTP).
//!
//! Entries without a fence (an etcd client's writes, the member's own proposals) carry an
//! empty context and are never refused.

use std::time::{SystemTime, UNIX_EPOCH};

use raft::eraftpb::Message;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The entry context carrying `fence` (empty without one).
pub(crate) fn context(fence: Option<u64>) -> Vec<u8> {
    fence.map_or_else(Vec::new, |ms| ms.to_be_bytes().to_vec())
}

/// True when an entry with this context may no longer enter the log at `now_ms`.
pub(crate) fn passed(context: &[u8], now_ms: u64) -> bool {
    match <[u8; 8]>::try_from(context) {
        Ok(bytes) => u64::from_be_bytes(bytes) <= now_ms,
        // No fence, or a context this member did not write: never refused.
        Err(_) => false,
    }
}

/// Removes from a forwarded proposal (`MsgPropose`) the entries whose fence has passed;
/// true when none is left, so the message is not stepped at all. The member that forwarded
/// them answers its client "request timed out" at its own deadline, long after the fence.
pub(crate) fn drop_passed(msg: &mut Message, now_ms: u64) -> bool {
    // Every forwarded proposal comes through here; almost none is late.
    if !msg.entries.iter().any(|e| passed(&e.context, now_ms)) {
        return false;
    }
    let before = msg.entries.len();
    let kept: Vec<_> = msg
        .take_entries()
        .into_iter()
        .filter(|e| !passed(&e.context, now_ms))
        .collect();
    tracing::info!(
        from = msg.from,
        dropped = before - kept.len(),
        "forwarded proposals dropped: their write fence passed before they reached the leader"
    );
    let empty = kept.is_empty();
    msg.set_entries(kept.into());
    empty
}

/// The fence of a request's header value: Unix milliseconds, as decimal digits.
pub fn parse_header(value: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "{}: {:?} is not a time in Unix milliseconds",
                skiff_proto::WRITE_FENCE_HEADER,
                String::from_utf8_lossy(value)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_passes_at_its_instant_and_no_fence_never_does() {
        let ctx = context(Some(1_000));
        assert!(!passed(&ctx, 999));
        assert!(passed(&ctx, 1_000));
        assert!(passed(&ctx, 5_000));
        assert!(!passed(&context(None), u64::MAX));
        assert!(!passed(b"other", u64::MAX));
    }

    #[test]
    fn a_forwarded_proposal_keeps_only_the_entries_before_their_fence() {
        let entry = |fence: Option<u64>| raft::eraftpb::Entry {
            context: context(fence).into(),
            ..Default::default()
        };
        let mut msg = Message::default();
        msg.set_entries(vec![entry(Some(10)), entry(None), entry(Some(30))].into());
        assert!(!drop_passed(&mut msg, 20));
        let left: Vec<bool> = msg.entries.iter().map(|e| e.context.is_empty()).collect();
        assert_eq!(
            left,
            vec![true, false],
            "the unfenced entry and the one fenced at 30"
        );

        let mut late = Message::default();
        late.set_entries(vec![entry(Some(10))].into());
        assert!(drop_passed(&mut late, 10), "nothing left to step");
    }

    #[test]
    fn header_values_are_unix_milliseconds() {
        assert_eq!(parse_header(b"1733356800123"), Ok(1_733_356_800_123));
        let err = parse_header(b"soon").unwrap_err();
        assert!(
            err.contains("skiff-write-fence") && err.contains("soon"),
            "{err}"
        );
        assert!(parse_header(b"-5").is_err());
    }
}
