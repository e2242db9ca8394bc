//! What every skiff server process shares.
//!
//! # Layout
//! - [`duration`]: durations for flags, in Go's grammar (`500ms`, `1h30m`).
//! - [`flags`]: the flags of apiserver clients and of leader election, shared by the binaries.
//! - [`logging`]: tracing to stderr, human-readable or JSON.
//! - [`shutdown`]: one cancellation token, cancelled by SIGTERM or Ctrl-C.
//! - [`metrics`]: Prometheus text written at scrape time.
//! - [`launch`]: every component's command line and ports, for `skiff up`, tests and benchmarks.
//! - [`http`]: the plain-HTTP `/metrics` (Prometheus) and `/health` endpoint.
//! - [`ports`]: free loopback ports, chosen outside the kernel's ephemeral range.
//! - [`pki`]: the cluster CA and the certificates it issues, as PEM files under `DIR/pki`.
//! - [`pki_layout`]: where each certificate of a cluster lives under `pki/`.
//! - [`tls`]: certificates checked from PEM files, TLS servers that log refused clients, TLS clients.

pub mod duration;
pub mod flags;
pub mod http;
pub mod launch;
pub mod logging;
pub mod metrics;
pub mod pki;
pub mod pki_layout;
pub mod ports;
pub mod shutdown;
pub mod tls;
