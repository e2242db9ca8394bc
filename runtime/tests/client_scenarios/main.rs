//! Scenarios for the client, informer and leader election against in-memory fake apiservers served over real gRPC.

mod crud;
mod failover;
mod fake;
mod informer;
mod leader;
mod util;

pub use fake::{FakeServer, Shared};
pub use util::*;
