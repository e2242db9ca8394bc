//! The end-to-end test harness: starts a whole skiff cluster of real
//! processes (store members, apiservers, scheduler, controller-managers,
//! nodelets) on free loopback ports, and kills every one of them by PID when
//! the test ends, pass or fail.
//!
//! # Layout
//! - [`cluster`]: [`cluster::TestCluster`], its spec, and the components it runs.
//! - [`containers`]: killing the container processes a nodelet left behind.
//! - [`process`]: one child process with its log file and a kill-on-drop guard.
//! - [`wait`]: bounded polling for conditions.

pub mod cluster;
pub mod containers;
pub mod process;
pub mod wait;

pub use cluster::{ClusterSpec, NodeletSpec, TestCluster};
pub use wait::{step, wait_for};
