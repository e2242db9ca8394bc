//! skiff-api: the API model every skiff component shares.
//!
//! # Layout
//! - [`meta`]: object metadata, times, owner references, conditions.
//! - [`types`]: the kinds (Pod, Node, ReplicaSet, Job, ...) and the [`types::Resource`] trait.
//! - [`kinds`]: the registry of kinds: names, apiVersions, scope, subresources.
//! - [`decode`]: strict decoding of manifests with field paths and suggestions.
//! - [`defaults`], [`validation`]: what the server fills in, and what it refuses.
//! - [`admit`]: the entry points the apiserver calls on create, update and status update.
//! - [`error`]: Kubernetes-style API errors and their gRPC form.
//! - [`labels`], [`selector`], [`cron`], [`quantity`]: syntax of labels, selectors, schedules
//!   and resource quantities.
//! - [`client`]: the typed async client (several apiservers with failover, bearer token).
//! - [`informer`]: list+watch caches with event handlers and resync.
//! - [`workqueue`]: deduplicating, rate-limited work queues for controllers.
//! - [`leader`]: leader election over a Lease.
pub mod admit;
pub mod client;
pub mod cron;
pub mod decode;
pub mod defaults;
pub mod error;
pub mod events;
pub mod fields;
pub mod informer;
pub mod kinds;
pub mod labels;
pub mod leader;
pub mod manifest;
pub mod meta;
pub mod quantity;
pub mod selector;
pub mod types;
pub mod validation;
pub mod workqueue;
