//! The checkers: pure functions from recorded histories to verdicts.
//!
//! - [`linear`]: the generic linearizability search; [`register`]: the store's keys as
//!   read/write/cas registers, checked per key.
//! - [`watch`]: watch streams against the store's own history.
//! - [`rmw`]: read-modify-write updates with resourceVersion preconditions (lost updates).
//! - [`controllers`]: the controllers' invariants on the converged cluster and on what the
//!   watches saw during the run.
//! - [`convergence`]: whether those invariants came to hold after the last fault, and if
//!   not, which were still off and since when.

pub mod controllers;
pub mod convergence;
pub mod linear;
pub mod register;
pub mod rmw;
pub mod synth;
pub mod watch;

use serde::{Deserialize, Serialize};

/// How many anomalies a verdict keeps in full (the rest are only counted).
const KEEP: usize = 5;

/// One anomaly: what is wrong, and the evidence (operations, events) that shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Anomaly {
    pub what: String,
    pub evidence: Vec<String>,
}

/// A checker's conclusion.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Verdict {
    pub checker: String,
    /// How many operations or events it looked at.
    pub checked: usize,
    pub anomalies: usize,
    /// The first anomalies found (at most [`KEEP`]).
    pub first: Vec<Anomaly>,
    /// Why the checker could not decide part of the history, if it could not.
    pub unknown: Vec<String>,
}

impl Verdict {
    pub fn new(checker: &str, checked: usize) -> Verdict {
        Verdict {
            checker: checker.to_string(),
            checked,
            anomalies: 0,
            first: Vec::new(),
            unknown: Vec::new(),
        }
    }

    pub fn anomaly(&mut self, what: String, evidence: Vec<String>) {
        self.anomalies += 1;
        if self.first.len() < KEEP {
            self.first.push(Anomaly { what, evidence });
        }
    }

    pub fn unknown(&mut self, why: String) {
        self.unknown.push(why);
    }

    pub fn valid(&self) -> bool {
        self.anomalies == 0 && self.unknown.is_empty()
    }

    /// `valid`, `INVALID` or `unknown`.
    pub fn label(&self) -> &'static str {
        if self.anomalies > 0 {
            "INVALID"
        } else if self.unknown.is_empty() {
            "valid"
        } else {
            "unknown"
        }
    }
}
