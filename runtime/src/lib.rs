//! skiff-runtime: the machinery every controller-style component builds on (kube-rs's
//! `kube-runtime`), over the [`skiff_client::Client`].
//!
//! # Layout
//! - [`informer`]: list+watch caches with event handlers and resync.
//! - [`workqueue`]: deduplicating, rate-limited work queues for controllers.
//! - [`leader`]: leader election over a Lease.
//! - [`events`]: the event recorder (fire-and-forget, repeats folded into one Event).
//!
//! Its scenario tests (`tests/client_scenarios`) run the client, informers and leader
//! election against in-memory fake apiservers served over real gRPC.
pub mod events;
pub mod informer;
pub mod leader;
pub mod workqueue;
