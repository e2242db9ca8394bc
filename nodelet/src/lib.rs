//! skiff-nodelet's node-local layer: runs pods' containers as supervised OS processes.
//!
//! This crate knows nothing about the API server: it takes plain specs and reports plain
//! statuses, and the node agent builds pod lifecycles on top of it.
//!
//! # Layout
//!
//! - [`runtime`]: starts each container under its own supervisor process (the
//!   `supervise` subcommand of this binary), stops, kills, waits for and inspects
//!   containers, and re-adopts them after a nodelet restart. All state is on disk.
//! - [`images`]: the image catalog (built-in stand-ins for the book's images, `busybox`,
//!   a user catalog file) and Kubernetes `command`/`args` resolution; the stand-ins run
//!   as the `image NAME` subcommand of this binary.
//! - [`probe`]: single httpGet / tcpSocket / exec probe attempts, and the prober that
//!   schedules them and applies the thresholds.
//! - [`logs`]: container log files: the capped writer, reading whole or by tail, and
//!   following.
//! - [`ipam`]: one loopback IP per pod, persisted across restarts.

pub mod images;
pub mod ipam;
pub mod logs;
pub mod probe;
pub mod runtime;
