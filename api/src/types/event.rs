//! Events: a record that something happened to an object, shown by `describe` and `get events`.
//!
//! Accepted but not acted on: `action`, `reportingComponent`, `reportingInstance`, `eventTime`
//! (kept and shown, not interpreted).

use serde::{Deserialize, Serialize};

use super::resource;
use crate::meta::{is_default, MicroTime, ObjectReference, Time};

resource! {
    /// `Liveness probe failed: HTTP probe failed with statuscode: 500`, with where it came from
    /// and how often it happened. Events expire (default one hour).
    pub struct Event("v1", "Event", "events", namespaced: true) {
        pub involved_object: ObjectReference,
        /// A short CamelCase reason (`Unhealthy`, `Killing`, `SuccessfulCreate`).
        #[serde(skip_serializing_if = "String::is_empty")]
        pub reason: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        pub message: String,
        #[serde(skip_serializing_if = "is_default")]
        pub source: EventSource,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub first_timestamp: Option<Time>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub last_timestamp: Option<Time>,
        /// How many times this event was seen (repeats are folded into one object).
        #[serde(skip_serializing_if = "is_default")]
        pub count: i32,
        /// `Normal` or `Warning`.
        #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
        pub type_: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub event_time: Option<MicroTime>,
        #[serde(skip_serializing_if = "String::is_empty")]
        pub action: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        pub reporting_component: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        pub reporting_instance: String,
    }
}

/// The values of an event's `type`.
pub const EVENT_TYPES: [&str; 2] = ["Normal", "Warning"];

/// The component (and node) that reported an event.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EventSource {
    /// `kubelet`, `replication-controller`, `default-scheduler`, ...
    #[serde(skip_serializing_if = "String::is_empty")]
    pub component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
}
