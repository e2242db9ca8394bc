//! Scenario tests against real skiff-store member processes on loopback.

mod bad_input;
mod consistency;
mod durability;
mod etcdctl;
mod failover;
mod snapshot;
mod tls;
mod util;
mod watch;
