//! Linearizability of a key-value store as independent read/write/compare-and-set registers, one per key (P-compositionality: a history is linearizable iff each key's sub-history is), with a minimal counterexample when one is not.
//!
//! An operation whose outcome is unknown has its return at the end of time, so it stays
//! pending, concurrent with everything after its call; a few dozen of them on one key make
//! the search's space (which of them have taken effect, at every point) explode. Before
//! searching, each key's history is prepared in two steps:
//!
//! 1. **Bound observed unknown operations** (an exact equivalence). When a value `v` is put
//!    by exactly one operation of the key's history and that operation's outcome is unknown,
//!    every completed operation that observes `v` (a read returning it, a successful cas
//!    from it) must be linearized while the register holds `v`, so after that operation took
//!    effect; the register starts absent and nothing else puts `v`. So the operation took
//!    effect, before the earliest return among those observers: its return is set there (and
//!    an unknown cas is known to have succeeded). Every order of the original history meets
//!    these tighter bounds and every order meeting them is one of the original's, so the
//!    verdict is unchanged. The store clients write a value unique per write (`p<process>-<n>`),
//!    but a value put twice is left alone: either writer could explain an observer. An
//!    observer that returned before the operation was called is left to the search (it is a
//!    violation; the bound would put the return before the call).
//! 2. **Drop the unknown operations left unbounded** (sound in one direction only). If the
//!    history without an unknown operation is linearizable, the history with it is: append it
//!    after the last operation of that order (its return is at the end of time, so real time
//!    allows it there, and nothing after it observes what it did). The converse fails: a
//!    failed cas from `p` may need an unobserved unknown write to have turned `p` into
//!    something else first. So the search runs on the pruned history first; "linearizable"
//!    there is the answer, and otherwise the whole history (with step 1 applied) is searched
//!    again and its answer, violation or not, is the one reported. A violation is only ever
//!    reported from the whole history, whose operation indexes the counterexample uses.
//!
//! Both searches try the operations of unknown outcome after the others at each point
//! ([`Span::late`]), which changes how long they take, never what they conclude.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::linear::{self, Model, Outcome, Searched, Span};
use super::Verdict;
use crate::history::{Func, Operation};

/// Steps the search may take per key before it gives up (an "unknown" verdict).
pub const MAX_STEPS_PER_KEY: u64 = 50_000_000;

/// A register operation with values interned (`0`: the key is absent).
#[derive(Clone, Copy, Debug)]
struct RegOp {
    f: Func,
    value: u32,
    from: u32,
    succeeded: Option<bool>,
}

struct Register;

impl Model for Register {
    type State = u32;
    type Op = RegOp;
    fn init(&self) -> u32 {
        0
    }
    fn step(&self, state: &u32, op: &RegOp) -> Option<u32> {
        match (op.f, op.succeeded) {
            (Func::Read, _) => (*state == op.value).then_some(*state),
            (Func::Write, _) => Some(op.value),
            (Func::Cas, Some(true)) => (*state == op.from).then_some(op.value),
            (Func::Cas, Some(false)) => (*state != op.from).then_some(*state),
            (Func::Cas, None) => Some(if *state == op.from { op.value } else { *state }),
        }
    }
}

/// One key's result.
#[derive(Debug, PartialEq)]
pub enum KeyResult {
    Linearizable,
    /// A smallest set found of this key's operations that admits no order.
    Violation(Vec<Operation>),
    GaveUp,
}

/// The key's operations as register operations and spans, values interned.
fn intern<'a>(ops: &'a [Operation]) -> (Vec<RegOp>, Vec<Span>) {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut intern = |v: &'a Option<String>| match v {
        None => 0,
        Some(s) => {
            let next = ids.len() as u32 + 1;
            *ids.entry(s.as_str()).or_insert(next)
        }
    };
    ops.iter()
        .map(|op| {
            let reg = RegOp {
                f: op.f,
                value: intern(&op.value),
                from: intern(&op.from),
                succeeded: op.succeeded,
            };
            let span = Span {
                call: op.call,
                ret: op.ret,
                late: op.ret.is_none(),
            };
            (reg, span)
        })
        .unzip()
}

/// Step 1 of the module comment: an unknown write or cas of a value put by no other
/// operation returns by the earliest return of an operation that observed its value.
fn bound_observed(reg: &mut [RegOp], spans: &mut [Span]) {
    let mut writers: HashMap<u32, u32> = HashMap::new();
    for op in reg.iter().filter(|op| op.f != Func::Read && op.value != 0) {
        *writers.entry(op.value).or_default() += 1;
    }
    // The earliest return of a completed operation that saw each value.
    let mut seen_by: HashMap<u32, u64> = HashMap::new();
    for (op, span) in reg.iter().zip(spans.iter()) {
        let seen = match (op.f, op.succeeded) {
            (Func::Read, _) => op.value,
            (Func::Cas, Some(true)) => op.from,
            _ => 0,
        };
        if let (Some(ret), true) = (span.ret, seen != 0) {
            let earliest = seen_by.entry(seen).or_insert(ret);
            *earliest = (*earliest).min(ret);
        }
    }
    for (op, span) in reg.iter_mut().zip(spans.iter_mut()) {
        if span.ret.is_some() || op.f == Func::Read || writers.get(&op.value) != Some(&1) {
            continue;
        }
        if let Some(&by) = seen_by.get(&op.value).filter(|&&by| by >= span.call) {
            span.ret = Some(by);
            if op.f == Func::Cas {
                op.succeeded = Some(true);
            }
        }
    }
}

