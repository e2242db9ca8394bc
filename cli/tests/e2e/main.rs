//! End-to-end tests of `skiff`: each test starts a real cluster with `skiff up` in a temporary
//! directory and drives the real `skiff` binary against it.
//!
//! The component binaries must be built next to `skiff` first:
//! `cargo build --workspace --bins && cargo nextest run -p skiff-cli`.

mod changes;
mod heal;
mod lifecycle;
mod logs;
mod objects;
mod security;
mod supervisor;
mod util;
