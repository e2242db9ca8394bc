//! The steps of a trace, free of I/O: what each revision of an object and each occurrence of an event says happened, and the timeline text.
//!
//! A revision's time and writer are its last managedFields entry (the apiserver records each
//! write's writer last, with milliseconds). An event that happened several times is one
//! object whose `count` grows, so each of its revisions is one occurrence.

use chrono::DateTime;
use serde_json::Value;
use skiff_client::history::{History, Revision};

use crate::history::diff::{diff, Change};
use crate::history::writer_of;

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Unix milliseconds; `None` when the store kept no time (a deletion).
    pub time: Option<i64>,
    /// The store revision, which orders steps whose times tie or are unknown.
    pub revision: i64,
    /// `pod/web-x7k2p`
    pub object: String,
    pub what: String,
    /// The writer (manager) or, for events, the reporting component.
    pub by: String,
}

/// Unix milliseconds of an RFC 3339 time.
pub fn millis(time: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The steps an object's history tells: created, scheduled, containers started, killed and
/// restarted, phase changes, deletion requested, deleted; other writes as the fields changed.
pub fn object_steps(object: &str, history: &History) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, r) in history.revisions.iter().enumerate() {
        let (by, time) = writer_of(r);
        let before = i.checked_sub(1).map(|j| &history.revisions[j]);
        let what = match before {
            _ if r.deleted => "deleted from the store".to_string(),
            None if r.revision < history.compacted_revision => {
                "as it stood when older history was compacted".to_string()
            }
            None => "created".to_string(),
            Some(b) if b.deleted => "created".to_string(),
            Some(b) => describe(&diff(&b.object, &r.object), &r.object),
        };
        steps.push(Step {
            time: millis(&time),
            revision: r.revision,
            object: object.to_string(),
            what,
            by,
        });
    }
    steps
}

/// A readable account of one write's changes.
fn describe(changes: &[Change], after: &Value) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut other: Vec<&str> = Vec::new();
    for c in changes {
        let p = c.path.as_str();
        let now = c.after.as_ref().map(|v| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        });
        if p == "spec.nodeName" {
            said.push(format!("scheduled to {}", now.unwrap_or_default()));
        } else if p == "metadata.deletionTimestamp" && c.after.is_some() {
            said.push("deletion requested".to_string());
        } else if p == "status.phase" {
            said.push(format!("phase {}", now.unwrap_or_default()));
        } else if let Some(rest) = p.strip_prefix("status.containerStatuses[") {
            let Some((index, field)) = rest.split_once("].") else {
                other.push(p);
                continue;
            };
            let name = str_at(after, &format!("/status/containerStatuses/{index}/name"));
            match field {
                "state.running.startedAt" if c.after.is_some() => {
                    said.push(format!("container {name} started"))
                }
                "state.terminated.reason" if c.after.is_some() => said.push(format!(
                    "container {name} terminated ({})",
                    now.unwrap_or_default()
                )),
                "restartCount" => said.push(format!(
                    "container {name} restarted (restart count {})",
                    now.unwrap_or_default()
                )),
                "ready" => said.push(format!(
                    "container {name} ready={}",
                    now.unwrap_or_else(|| "false".into())
                )),
                "state.waiting.reason" if c.after.is_some() => said.push(format!(
                    "container {name} waiting ({})",
                    now.unwrap_or_default()
                )),
                _ => {}
            }
        } else if let Some(index) = p
            .strip_prefix("status.conditions[")
            .and_then(|r| r.strip_suffix("].status"))
        {
            let at = |f: &str| str_at(after, &format!("/status/conditions/{index}/{f}"));
            let reason = match at("reason") {
                "" => String::new(),
                r => format!(" ({r})"),
            };
            said.push(format!("{}={}{reason}", at("type"), at("status")));
        } else if p.starts_with("status.conditions") || p.starts_with("status.podIP") {
            // Follows from the changes above; the object's history shows them in full.
        } else {
            other.push(p);
        }
    }
    if !other.is_empty() {
        let shown: Vec<&str> = other.iter().take(3).copied().collect();
        let more = other.len().saturating_sub(3);
        said.push(if more > 0 {
            format!("changed {} (+{more} more)", shown.join(", "))
        } else {
            format!("changed {}", shown.join(", "))
        });
    }
    if said.is_empty() {
        "status refreshed".to_string()
    } else {
        said.join("; ")
    }
}

/// The short name a trace gives a kind (`ReplicationController` -> `rc`).
pub fn short_kind(kind: &str) -> String {
    match kind {
        "ReplicationController" => "rc".into(),
        "ReplicaSet" => "rs".into(),
        "DaemonSet" => "ds".into(),
        "CronJob" => "cj".into(),
        other => other.to_lowercase(),
    }
}

/// The occurrences of one event: one step per revision that created it or raised its count.
pub fn event_steps(event: &Value, history: Option<&History>) -> Vec<Step> {
    let reason = str_at(event, "/reason");
    let message = str_at(event, "/message");
    let object = format!(
        "{}/{}",
        short_kind(str_at(event, "/involvedObject/kind")),
        str_at(event, "/involvedObject/name")
    );
    let by = match str_at(event, "/source/component") {
        "" => str_at(event, "/reportingComponent").to_string(),
        c => c.to_string(),
    };
    let step = |time: Option<i64>, revision: i64, message: &str| Step {
        time,
        revision,
        object: object.clone(),
        what: format!("{reason}: {message}"),
        by: by.clone(),
    };
    let occurrences: Vec<&Revision> = history
        .map(|h| {
            let mut last_count = 0;
            h.revisions
                .iter()
                .filter(|r| !r.deleted)
                .filter(|r| {
                    let count = r.object.get("count").and_then(Value::as_i64).unwrap_or(1);
                    let new = count > last_count;
                    last_count = count;
                    new
                })
                .collect()
        })
        .unwrap_or_default();
    if occurrences.is_empty() {
        // No history left (compacted): the event's own timestamp, to the second.
        let time = ["/lastTimestamp", "/firstTimestamp", "/eventTime"]
            .iter()
            .find_map(|p| event.pointer(p).and_then(Value::as_str).and_then(millis));
        let revision = str_at(event, "/metadata/resourceVersion")
            .parse()
            .unwrap_or(0);
        return vec![step(time, revision, message)];
    }
    occurrences
        .into_iter()
        .map(|r| {
            let (_, time) = writer_of(r);
            step(millis(&time), r.revision, str_at(&r.object, "/message"))
        })
        .collect()
}

/// Orders steps by time (a step without one goes right after the revision before it) and
/// renders them with millisecond offsets from the first.
pub fn timeline(mut steps: Vec<Step>) -> String {
    steps.sort_by_key(|s| s.revision);
    // A deletion's time is not kept: it is no earlier than the step written before it.
    let mut last = None;
    for s in steps.iter_mut() {
        match s.time {
            Some(t) => last = Some(t),
            None => s.time = last,
        }
    }
    steps.sort_by_key(|s| (s.time.unwrap_or(i64::MAX), s.revision));
    let Some(start) = steps.iter().find_map(|s| s.time) else {
        return String::new();
    };
    let rows: Vec<[String; 4]> = steps
        .iter()
        .map(|s| {
            [
                format!("+{}ms", s.time.unwrap_or(start) - start),
                s.object.clone(),
                s.by.clone(),
                s.what.clone(),
            ]
        })
        .collect();
    let width = |c: usize| rows.iter().map(|r| r[c].len()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    rows.iter()
        .map(|r| format!("{:>w0$}  {:<w1$}  {:<w2$}  {}\n", r[0], r[1], r[2], r[3]))
        .collect()
}
