//! End-to-end scenarios of pods on nodelets: real store members, an apiserver and nodelets
//! running containers as processes. Pods are bound to nodes directly (spec.nodeName), so
//! no scheduler is involved.
//!
//! Needs the binaries: `cargo build -p skiff-store -p skiff-apiserver -p skiff-nodelet`.

#[path = "pods/bench.rs"]
mod bench;
#[path = "pods/deletion.rs"]
mod deletion;
#[path = "pods/lifecycle.rs"]
mod lifecycle;
#[path = "pods/logs.rs"]
mod logs;
#[path = "pods/node.rs"]
mod node;
#[path = "pods/probes.rs"]
mod probes;
#[path = "pods/restart.rs"]
mod restart;
#[path = "pods/util.rs"]
mod util;
