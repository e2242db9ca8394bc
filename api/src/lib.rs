//! skiff-api: the API model every skiff component shares (kube-rs's `kube-core`): the kinds,
//! their decoding, defaulting and validation, and the syntax of labels, selectors, schedules
//! and quantities. It holds no client: that is `skiff-client`, and the controllers' machinery
//! (informers, work queues, leader election, events) is `skiff-runtime`.
//!
//! # Features
//! - `grpc`: the `tonic::Status` form of [`error::ApiError`], shared by the apiserver and the
//!   client so both read and write errors with one mapping.
//!
//! # Layout
//! - [`meta`]: object metadata, times, owner references, conditions.
//! - [`types`]: the kinds (Pod, Node, ReplicaSet, Job, ...) and the [`types::Resource`] trait.
//! - [`kinds`]: the registry of kinds: names, apiVersions, scope, subresources.
//! - [`decode`]: strict decoding of manifests with field paths and suggestions.
//! - [`defaults`], [`validation`]: what the server fills in, and what it refuses.
//! - [`admit`]: the entry points the apiserver calls on create, update and status update.
//! - [`error`]: Kubernetes-style API errors, their Status JSON and (feature `grpc`) gRPC form.
//! - [`labels`], [`selector`], [`fields`], [`cron`], [`quantity`]: syntax of labels, label and
//!   field selectors, schedules and resource quantities.
//! - [`manifest`]: reading YAML/JSON manifests with several documents.
//! - [`patch`]: JSON, merge and strategic merge patches.
//! - [`table`]: the columns of `get`, and the `meta.k8s.io/v1` Table the apiserver prints.
//! - [`openapi`]: the OpenAPI v2 and v3 documents of every kind (`kubectl explain`).
pub mod admit;
pub mod cron;
pub mod decode;
pub mod defaults;
pub mod error;
pub mod fields;
pub mod kinds;
pub mod labels;
pub mod manifest;
pub mod meta;
pub mod openapi;
pub mod patch;
pub mod quantity;
pub mod selector;
pub mod table;
pub mod types;
pub mod validation;
