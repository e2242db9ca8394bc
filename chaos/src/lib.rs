//! skiff-chaos: breaks a running skiff cluster on purpose while workloads run, then checks what must have held.
//!
//! # Layout
//! - [`history`]: Jepsen-style operation histories (invoke, ok, fail, info) as JSON lines.
//! - [`check`]: the checkers, pure functions from histories to [`check::Verdict`]s.
//! - [`replay`]: `skiff-chaos check --out DIR`: every saved history through its checker.
//! - [`report`]: the verdict table.

pub mod check;
pub mod cli;
pub mod error;
pub mod history;
pub mod replay;
pub mod report;
