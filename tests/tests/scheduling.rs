//! Scheduling scenarios against a real cluster (3 store members, an apiserver, two
//! leader-elected schedulers, two nodes, one labelled disk=ssd): node selectors, pods that fit
//! nowhere and are placed once a node is labelled, spreading a controller's pods, failover to
//! the standby scheduler, throughput with hollow nodes, and a short density run on 10 hollow nodes.

#[path = "scheduling/util.rs"]
mod util;

#[path = "scheduling/placement.rs"]
mod placement;

#[path = "scheduling/unschedulable.rs"]
mod unschedulable;

#[path = "scheduling/failover.rs"]
mod failover;

#[path = "scheduling/throughput.rs"]
mod throughput;

#[path = "scheduling/density.rs"]
mod density;
