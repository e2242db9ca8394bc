//! skiff's test kit: what every crate's tests and the benchmarks use to start store members
//! and whole clusters of real processes on free loopback ports, wait for them, and check
//! what they serve.
//!
//! # Layout
//! - [`prometheus`]: a strict reader of Prometheus' text format, for `/metrics` answers.

pub mod prometheus;
