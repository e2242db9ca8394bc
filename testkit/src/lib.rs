//! skiff's test kit: what every crate's tests and the benchmarks use to start store members
//! and whole clusters of real processes on free loopback ports, wait for them, check what
//! they serve, and kill every process they started by PID, even when a test fails.
//!
//! What a component's command line and ports are is planned in `skiff_common::launch`,
//! which `skiff up` uses too; this crate adds what only tests and benchmarks need: temporary
//! directories, kill-on-drop processes, bounded waits and checks.
//!
//! # Layout
//! - [`process`]: one child process with its log file, killed by PID on drop.
//! - [`binary`]: where this build's binaries are; which store the tests run against.
//! - [`store`]: a store cluster (skiff-store or etcd) and who leads it.
//! - [`cluster`]: a whole skiff cluster (store, apiservers, controllers, nodelets).
//! - [`containers`]: killing the container processes a nodelet left behind.
//! - [`wait`]: bounded polling and step markers.
//! - [`up`]: clusters started by the real `skiff up`, and command lines run against them.
//! - [`http`]: plain GETs of `/metrics` and `/health`.
//! - [`prometheus`]: a strict reader of Prometheus' text format, for `/metrics` answers.

pub mod binary;
pub mod cluster;
pub mod containers;
mod error;
pub mod http;
pub mod process;
pub mod prometheus;
pub mod sandbox_net;
pub mod store;
pub mod up;
pub mod wait;

pub use cluster::{ClusterSpec, NodeletSpec, TestCluster};
pub use error::{free_port, LaunchError};
pub use wait::{step, wait_for, within};
