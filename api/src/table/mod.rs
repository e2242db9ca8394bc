//! Server-side printing: the columns of `get` for every kind, shared by `skiff get` and the
//! apiserver's `meta.k8s.io/v1` Table (`kubectl get`), so both print the same thing.
//!
//! [`headers`] and [`row`] give kubectl's columns per kind; [`to_table`] wraps them in a
//! Table with column definitions, `-o wide` columns at priority 1.

pub mod age;
pub mod cluster;
pub mod pods;
pub mod workloads;

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::types::{
    CronJob, DaemonSet, Event, Job, Lease, Namespace, Node, Pod, ReplicaSet, ReplicationController,
};
use age::Clock;

fn decode<T: DeserializeOwned>(kind: &str, item: &Value) -> Result<T, ApiError> {
    serde_json::from_value(item.clone())
        .map_err(|e| ApiError::bad_request(format!("cannot read a {kind} from the apiserver: {e}")))
}

/// The column headers of `kind`, as kubectl prints them (`NAME`, `READY`...); `wide` adds the
/// `-o wide` columns.
pub fn headers(kind: &str, wide: bool) -> Vec<&'static str> {
    let mut headers: Vec<&'static str> = match kind {
        "Pod" => pods::HEADERS.to_vec(),
        "ReplicationController" | "ReplicaSet" => workloads::RC_HEADERS.to_vec(),
        "DaemonSet" => workloads::DS_HEADERS.to_vec(),
        "Job" => workloads::JOB_HEADERS.to_vec(),
        "CronJob" => workloads::CRONJOB_HEADERS.to_vec(),
        "Node" => cluster::NODE_HEADERS.to_vec(),
        "Namespace" => cluster::NAMESPACE_HEADERS.to_vec(),
        "Event" if wide => return cluster::EVENT_WIDE_HEADERS.to_vec(),
        "Event" => cluster::EVENT_HEADERS.to_vec(),
        "Lease" => cluster::LEASE_HEADERS.to_vec(),
        _ => vec!["NAME", "AGE"],
    };
    if wide {
        match kind {
            "Pod" => headers.extend(pods::WIDE_HEADERS),
            "ReplicationController" | "ReplicaSet" | "DaemonSet" | "Job" | "CronJob" => {
                headers.extend(workloads::WIDE_HEADERS)
            }
            "Node" => headers.extend(cluster::NODE_WIDE_HEADERS),
            _ => {}
        }
    }
    headers
}

/// The cells of one object of `kind`, under [`headers`]`(kind, wide)`; an object that is not
/// a valid `kind` is an error whose message says so.
pub fn row(kind: &str, item: &Value, wide: bool, clock: &Clock) -> Result<Vec<String>, ApiError> {
    Ok(match kind {
        "Pod" => pods::row(&decode::<Pod>(kind, item)?, wide, clock),
        "ReplicationController" => {
            workloads::rc_row(&decode::<ReplicationController>(kind, item)?, wide, clock)
        }
        "ReplicaSet" => workloads::rs_row(&decode::<ReplicaSet>(kind, item)?, wide, clock),
        "DaemonSet" => workloads::ds_row(&decode::<DaemonSet>(kind, item)?, wide, clock),
        "Job" => workloads::job_row(&decode::<Job>(kind, item)?, wide, clock),
        "CronJob" => workloads::cronjob_row(&decode::<CronJob>(kind, item)?, wide, clock),
        "Node" => cluster::node_row(&decode::<Node>(kind, item)?, wide, clock),
        "Namespace" => cluster::namespace_row(&decode::<Namespace>(kind, item)?, clock),
        "Event" => cluster::event_row(&decode::<Event>(kind, item)?, wide, clock),
        "Lease" => cluster::lease_row(&decode::<Lease>(kind, item)?, clock),
        _ => name_and_age(item, clock),
    })
}

/// NAME and AGE, for a kind without columns of its own (or an object that cannot be read).
fn name_and_age(item: &Value, clock: &Clock) -> Vec<String> {
    let meta = |f: &str| item.pointer(&format!("/metadata/{f}")).cloned();
    let created = meta("creationTimestamp").and_then(|v| serde_json::from_value(v).ok());
    vec![
        meta("name")
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        clock.since(created.as_ref()),
    ]
}

/// A `meta.k8s.io/v1` Table of `objects` (all of `kind`): every column `skiff get -o wide`
/// prints, the wide ones at priority 1 so kubectl shows them only with `-o wide`. Each row
/// carries the whole object when `include_object` (`?includeObject=Object`), otherwise its
/// PartialObjectMetadata (kubectl's default, which `--show-labels` and `-A` read).
pub fn to_table(kind: &str, objects: &[Value], include_object: bool) -> Value {
    let clock = Clock {
        now: Utc::now(),
        local: false,
    };
    let narrow = headers(kind, false);
    let wide = headers(kind, true);
    let columns: Vec<Value> = wide
        .iter()
        .map(|header| column(header, !narrow.contains(header)))
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut cells = row(kind, object, true, &clock).unwrap_or_default();
            if cells.len() != wide.len() {
                // An object the typed printer cannot read still gets a row: its name and
                // age, the other cells empty.
                let basic = name_and_age(object, &clock);
                cells = wide
                    .iter()
                    .map(|h| match *h {
                        "NAME" => basic[0].clone(),
                        "AGE" => basic[1].clone(),
                        _ => String::new(),
                    })
                    .collect();
            }
            let object = if include_object {
                object.clone()
            } else {
                partial_object_metadata(object)
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// The object's metadata alone, as `includeObject=Metadata` returns it.
pub fn partial_object_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A column definition: kubectl prints the name upper-cased, so `Node Selector` for
/// `NODE SELECTOR`.
fn column(header: &str, wide_only: bool) -> Value {
    let name = title_case(header);
    let (format, description) = match header {
        "NAME" => (
            "name",
            "Name must be unique within a namespace. It is required when creating resources.",
        ),
        "AGE" => (
            "",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        ),
        _ => ("", ""),
    };
    json!({
        "name": name,
        "type": "string",
        "format": format,
        "description": if description.is_empty() { format!("The {} column of kubectl get.", name) } else { description.to_string() },
        "priority": if wide_only { 1 } else { 0 },
    })
}

/// `NODE SELECTOR` -> `Node Selector`; `IP` stays `IP`.
fn title_case(header: &str) -> String {
    if header.len() <= 2 {
        return header.to_string();
    }
    header
        .split(' ')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
