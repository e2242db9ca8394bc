//! Scenario tests against real skiff-store member processes on loopback.

mod backup;
mod bad_input;
mod consistency;
mod durability;
mod etcdctl;
mod failover;
mod fence;
mod grow;
mod maintenance;
mod membership;
mod snapshot;
mod tls;
mod util;
mod watch;
