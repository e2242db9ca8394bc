//! Linearizability of a key-value store as independent read/write/compare-and-set registers, one per key (P-compositionality: a history is linearizable iff each key's sub-history is), with a minimal counterexample when one is not.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::linear::{self, Model, Outcome, Span};
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

fn search<'a>(ops: &'a [Operation], max_steps: u64) -> Outcome {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut intern = |v: &'a Option<String>| match v {
        None => 0,
        Some(s) => {
            let next = ids.len() as u32 + 1;
            *ids.entry(s.as_str()).or_insert(next)
        }
    };
    let reg: Vec<RegOp> = ops
        .iter()
        .map(|op| RegOp {
            f: op.f,
            value: intern(&op.value),
            from: intern(&op.from),
            succeeded: op.succeeded,
        })
        .collect();
    let spans: Vec<Span> = ops
        .iter()
        .map(|op| Span {
            call: op.call,
            ret: op.ret,
        })
        .collect();
    linear::check(&Register, &reg, &spans, max_steps)
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
            search(ops, MAX_STEPS_PER_KEY / 10),
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
    match search(ops, max_steps) {
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