/// Searches one key's history, prepared as the module comment describes; the steps are
/// those of both searches when it takes two.
fn search(ops: &[Operation], max_steps: u64) -> Searched {
    let (mut reg, mut spans) = intern(ops);
    bound_observed(&mut reg, &mut spans);
    let known: Vec<usize> = (0..ops.len()).filter(|&i| spans[i].ret.is_some()).collect();
    let mut steps = 0;
    if known.len() < ops.len() {
        let pruned_reg: Vec<RegOp> = known.iter().map(|&i| reg[i]).collect();
        let pruned_spans: Vec<Span> = known.iter().map(|&i| spans[i]).collect();
        let pruned = linear::check(&Register, &pruned_reg, &pruned_spans, max_steps);
        if pruned.outcome == Outcome::Linearizable {
            return pruned;
        }
        steps = pruned.steps;
    }
    let whole = linear::check(&Register, &reg, &spans, max_steps);
    Searched {
        outcome: whole.outcome,
        steps: steps + whole.steps,
    }
}

fn written(ops: &[Operation]) -> HashSet<String> {
    ops.iter()
        .filter(|op| op.f != Func::Read)
        .filter_map(|op| op.value.clone())
        .collect()
}

/// Every value read (or compared against by a successful cas) that some operation of the
/// key's whole history put is put by an operation in the set: a counterexample that drops
/// the write a read saw would only show "a read of a value never written".
fn closed(ops: &[Operation], ever_written: &HashSet<String>) -> bool {
    let here = written(ops);
    ops.iter().all(|op| {
        let seen = match (op.f, op.succeeded) {
            (Func::Read, _) => op.value.as_ref(),
            (Func::Cas, Some(true)) => op.from.as_ref(),
            _ => None,
        };
        seen.is_none_or(|v| here.contains(v) || !ever_written.contains(v))
    })
}

fn fails(ops: &[Operation], ever_written: &HashSet<String>) -> bool {
    closed(ops, ever_written)
        && matches!(
            search(ops, MAX_STEPS_PER_KEY / 10).outcome,
            Outcome::Violation { .. }
        )
}

/// Delta debugging: removes chunks of operations while the rest still fails, halving the
/// chunk size down to single operations.
fn shrink(mut ops: Vec<Operation>, ever_written: &HashSet<String>) -> Vec<Operation> {
    let mut chunk = ops.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < ops.len() && ops.len() > 1 {
            let end = (start + chunk).min(ops.len());
            let rest: Vec<Operation> = ops[..start].iter().chain(&ops[end..]).cloned().collect();
            if fails(&rest, ever_written) {
                ops = rest;
            } else {
                start = end;
            }
        }
        if chunk == 1 {
            return ops;
        }
        chunk = chunk.div_ceil(2);
    }
}

/// Checks one key's operations.
pub fn check_key(ops: &[Operation], max_steps: u64) -> KeyResult {
    match search(ops, max_steps).outcome {
        Outcome::Linearizable => KeyResult::Linearizable,
        Outcome::GaveUp { .. } => KeyResult::GaveUp,
        Outcome::Violation { longest, stuck } => {
            // Start shrinking from the operations up to where the search got stuck, if they
            // fail on their own; the whole key's history otherwise.
            let involved: HashSet<usize> = longest.iter().chain(&stuck).copied().collect();
            let horizon = stuck
                .iter()
                .filter_map(|&i| ops[i].ret)
                .max()
                .unwrap_or(u64::MAX);
            let prefix: Vec<Operation> = ops
                .iter()
                .enumerate()
                .filter(|(i, op)| involved.contains(i) || op.call <= horizon)
                .map(|(_, op)| op.clone())
                .collect();
            let ever_written = written(ops);
            let start = if fails(&prefix, &ever_written) {
                prefix
            } else {
                ops.to_vec()
            };
            let mut minimal = shrink(start, &ever_written);
            minimal.sort_by_key(|op| (op.call, op.process));
            KeyResult::Violation(minimal)
        }
    }
}

/// Checks every key of a history on its own.
pub fn check(ops: &[Operation]) -> Verdict {
    let mut by_key: BTreeMap<&str, Vec<Operation>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.key.as_str()).or_default().push(op.clone());
    }
    let mut verdict = Verdict::new("linearizability (store registers)", ops.len());
    for (key, ops) in by_key {
        match check_key(&ops, MAX_STEPS_PER_KEY) {
            KeyResult::Linearizable => {}
            KeyResult::GaveUp => verdict.unknown(format!(
                "key {key}: search gave up after {MAX_STEPS_PER_KEY} steps"
            )),
            KeyResult::Violation(minimal) => verdict.anomaly(
                format!(
                    "key {key}: these {} operations cannot be ordered",
                    minimal.len()
                ),
                minimal.iter().map(ToString::to_string).collect(),
            ),
        }
    }
    verdict
}

#[cfg(test)]
#[path = "register_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "register_unknown_tests.rs"]
mod unknown_tests;
