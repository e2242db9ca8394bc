//! End-to-end checks of the cluster's TLS and client certificates: who may reach the
//! nodelets' log service, and that every client of the apiserver checks its certificate
//! against the cluster CA.
//!
//! Needs the binaries: `cargo build --workspace --bins`.

#[path = "security/apiserver_cert.rs"]
mod apiserver_cert;
#[path = "security/nodelet_logs.rs"]
mod nodelet_logs;
