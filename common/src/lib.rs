//! What every skiff server process shares.
//!
//! # Layout
//! - [`duration`]: `10s`-style durations for flags.
//! - [`logging`]: tracing to stderr, human-readable or JSON.
//! - [`shutdown`]: one cancellation token, cancelled by SIGTERM or Ctrl-C.
//! - [`metrics`]: Prometheus text written at scrape time.
//! - [`http`]: the plain-HTTP `/metrics` (Prometheus) and `/health` endpoint.
//! - [`ports`]: free loopback ports, chosen outside the kernel's ephemeral range.

pub mod duration;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod ports;
pub mod shutdown;
