//! skiff-chaos: breaks a running skiff cluster on purpose while workloads run, then checks what must have held.
//!
//! # Layout
//! - [`history`]: Jepsen-style operation histories (invoke, ok, fail, info) as JSON lines.
//! - [`check`]: the checkers, pure functions from histories to [`check::Verdict`]s.
//! - [`replay`]: `skiff-chaos check --out DIR`: every saved history through its checker.
//! - [`report`]: the verdict table.
//! - [`faults`]: the seeded fault schedule and the injectors (`skiff up`, compose).
//! - [`workload`]: store clients, watchers, read-modify-write updaters, controller churn.
//! - [`run`]: one run from setup to report; [`setup`]: flags to a run; [`cli`]: the command
//!   line; [`tls`]: the clients' certificates for a TLS cluster.

pub mod check;
pub mod cli;
pub mod error;
pub mod faults;
pub mod history;
pub mod replay;
pub mod report;
pub mod run;
pub mod setup;
pub mod tls;
pub mod workload;
