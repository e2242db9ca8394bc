//! skiff-bench: a load generator for any etcd v3 endpoint set, a runner that measures etcd
//! and skiff-store clusters side by side, and the benchmarks of skiff-apiserver and
//! skiff-scheduler (kept here so no server carries benchmark code).
//!
//! # Layout
//! - [`cli`]: the command-line flags and their parsing; [`commands`] runs one.
//! - [`stats`]: latency summaries (percentiles) and throughput.
//! - [`load`]: the `put` and `range` load generators over shared HTTP/2 connections.
//! - [`cluster`]: launches a 3-member cluster of an etcd-compatible binary on loopback,
//!   with a guard that kills every process by PID.
//! - [`probe`]: talks to members (Maintenance.Status, leader discovery).
//! - [`failover`]: SIGKILLs the leader under a continuous writer and times recovery.
//! - [`rss`]: resident memory of idle members.
//! - [`compare`]: runs everything against two binaries and renders a markdown report.
//! - [`ops`]: `skiff-bench ops`, learner add + promote and snapshot save/restore
//!   throughput, etcd and skiff-store side by side.
//! - [`machine`]: describes the machine a report was measured on.
//! - [`apiserver`]: `skiff-bench apiserver`, create latency and watch fan-out of
//!   skiff-apiserver, against a running apiserver or a throw-away local cluster.
//! - [`tls`]: the clients' TLS files (etcdctl's `--cacert --cert --key` towards the store,
//!   the cluster CA towards apiservers).
//! - [`rest`]: `skiff-bench rest`, the apiserver's REST API against its gRPC API on one
//!   TLS cluster: create latency, watch fan-out lag, listing pods as a Table.
//! - [`tls_bench`]: `skiff-bench tls`, store puts in plain text and with TLS and client
//!   certificates, etcd and skiff-store side by side.
//! - [`scheduler`]: `skiff-bench scheduler`, scheduling throughput with hollow nodes,
//!   in-process or against a live cluster.
//! - [`density`]: `skiff-bench density`, a whole cluster with hollow nodes filled with pods:
//!   startup latency, API latency, resources per component, garbage collection time.

pub mod apiserver;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod compare;
pub mod density;
pub mod error;
pub mod failover;
pub mod load;
pub mod machine;
pub mod ops;
pub mod probe;
pub mod rest;
pub mod rss;
pub mod scheduler;
pub mod stats;
pub mod tls;
pub mod tls_bench;

pub use error::BenchError;
