//! The election rules on a fake clock: expiry as observed locally, renewals, takeovers, releases, configuration checks.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use tokio::time::Instant;

use super::record::{released, Decision, ElectionState};
use super::*;
use skiff_api::types::{LeaseSpec, Resource};

const LEASE: Duration = Duration::from_secs(15);

fn wall(secs: i64) -> MicroTime {
    MicroTime::from(Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap())
}

fn lease(holder: Option<&str>, rv: &str, renew_secs: i64) -> Lease {
    let mut lease = Lease::named("kube-system", "skiff-controller-manager");
    lease.metadata.resource_version = rv.to_string();
    lease.spec = LeaseSpec {
        holder_identity: holder.map(str::to_string),
        lease_duration_seconds: Some(15),
        acquire_time: Some(wall(0)),
        renew_time: Some(wall(renew_secs)),
        lease_transitions: Some(3),
    };
    lease
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_live_lease_of_another_is_not_taken() {
    let t0 = Instant::now();
    let mut me = ElectionState::new("b", LEASE);
    me.observe(&lease(Some("a"), "10", 0), t0);
    match me.decide(t0 + secs(14), wall(14)) {
        Decision::Wait { holder, expires_at } => {
            assert_eq!(holder, "a");
            assert_eq!(expires_at, t0 + LEASE);
        }
        other => panic!("took a live lease: {other:?}"),
    }
}

#[test]
fn expiry_counts_from_when_the_lease_was_seen_to_change_not_from_its_renew_time() {
    let t0 = Instant::now();
    let mut me = ElectionState::new("b", LEASE);
    // The holder's renewTime is an hour old by its clock, but we have only just seen the
    // lease: its clock may be wrong, so we wait a full lease duration.
    me.observe(&lease(Some("a"), "10", -3600), t0);
    assert!(matches!(
        me.decide(t0 + secs(1), wall(1)),
        Decision::Wait { .. }
    ));
    // Reading it again unchanged does not restart the timer...
    me.observe(&lease(Some("a"), "10", -3600), t0 + secs(10));
    assert!(matches!(
        me.decide(t0 + secs(14), wall(14)),
        Decision::Wait { .. }
    ));
    // ...a renewal does.
    me.observe(&lease(Some("a"), "11", 14), t0 + secs(14));
    assert!(matches!(
        me.decide(t0 + secs(20), wall(20)),
        Decision::Wait { .. }
    ));
    // Unchanged for a full lease duration since then: ours to take.
    match me.decide(t0 + secs(29), wall(29)) {
        Decision::Write(spec) => {
            assert_eq!(spec.holder_identity.as_deref(), Some("b"));
            assert_eq!(
                spec.lease_transitions,
                Some(4),
                "a takeover is a transition"
            );
            assert_eq!(spec.acquire_time, Some(wall(29)));
            assert_eq!(spec.renew_time, Some(wall(29)));
            assert_eq!(spec.lease_duration_seconds, Some(15));
        }
        other => panic!("an expired lease was not taken: {other:?}"),
    }
}

#[test]
fn the_holders_own_duration_decides_its_expiry() {
    let t0 = Instant::now();
    let mut me = ElectionState::new("b", LEASE);
    let mut held = lease(Some("a"), "10", 0);
    held.spec.lease_duration_seconds = Some(40);
    me.observe(&held, t0);
    assert!(matches!(
        me.decide(t0 + secs(30), wall(30)),
        Decision::Wait { .. }
    ));
    assert!(matches!(
        me.decide(t0 + secs(40), wall(40)),
        Decision::Write(_)
    ));
}

#[test]
fn renewing_keeps_acquire_time_and_transitions() {
    let t0 = Instant::now();
    let mut me = ElectionState::new("a", LEASE);
    me.observe(&lease(Some("a"), "10", 0), t0);
    match me.decide(t0 + secs(2), wall(2)) {
        Decision::Write(spec) => {
            assert_eq!(spec.acquire_time, Some(wall(0)));
            assert_eq!(spec.renew_time, Some(wall(2)));
            assert_eq!(spec.lease_transitions, Some(3));
        }
        other => panic!("did not renew its own lease: {other:?}"),
    }
}

#[test]
fn a_released_lease_is_taken_at_once() {
    let t0 = Instant::now();
    let mut me = ElectionState::new("b", LEASE);
    let mut gone = lease(Some("a"), "12", 0);
    gone.spec = released(&gone.spec, wall(5));
    assert_eq!(gone.spec.holder_identity, None);
    assert_eq!(gone.spec.lease_duration_seconds, Some(1));
    me.observe(&gone, t0);
    assert!(
        matches!(me.decide(t0, wall(5)), Decision::Write(spec) if spec.lease_transitions == Some(4))
    );
    // An empty holder string counts as released too.
    let mut empty = lease(Some(""), "13", 0);
    empty.spec.lease_duration_seconds = Some(15);
    me.observe(&empty, t0);
    assert!(matches!(me.decide(t0, wall(5)), Decision::Write(_)));
}

#[test]
fn creating_the_lease_is_not_a_transition() {
    let me = ElectionState::new("a", Duration::from_millis(1500));
    let spec = me.next_spec(None, wall(0));
    assert_eq!(spec.lease_transitions, Some(0));
    assert_eq!(spec.holder_identity.as_deref(), Some("a"));
    // Sub-second durations round up: others wait at least as long as we assume.
    assert_eq!(spec.lease_duration_seconds, Some(2));
}

#[test]
fn forgetting_restarts_the_timer() {
    let t0 = Instant::now();
    let mut me = ElectionState::new("b", LEASE);
    me.observe(&lease(Some("a"), "10", 0), t0);
    me.forget();
    me.observe(&lease(Some("a"), "10", 0), t0 + secs(20));
    assert!(matches!(
        me.decide(t0 + secs(21), wall(21)),
        Decision::Wait { .. }
    ));
}

#[test]
fn configuration_rules() {
    let good = LeaderConfig::new("kube-system", "cm", "a");
    assert!(good.validate().is_ok());
    let bad = |f: fn(&mut LeaderConfig)| {
        let mut c = good.clone();
        f(&mut c);
        c.validate().unwrap_err()
    };
    assert!(bad(|c| c.renew_deadline = c.lease_duration)
        .to_string()
        .contains("greater than the renew deadline"));
    assert!(bad(|c| c.retry_period = Duration::from_secs(9))
        .to_string()
        .contains("1.2 x the retry period"));
    assert!(bad(|c| c.retry_period = Duration::ZERO)
        .to_string()
        .contains("greater than zero"));
    assert!(bad(|c| c.identity.clear()).to_string().contains("identity"));
    assert!(bad(|c| c.name.clear()).to_string().contains("name"));
}
