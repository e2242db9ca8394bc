//! End-to-end scenarios of pods in sandboxes (namespaces, the pod network, cgroups):
//! real store members, an apiserver and nodelets running as root with `--sandbox
//! namespaces`. Each cluster gets its own pod range and bridge names, and removes what
//! it made when it ends, even on failure.
//!
//! Needs root and the binaries: `cargo build --workspace --bins`.

#[path = "sandbox/exec.rs"]
mod exec;
#[path = "sandbox/isolation.rs"]
mod isolation;
#[path = "sandbox/limits.rs"]
mod limits;
#[path = "sandbox/network.rs"]
mod network;
#[path = "sandbox/util.rs"]
mod sandbox_util;
// Shared with the pod scenarios; not every helper is used here.
#[allow(dead_code)]
#[path = "pods/util.rs"]
mod util;
