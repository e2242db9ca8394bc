//! Operating the store of a `skiff up` cluster as its README says, with the real etcdctl and
//! the cluster's own certificates (`DIR/pki`): replacing a dead member.
//!
//! Needs the binaries (`cargo build --workspace --bins`), etcdctl 3.4 and flock on PATH.

#[path = "store_ops/util.rs"]
mod util;

#[path = "store_ops/replace_member.rs"]
mod replace_member;
