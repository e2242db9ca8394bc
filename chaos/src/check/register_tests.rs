//! Hand-made histories, good and bad, through the register checker.

use super::*;
use crate::history::{operations, Event, EventType};

pub(super) fn op(
    p: u64,
    f: Func,
    value: Option<&str>,
    from: Option<&str>,
    call: u64,
    ret: Option<u64>,
) -> Operation {
    Operation {
        process: p,
        f,
        key: "k".into(),
        value: value.map(str::to_string),
        from: from.map(str::to_string),
        call,
        ret,
        succeeded: None,
    }
}

pub(super) fn w(p: u64, v: &str, call: u64, ret: u64) -> Operation {
    op(p, Func::Write, Some(v), None, call, Some(ret))
}

pub(super) fn r(p: u64, v: Option<&str>, call: u64, ret: u64) -> Operation {
    op(p, Func::Read, v, None, call, Some(ret))
}

pub(super) fn cas(p: u64, from: &str, to: &str, ok: bool, call: u64, ret: u64) -> Operation {
    Operation {
        succeeded: Some(ok),
        ..op(p, Func::Cas, Some(to), Some(from), call, Some(ret))
    }
}

pub(super) fn violation(ops: &[Operation]) -> Vec<Operation> {
    match check_key(ops, MAX_STEPS_PER_KEY) {
        KeyResult::Violation(minimal) => minimal,
        other => panic!("expected a violation, got {other:?}"),
    }
}

pub(super) fn linearizable(ops: &[Operation]) {
    assert_eq!(check_key(ops, MAX_STEPS_PER_KEY), KeyResult::Linearizable);
}

#[test]
fn sequential_and_concurrent_histories_pass() {
    linearizable(&[w(1, "a", 0, 1), r(2, Some("a"), 2, 3)]);
    linearizable(&[r(1, None, 0, 1), w(1, "a", 2, 3)]);
    // A read concurrent with a write may see either value.
    linearizable(&[w(1, "a", 0, 10), r(2, Some("a"), 2, 3)]);
    linearizable(&[w(1, "a", 0, 10), r(2, None, 2, 3)]);
    // Two concurrent writes, then reads that agree on the order.
    linearizable(&[
        w(1, "a", 0, 10),
        w(2, "b", 0, 10),
        r(3, Some("a"), 11, 12),
        r(4, Some("a"), 13, 14),
    ]);
    linearizable(&[
        w(1, "a", 0, 1),
        cas(2, "a", "b", true, 2, 3),
        r(3, Some("b"), 4, 5),
    ]);
    linearizable(&[
        w(1, "a", 0, 1),
        cas(2, "x", "b", false, 2, 3),
        r(3, Some("a"), 4, 5),
    ]);
}

#[test]
fn a_stale_read_is_caught_with_just_the_operations_that_show_it() {
    let history = [
        w(1, "a", 0, 1),
        r(4, Some("a"), 1, 2),
        w(2, "b", 2, 3),
        r(5, Some("b"), 3, 4),
        r(3, Some("a"), 5, 6),
        w(2, "c", 7, 8),
    ];
    let minimal = violation(&history);
    let shown: Vec<String> = minimal.iter().map(ToString::to_string).collect();
    assert_eq!(
        minimal,
        vec![w(1, "a", 0, 1), w(2, "b", 2, 3), r(3, Some("a"), 5, 6)],
        "{shown:#?}"
    );
}

#[test]
fn two_successful_cas_from_one_value_are_caught() {
    let history = [
        w(1, "a", 0, 1),
        cas(2, "a", "b", true, 2, 6),
        cas(3, "a", "c", true, 3, 5),
        r(4, Some("c"), 7, 8),
    ];
    let minimal = violation(&history);
    assert_eq!(
        minimal,
        vec![
            w(1, "a", 0, 1),
            cas(2, "a", "b", true, 2, 6),
            cas(3, "a", "c", true, 3, 5)
        ]
    );
}

