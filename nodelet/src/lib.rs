//! skiff-nodelet: the node agent, and the node-local layer it runs pods' containers with.
//!
//! # Layout
//!
//! The agent (talks to the apiserver):
//! - [`agent`]: flags, Node registration and status, the Lease heartbeat, the NodeLogs
//!   gRPC service, and [`agent::run`] wiring it all.
//! - [`pod`]: one worker per pod bound to the node; pure decisions (container steps, pod
//!   phase and conditions, back-off) and the shell that carries them out.
//! - [`backend`]: the process runtime or the hollow one (`--runtime fake`).
//! - [`metrics`]: Prometheus metrics and health.
//!
//! The node-local layer (knows nothing about the API server: plain specs in, plain
//! statuses out):
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

pub mod agent;
pub mod backend;
pub mod images;
pub mod internal;
pub mod ipam;
pub mod logs;
pub mod metrics;
pub mod pod;
pub mod probe;
pub mod runtime;
pub mod sandbox;
