//! skiff-controller-manager: the control loops that make the cluster converge on what its objects ask for.
//!
//! Each controller follows Kubernetes' shape: shared informers cache the kinds it reads, event
//! handlers only enqueue object keys, workers take keys from a rate-limited work queue and run
//! one `sync(key)`, which reads the caches, calls a pure `reconcile` function for the decision
//! and carries out the actions it returns through the apiserver. Expectations keep a lagging
//! cache from causing duplicate creations. Only the elected leader runs controllers.
//!
//! # Layout
//! - [`manager`]: `run`: metrics endpoint, leader election, one term of controllers.
//! - [`config`] holds the flags.
//! - [`informers`], [`runner`], [`expectations`], [`claim`], [`podcontrol`], [`pods`]: the
//!   machinery controllers share.
//! - [`replica`] (with [`replication`] and [`replicaset`]), [`daemonset`], [`job`],
//!   [`cronjob`], [`nodelifecycle`], [`gc`]: one module per controller, each with a pure
//!   `reconcile` and its table tests.
//! - [`metrics`], [`clock`], [`error`], [`context`].
pub mod claim;
pub mod clock;
pub mod config;
pub mod context;
pub mod cronjob;
pub mod daemonset;
pub mod error;
pub mod expectations;
pub mod gc;
pub mod informers;
pub mod job;
pub mod manager;
pub mod metrics;
pub mod nodelifecycle;
pub mod owners;
pub mod podcontrol;
pub mod pods;
pub mod replica;
pub mod replicaset;
pub mod replication;
pub mod runner;

pub use config::{Args, Config};
pub use error::Error;