#[test]
fn a_read_of_a_value_never_written_is_caught_alone() {
    let history = [
        w(1, "a", 0, 1),
        r(2, Some("a"), 2, 3),
        r(3, Some("zz"), 4, 5),
    ];
    assert_eq!(violation(&history), vec![r(3, Some("zz"), 4, 5)]);
}

#[test]
fn a_failed_compare_that_should_have_held_is_caught() {
    let history = [w(1, "a", 0, 1), cas(2, "a", "b", false, 2, 3)];
    assert_eq!(violation(&history).len(), 2);
}

#[test]
fn unknown_outcomes_may_apply_late_or_never() {
    let unknown = op(2, Func::Write, Some("b"), None, 2, None);
    // Never applied.
    linearizable(&[w(1, "a", 0, 1), unknown.clone(), r(3, Some("a"), 10, 11)]);
    // Applied long after its call.
    linearizable(&[
        w(1, "a", 0, 1),
        unknown.clone(),
        r(3, Some("a"), 10, 11),
        r(3, Some("b"), 12, 13),
    ]);
    // But once seen it cannot be undone.
    violation(&[
        w(1, "a", 0, 1),
        unknown,
        r(3, Some("b"), 10, 11),
        r(3, Some("a"), 12, 13),
    ]);
    // An unknown compare-and-set applies only if its comparison held.
    let unknown_cas = op(2, Func::Cas, Some("c"), Some("x"), 2, None);
    violation(&[w(1, "a", 0, 1), unknown_cas, r(3, Some("c"), 10, 11)]);
}

#[test]
fn events_pair_into_operations_and_failures_are_dropped() {
    let mut e = Vec::new();
    let inv = |p, f, v: Option<&str>, t| Event {
        value: v.map(str::to_string),
        ..Event::invoke(p, f, "k", t)
    };
    let write_a = inv(1, Func::Write, Some("a"), 0);
    e.push(write_a.clone());
    e.push(write_a.complete(EventType::Ok, 1));
    let write_b = inv(1, Func::Write, Some("b"), 2);
    e.push(write_b.clone());
    e.push(write_b.complete(EventType::Fail, 3));
    let read = inv(2, Func::Read, None, 4);
    e.push(read.clone());
    e.push(Event {
        value: Some("b".into()),
        ..read.complete(EventType::Ok, 5)
    });
    let ops = operations(&e).unwrap();
    assert_eq!(ops.len(), 2, "the failed write is gone");
    // Reading the value of a write that certainly failed is a violation.
    assert!(matches!(check_key(&ops, 1000), KeyResult::Violation(_)));
    // An unmatched completion is an error naming its line.
    let err = operations(&[write_a.complete(EventType::Ok, 1)]).unwrap_err();
    assert_eq!(
        err,
        crate::history::HistoryError::Unmatched {
            index: 0,
            process: 1
        }
    );
}

#[test]
fn keys_are_checked_independently() {
    let mut ops = vec![w(1, "a", 0, 1), r(2, Some("a"), 2, 3)];
    let mut other = vec![w(1, "x", 4, 5), r(2, None, 6, 7)];
    for o in &mut other {
        o.key = "other".into();
    }
    ops.extend(other);
    let verdict = check(&ops);
    assert_eq!(verdict.anomalies, 1, "{verdict:#?}");
    assert!(verdict.first[0].what.contains("key other"), "{verdict:#?}");
}

/// 20 000 operations on 10 keys, from 10 clients at a time, must check within a minute
/// (BENCHMARKS.md). Run with `cargo nextest run -p skiff-chaos --run-ignored all bench_`.
#[test]
#[ignore]
fn bench_checker_20000_operations_on_10_keys() {
    let ops = crate::check::synth::history(20_000, 10, 10, 7);
    let started = std::time::Instant::now();
    let verdict = check(&ops);
    let took = started.elapsed();
    println!(
        "checked {} operations in {took:?}: {}",
        ops.len(),
        verdict.label()
    );
    assert!(verdict.valid(), "{verdict:#?}");
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
}
