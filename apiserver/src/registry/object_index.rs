//! The parts of an object that selectors look at, extracted once per object.
//!
//! The watch cache keeps one index per cached object and one per object in its event windows:
//! tens of thousands at 10 000 pods. So an index keeps its strings back to back in one
//! allocation. A map of labels plus a vector of owned field values cost about 1 KB per pod
//! (a B-tree leaf alone is over 500 bytes); this costs about 200 bytes.

use std::borrow::Cow;

use serde_json::Value;
use skiff_api::kinds::KindInfo;

/// An object's namespace, name, labels and selectable field values.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectIndex {
    /// The namespace, the name, each label's key and value (sorted by key), then the value of
    /// each of `fields`, back to back.
    text: Box<str>,
    /// Where each string of `text` ends.
    ends: Box<[u32]>,
    labels: u32,
    /// The kind's selectable fields besides metadata.name and metadata.namespace.
    fields: &'static [&'static str],
}

impl ObjectIndex {
    pub fn of(info: &KindInfo, object: &Value) -> ObjectIndex {
        let meta = object.get("metadata");
        let meta_str = |f: &str| {
            meta.and_then(|m| m.get(f))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let mut labels: Vec<(&str, &str)> = meta
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort_unstable();
        let fields = super::filter::kind_fields(info);
        let values: Vec<Cow<str>> = fields.iter().map(|f| field_value(object, f)).collect();
        let parts = [meta_str("namespace"), meta_str("name")]
            .into_iter()
            .chain(labels.iter().flat_map(|(key, value)| [*key, *value]))
            .chain(values.iter().map(|v| v.as_ref()));

        // Sized exactly up front: growing by doubling would leave a trail of freed small
        // chunks behind every cached object.
        let mut text = String::with_capacity(parts.clone().map(str::len).sum());
        let mut ends = Vec::with_capacity(2 + 2 * labels.len() + fields.len());
        for part in parts {
            text.push_str(part);
            // An object is far smaller than 4 GiB (the apiserver refuses large bodies); a
            // saturated end only makes a lookup answer empty.
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        ObjectIndex {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            labels: u32::try_from(labels.len()).unwrap_or(u32::MAX),
            fields,
        }
    }

    /// The `i`th string of `text`; empty if there is none.
    fn string(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).copied().unwrap_or(0) as usize,
        };
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        self.text.get(start..end).unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        self.string(0)
    }

    pub fn name(&self) -> &str {
        self.string(1)
    }

    /// A label's value.
    pub fn label(&self, key: &str) -> Option<&str> {
        (0..self.labels as usize)
            .find(|i| self.string(2 + 2 * i) == key)
            .map(|i| self.string(3 + 2 * i))
    }

    /// A selectable field's value (missing fields are the empty string); `None` for a field
    /// the kind does not select on.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "metadata.name" => Some(self.name()),
            "metadata.namespace" => Some(self.namespace()),
            _ => {
                let first = 2 + 2 * self.labels as usize;
                self.fields
                    .iter()
                    .position(|f| *f == name)
                    .map(|i| self.string(first + i))
            }
        }
    }
}

/// A field's value as a field selector compares it: strings as is, numbers and booleans in
/// their JSON form, missing as empty. `source` of an event means its `source.component`.
fn field_value<'a>(object: &'a Value, field: &str) -> Cow<'a, str> {
    let path = if field == "source" {
        "source.component"
    } else {
        field
    };
    let mut cur = object;
    for part in path.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => return Cow::Borrowed(""),
        }
    }
    match cur {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        Value::Number(n) => Cow::Owned(n.to_string()),
        _ => Cow::Borrowed(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skiff_api::kinds::by_plural;

    #[test]
    fn every_part_reads_back() {
        let pods = by_plural("pods").unwrap();
        let pod = json!({"metadata": {"name": "web-1", "namespace": "shop",
                                      "labels": {"tier": "web", "app": "crane", "n": 3}},
                         "spec": {"nodeName": "n1", "restartPolicy": "Always"},
                         "status": {"phase": "Running"}});
        let idx = ObjectIndex::of(pods, &pod);
        assert_eq!(idx.namespace(), "shop");
        assert_eq!(idx.name(), "web-1");
        assert_eq!(idx.label("app"), Some("crane"));
        assert_eq!(idx.label("tier"), Some("web"));
        // Only string labels are labels.
        assert_eq!(idx.label("n"), None);
        assert_eq!(idx.label("web"), None);
        assert_eq!(idx.field("metadata.name"), Some("web-1"));
        assert_eq!(idx.field("spec.nodeName"), Some("n1"));
        assert_eq!(idx.field("status.phase"), Some("Running"));
        assert_eq!(idx.field("spec.schedulerName"), Some(""));
        assert_eq!(idx.field("spec.host"), None);
    }

    #[test]
    fn an_object_without_metadata_has_empty_parts() {
        let nodes = by_plural("nodes").unwrap();
        let idx = ObjectIndex::of(nodes, &json!({"spec": {"unschedulable": true}}));
        assert_eq!((idx.namespace(), idx.name()), ("", ""));
        assert_eq!(idx.field("spec.unschedulable"), Some("true"));
        assert_eq!(idx.label("app"), None);
    }

    #[test]
    fn the_same_labels_in_another_order_make_the_same_index() {
        let rcs = by_plural("replicationcontrollers").unwrap();
        let a = json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}});
        let b = json!({"metadata": {"name": "x", "labels": {"b": "2", "a": "1"}}});
        assert_eq!(ObjectIndex::of(rcs, &a), ObjectIndex::of(rcs, &b));
    }
}
