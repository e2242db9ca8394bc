//! Unknown outcomes through the register checker's preparation (bounding observed ones,
//! pruning the rest): a run-6-shaped key it decides and the plain search does not, and
//! planted faults it still catches.

use super::tests::{cas, linearizable, op, r, violation, w};
use super::*;
use crate::check::synth::{history_with, Outage, Shape};

fn unknown(p: u64, f: Func, value: &str, from: Option<&str>, call: u64) -> Operation {
    op(p, f, Some(value), from, call, None)
}

/// Whether a completed operation observes what `u` put.
fn observed(ops: &[Operation], u: &Operation) -> bool {
    ops.iter().any(|o| {
        o.ret.is_some()
            && ((o.f == Func::Read && o.value == u.value)
                || (o.succeeded == Some(true) && o.from == u.value))
    })
}

/// Run 6's k0: ~10 000 operations on one key from 10 clients, with unknown writes and cas
/// in bunches (store outages), half of which took effect up to 30 ms of its clock after
/// their call. The search without preparation gives up; with it, it decides in a few
/// million steps (3.8 M when this was written).
#[test]
fn a_run_6_shaped_key_with_bunched_unknown_outcomes_is_decided() {
    let shape = Shape {
        keys: 1,
        clients: 10,
        unknown_one_in: 15,
        unknown_delay: 50_000,
        outage: Some(Outage {
            every: 3_000_000,
            lasting: 300_000,
        }),
    };
    let ops = history_with(10_000, &shape, 1);
    let unknown: Vec<&Operation> = ops.iter().filter(|o| o.ret.is_none()).collect();
    let seen = unknown.iter().filter(|u| observed(&ops, u)).count();
    assert!(
        (30..=60).contains(&unknown.len()),
        "{} unknown",
        unknown.len()
    );
    assert!(
        seen > 5 && seen + 5 < unknown.len(),
        "{seen} of {} seen",
        unknown.len()
    );

    let (reg, spans) = intern(&ops);
    let plain = linear::check(&Register, &reg, &spans, 2_000_000);
    assert!(
        matches!(plain.outcome, Outcome::GaveUp { .. }),
        "{:?}",
        plain.outcome
    );
    let prepared = search(&ops, MAX_STEPS_PER_KEY);
    assert_eq!(prepared.outcome, Outcome::Linearizable);
    assert!(prepared.steps < 10_000_000, "{} steps", prepared.steps);
}

#[test]
fn a_stale_read_after_an_observed_unknown_write_is_caught() {
    let history = [
        w(1, "a", 0, 1),
        unknown(2, Func::Write, "b", None, 2),
        unknown(5, Func::Write, "x", None, 3),
        r(3, Some("b"), 10, 11),
        unknown(6, Func::Cas, "y", Some("b"), 11),
        r(4, Some("a"), 12, 13),
        unknown(7, Func::Write, "z", None, 14),
    ];
    let minimal = violation(&history);
    assert_eq!(
        minimal,
        vec![
            w(1, "a", 0, 1),
            history[1].clone(),
            r(3, Some("b"), 10, 11),
            r(4, Some("a"), 12, 13),
        ]
    );
}

#[test]
fn two_successful_cas_from_one_value_among_unknown_ones_are_caught() {
    let history = [
        w(1, "a", 0, 1),
        unknown(5, Func::Write, "x", None, 1),
        cas(2, "a", "b", true, 2, 6),
        unknown(6, Func::Cas, "y", Some("a"), 2),
        cas(3, "a", "c", true, 3, 5),
        unknown(7, Func::Cas, "z", Some("c"), 6),
        r(4, Some("c"), 7, 8),
    ];
    let minimal = violation(&history);
    assert!(minimal.contains(&history[2]), "{minimal:#?}");
    assert!(minimal.contains(&history[4]), "{minimal:#?}");
}

/// The read returned before the only write of its value was called: bounding must not pull
/// that write's return before its call, and pruning must not hide the violation.
#[test]
fn a_read_of_an_unknown_write_called_after_it_returned_is_caught() {
    let late = unknown(3, Func::Write, "b", None, 5);
    let history = [w(1, "a", 0, 1), r(2, Some("b"), 2, 3), late.clone()];
    assert_eq!(violation(&history), vec![r(2, Some("b"), 2, 3), late]);
}

/// The failed cas from `a` holds only if the unknown write of `b`, which nobody reads, took
/// effect: the pruned history is not linearizable, the whole one is.
#[test]
fn a_failed_cas_explained_only_by_an_unobserved_unknown_write_is_linearizable() {
    let history = [
        w(1, "a", 0, 1),
        unknown(2, Func::Write, "b", None, 2),
        cas(3, "a", "c", false, 10, 11),
        w(4, "d", 12, 13),
        r(5, Some("d"), 14, 15),
    ];
    linearizable(&history);
}

/// A value put twice is not bounded by its earliest reader: here the unknown write of `a`
/// must take effect after `b`, long after a read of `a` the other write explains.
#[test]
fn a_value_put_twice_is_not_bounded() {
    linearizable(&[
        w(1, "a", 0, 2),
        unknown(3, Func::Write, "a", None, 0),
        r(2, Some("a"), 1, 2),
        w(4, "b", 3, 4),
        r(5, Some("a"), 7, 8),
    ]);
}
