//! Readable field diffs between two revisions of an object: `spec.nodeName: "" -> node-1`.
//!
//! Objects are flattened to their leaves (`status.containerStatuses[0].restartCount`); a leaf
//! present on one side only is shown on the other as its type's zero value (`""`, `0`,
//! `false`), since skiff leaves empty fields out of stored objects. The resourceVersion and
//! managedFields change on every write and say nothing about the change, so they are left out.

use std::collections::BTreeMap;

use serde_json::Value;

/// Fields that change with every write.
const BOOKKEEPING: [&str; 2] = ["metadata.resourceVersion", "metadata.managedFields"];

/// One changed leaf.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let other = |v: &Option<Value>| v.clone().unwrap_or(Value::Null);
        let before = show(self.before.as_ref(), &other(&self.after));
        let after = show(self.after.as_ref(), &other(&self.before));
        write!(f, "{}: {before} -> {after}", self.path)
    }
}

/// The leaves that differ between `before` and `after`, in path order.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten(before, String::new(), &mut a);
    flatten(after, String::new(), &mut b);
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| differ(a.get(*p), b.get(*p)))
        .map(|p| Change {
            path: p.clone(),
            before: a.get(p).cloned(),
            after: b.get(p).cloned(),
        })
        .collect()
}

/// Whether two leaves differ; an absent leaf equals the zero value of the other's type.
fn differ(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x != y,
        (Some(v), None) | (None, Some(v)) => !is_zero(v),
        (None, None) => false,
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn flatten(value: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    if BOOKKEEPING.contains(&path.as_str()) {
        return;
    }
    // An empty object or list is no leaf: skiff leaves empty fields out, so `{}` and absent
    // are the same.
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                flatten(v, join(&path, key), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{path}[{i}]"), out);
            }
        }
        leaf => {
            out.insert(path, leaf.clone());
        }
    }
}

/// `a.b`, or `a["app.kubernetes.io/name"]` for keys that are not plain names.
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

/// A value as the diff shows it; an absent one as the zero value of `other`'s type.
fn show(value: Option<&Value>, other: &Value) -> String {
    let value = match value {
        Some(v) => v.clone(),
        None => match other {
            Value::Number(_) => Value::from(0),
            Value::Bool(_) => Value::Bool(false),
            Value::Array(_) => Value::Array(Vec::new()),
            Value::Object(_) => Value::Object(Default::default()),
            _ => Value::String(String::new()),
        },
    };
    match &value {
        Value::String(s)
            if !s.is_empty()
                && !s.contains(|c: char| c.is_whitespace() || c == '"' || c == ':') =>
        {
            s.clone()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(before: Value, after: Value) -> Vec<String> {
        diff(&before, &after)
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn fields_set_changed_and_removed() {
        let before = json!({"metadata": {"name": "p", "resourceVersion": "5", "managedFields": [{"manager": "a"}]},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "ready": true}]}});
        let after = json!({"metadata": {"name": "p", "resourceVersion": "9", "managedFields": [{"manager": "b"}],
            "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"containers": [{"name": "c"}], "nodeName": "node-1"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": 1}]}});
        assert_eq!(
            lines(before, after),
            vec![
                r#"metadata.labels["app.kubernetes.io/name"]: "" -> web"#,
                r#"spec.nodeName: "" -> node-1"#,
                "status.containerStatuses[0].ready: true -> false",
                "status.containerStatuses[0].restartCount: 0 -> 1",
                "status.phase: Pending -> Running",
            ]
        );
    }

    #[test]
    fn an_unchanged_object_has_no_diff_and_odd_strings_are_quoted() {
        let obj = json!({"a": [1, 2], "b": {}});
        assert!(diff(&obj, &obj).is_empty());
        // Absent and zero are the same (skiff leaves zero values out).
        assert!(diff(&json!({"n": 0, "s": "", "f": false}), &json!({})).is_empty());
        assert_eq!(
            lines(json!({"m": "x"}), json!({"m": "back-off 10s: restarting"})),
            vec![r#"m: x -> "back-off 10s: restarting""#]
        );
    }
}
