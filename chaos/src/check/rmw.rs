//! Read-modify-write updates through the apiserver: each update appends its own token to an object's list under a resourceVersion precondition. Afterwards every acknowledged token must be in the list exactly once (no lost update, no double apply), and no token the client was told failed may be there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Verdict;
use crate::history::EventType;

/// One update's outcome as its client saw it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RmwOp {
    pub process: u64,
    pub object: String,
    pub token: String,
    /// `ok`, `fail` (the apiserver said it did not apply) or `info` (unknown).
    pub outcome: EventType,
    /// Nanoseconds since the run started, at invocation and at completion.
    pub call: u64,
    pub ret: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An object's list of tokens read after the run (`None`: the object is gone).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RmwFinal {
    pub object: String,
    pub tokens: Option<Vec<String>>,
}

pub fn check(ops: &[RmwOp], finals: &[RmwFinal]) -> Verdict {
    let mut verdict = Verdict::new("read-modify-write (lost updates)", ops.len());
    let finals: BTreeMap<&str, &RmwFinal> = finals.iter().map(|f| (f.object.as_str(), f)).collect();
    let mut by_object: BTreeMap<&str, Vec<&RmwOp>> = BTreeMap::new();
    for op in ops {
        by_object.entry(op.object.as_str()).or_default().push(op);
    }
    for (object, ops) in by_object {
        let Some(tokens) = finals.get(object).and_then(|f| f.tokens.as_ref()) else {
            verdict.anomaly(
                format!("object {object} is gone (or was never read back)"),
                vec![format!("{} update(s) were issued on it", ops.len())],
            );
            continue;
        };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for t in tokens {
            *counts.entry(t.as_str()).or_default() += 1;
        }
        let known: BTreeMap<&str, &RmwOp> = ops.iter().map(|op| (op.token.as_str(), *op)).collect();
        for op in &ops {
            let n = counts.get(op.token.as_str()).copied().unwrap_or(0);
            let shown = format!(
                "p{} update {} token {} -> {:?} [{:.3}ms .. {:.3}ms]{}",
                op.process,
                op.object,
                op.token,
                op.outcome,
                op.call as f64 / 1e6,
                op.ret as f64 / 1e6,
                op.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            match (op.outcome, n) {
                (_, n) if n > 1 => verdict.anomaly(
                    format!("object {object}: an update applied {n} times"),
                    vec![shown],
                ),
                (EventType::Ok, 0) => verdict.anomaly(
                    format!("object {object}: lost update (acknowledged, not in the object)"),
                    vec![shown],
                ),
                (EventType::Fail, 1) => verdict.anomaly(
                    format!("object {object}: an update reported as failed was applied"),
                    vec![shown],
                ),
                _ => {}
            }
        }
        for (token, _) in counts.iter().filter(|(t, _)| !known.contains_key(*t)) {
            verdict.anomaly(
                format!("object {object}: token {token} was never written by any client"),
                vec![],
            );
        }
    }
    verdict
}

#[cfg(test)]
#[path = "rmw_tests.rs"]
mod tests;
