//! Who wrote an object: the writer of the request in progress and the `metadata.managedFields` entry each write records.
//!
//! The writer travels with the request as a task-local value, set once by each wire form
//! (gRPC and REST) around its registry call, so every path that writes (create, update,
//! status, patch, bind, scale, graceful deletion) records it at the one place that encodes
//! the object for the store, without each verb passing it along. Writes the apiserver makes
//! on its own (bootstrap, namespace cleanup) record `skiff-apiserver`.

use std::future::Future;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

/// The manager of writes made by the apiserver itself.
pub const APISERVER_MANAGER: &str = "skiff-apiserver";

/// The writer of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// `managedFields[].manager`.
    pub manager: String,
    /// `status` for the status subresource, else empty.
    pub subresource: &'static str,
}

tokio::task_local! {
    static WRITER: Writer;
}

/// Runs `f` (a request's registry call) with `writer` as the writer of its writes.
pub async fn scope<F: Future>(writer: Writer, f: F) -> F::Output {
    WRITER.scope(writer, f).await
}

fn current() -> Writer {
    WRITER.try_with(Writer::clone).unwrap_or(Writer {
        manager: APISERVER_MANAGER.to_string(),
        subresource: "",
    })
}

/// The manager a request writes as, by Kubernetes' rule: the explicit field manager, else the
/// product of the user agent (`kubectl/v1.37.1 (linux/amd64)` -> `kubectl`). skiff's generic
/// client and command line (`skiff/0.1.0`) and an agent naming no product (`tonic/0.14`) write
/// as their authenticated user, so a person's writes show as `admin`, not `skiff`.
pub fn manager(field_manager: Option<&str>, user_agent: Option<&str>, user: &str) -> String {
    if let Some(m) = field_manager.map(str::trim).filter(|m| !m.is_empty()) {
        return m.chars().take(128).collect();
    }
    let product = user_agent
        .and_then(|ua| ua.split_whitespace().next())
        .map(|p| p.split('/').next().unwrap_or(p))
        .unwrap_or("");
    match product {
        "" | "skiff" | "tonic" => user.to_string(),
        p => p.chars().take(128).collect(),
    }
}

/// Now, as `managedFields[].time` holds it (RFC 3339, milliseconds, UTC).
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Gives `obj` the managedFields of `previous` (none for a create: what a client sends is
/// not trusted), so that comparing it with the stored object says whether anything else
/// changed.
pub fn carry(obj: &mut Value, previous: Option<&Value>) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    match previous.and_then(|p| p.pointer("/metadata/managedFields")) {
        Some(fields) => meta.insert("managedFields".into(), fields.clone()),
        None => meta.remove("managedFields"),
    };
}

/// Records the current writer on `obj`: its entry (one per manager, operation and
/// subresource, as in Kubernetes) gets the current time and moves to the end, so the last
/// entry always names the writer of the revision it is stored in.
pub fn stamp(obj: &mut Value) {
    let writer = current();
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let mut entries = match meta.remove("managedFields") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let same = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(writer.manager.as_str())
            && e.get("operation").and_then(Value::as_str) == Some("Update")
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == writer.subresource
    };
    entries.retain(|e| !same(e));
    let mut entry = json!({
        "manager": writer.manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": now(),
    });
    if !writer.subresource.is_empty() {
        entry["subresource"] = json!(writer.subresource);
    }
    entries.push(entry);
    meta.insert("managedFields".into(), Value::Array(entries));
}

/// The manager and time of the write that stored `obj`: its last managedFields entry.
pub fn last_write(obj: &Value) -> Option<(&str, &str)> {
    let last = obj.pointer("/metadata/managedFields")?.as_array()?.last()?;
    Some((
        last.get("manager")?.as_str()?,
        last.get("time").and_then(Value::as_str).unwrap_or(""),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_follow_kubernetes_rule() {
        let table = [
            (
                Some("kubectl-edit"),
                Some("kubectl/v1.37.1 (linux)"),
                "admin",
                "kubectl-edit",
            ),
            (
                None,
                Some("kubectl/v1.37.1 (linux/amd64)"),
                "admin",
                "kubectl",
            ),
            (
                None,
                Some("skiff-scheduler tonic/0.14.2"),
                "admin",
                "skiff-scheduler",
            ),
            (None, Some("skiff/0.1.0 tonic/0.14.2"), "admin", "admin"),
            (
                None,
                Some("tonic/0.14.2"),
                "system:node:n1",
                "system:node:n1",
            ),
            (Some("  "), None, "bob", "bob"),
        ];
        for (fm, ua, user, want) in table {
            assert_eq!(manager(fm, ua, user), want, "{fm:?} {ua:?}");
        }
    }

    #[tokio::test]
    async fn one_entry_per_manager_and_the_last_is_the_writer() {
        let mut obj = json!({"apiVersion": "v1", "metadata": {"name": "a"}});
        let as_ = |m: &str, sub| Writer {
            manager: m.into(),
            subresource: sub,
        };
        scope(as_("admin", ""), async { stamp(&mut obj) }).await;
        scope(as_("skiff-scheduler", ""), async { stamp(&mut obj) }).await;
        scope(as_("admin", ""), async { stamp(&mut obj) }).await;
        scope(as_("skiff-nodelet", "status"), async { stamp(&mut obj) }).await;
        let entries = obj["metadata"]["managedFields"].as_array().unwrap();
        let managers: Vec<_> = entries.iter().map(|e| e["manager"].clone()).collect();
        assert_eq!(
            managers,
            vec![
                json!("skiff-scheduler"),
                json!("admin"),
                json!("skiff-nodelet")
            ]
        );
        assert_eq!(entries[2]["subresource"], "status");
        assert_eq!(entries[0]["operation"], "Update");
        assert_eq!(last_write(&obj).unwrap().0, "skiff-nodelet");
        stamp(&mut obj);
        assert_eq!(last_write(&obj).unwrap().0, APISERVER_MANAGER);
        let mut fresh = json!({"metadata": {"managedFields": [{"manager": "forged"}]}});
        carry(&mut fresh, None);
        assert!(fresh["metadata"].get("managedFields").is_none());
    }
}
