//! Strategic merge patch (Kubernetes' `strategicpatch` package): a merge patch in which lists
//! named in [`super::keys`] merge element by element, with the directives `kubectl apply`,
//! `edit` and `patch` send: `$patch: replace|delete|merge`, `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`. `null` deletes a key.
//!
//! Written here because no maintained Rust crate implements it; the behaviour follows
//! k8s.io/apimachinery's `mergeMap` / `mergeSlice`, including the order of merged lists
//! (`$setElementOrder` first, then the patch's order, then the live object's).

use serde_json::{Map, Value};

use super::keys::{list_strategy, ListStrategy};
use super::type_name;
use crate::error::ApiError;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";

/// `original` with the strategic merge `patch` (a JSON object) applied.
pub(super) fn apply(kind: &str, original: &Value, patch: &Value) -> Result<Value, ApiError> {
    let original = match original {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let patch = match patch {
        Value::Object(map) => map.clone(),
        other => {
            return Err(ApiError::bad_request(format!(
                "the strategic merge patch must be an object, not {}",
                type_name(other)
            )))
        }
    };
    let mut merger = Merger {
        kind,
        path: Vec::new(),
    };
    Ok(Value::Object(merger.merge_map(original, patch)?))
}

/// One step of the path being merged: a field or a list element.
enum Step {
    Field(String),
    Index(usize),
}

struct Merger<'a> {
    kind: &'a str,
    path: Vec<Step>,
}

impl Merger<'_> {
    /// `spec.containers[1].ports`, or `<root>`.
    fn where_(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Field(f) if out.is_empty() => out.push_str(f),
                Step::Field(f) => {
                    out.push('.');
                    out.push_str(f)
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() {
            "<root>".to_string()
        } else {
            out
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> ApiError {
        ApiError::bad_request(format!(
            "invalid strategic merge patch at {}: {message}",
            self.where_()
        ))
    }

    /// The field names of the current path, for the list strategies.
    fn fields(&self) -> Vec<&str> {
        self.path
            .iter()
            .filter_map(|s| match s {
                Step::Field(f) => Some(f.as_str()),
                Step::Index(_) => None,
            })
            .collect()
    }

    fn strategy(&self) -> ListStrategy {
        list_strategy(self.kind, &self.fields())
    }

    fn merge_map(
        &mut self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
    ) -> Result<Map<String, Value>, ApiError> {
        if let Some(directive) = patch.remove(DIRECTIVE) {
            match directive.as_str() {
                Some("replace") => return self.merge_map(Map::new(), patch),
                Some("delete") => return Ok(Map::new()),
                Some("merge") => {}
                _ => {
                    return Err(self.error(format!(
                        "unknown patch type {directive} (want replace, delete or merge)"
                    )))
                }
            }
        }
        if let Some(retain) = patch.remove(RETAIN_KEYS) {
            self.retain_keys(&mut original, &patch, &retain)?;
        }
        let mut orders: Vec<(String, Vec<Value>)> = Vec::new();
        let mut deletions: Vec<(String, Vec<Value>)> = Vec::new();
        for key in patch.keys().cloned().collect::<Vec<_>>() {
            let parallel = if let Some(field) = key.strip_prefix(SET_ORDER) {
                Some((field.to_string(), &mut orders))
            } else {
                key.strip_prefix(DELETE_FROM)
                    .map(|field| (field.to_string(), &mut deletions))
            };
            if let Some((field, into)) = parallel {
                match patch.remove(&key) {
                    Some(Value::Array(list)) => into.push((field, list)),
                    Some(other) => {
                        return Err(
                            self.error(format!("{key} must be a list, not {}", type_name(&other)))
                        )
                    }
                    None => {}
                }
            }
        }
        let patched: Vec<String> = patch.keys().cloned().collect();
        for (key, value) in patch {
            self.path.push(Step::Field(key.clone()));
            let order = orders
                .iter()
                .find(|(f, _)| *f == key)
                .map(|(_, o)| o.as_slice());
            let merged = match (original.remove(&key), value) {
                (_, Value::Null) => None,
                (Some(Value::Object(o)), Value::Object(p)) => {
                    Some(Value::Object(self.merge_map(o, p)?))
                }
                (None, Value::Object(p)) => Some(Value::Object(self.merge_map(Map::new(), p)?)),
                (Some(Value::Array(o)), Value::Array(p)) => {
                    Some(Value::Array(self.merge_list(o, p, order)?))
                }
                (None, Value::Array(p)) => {
                    Some(Value::Array(self.merge_list(Vec::new(), p, order)?))
                }
                (_, value) => Some(value),
            };
            if let Some(merged) = merged {
                original.insert(key, merged);
            }
            self.path.pop();
        }
        for (field, values) in deletions {
            if let Some(Value::Array(list)) = original.get_mut(&field) {
                list.retain(|v| !values.contains(v));
            }
        }
        // An order for a list the patch did not change: reorder the live list.
        for (field, order) in orders {
            if patched.contains(&field) {
                continue;
            }
            self.path.push(Step::Field(field.clone()));
            if let Some(Value::Array(list)) = original.remove(&field) {
                let key = self.merge_key();
                let reordered = self.order(list.clone(), &order, &list, key)?;
                original.insert(field, Value::Array(reordered));
            }
            self.path.pop();
        }
        Ok(original)
    }

    /// `$retainKeys`: the fields of `original` not named are cleared, and the patch may set
    /// only fields it names.
    fn retain_keys(
        &self,
        original: &mut Map<String, Value>,
        patch: &Map<String, Value>,
        retain: &Value,
    ) -> Result<(), ApiError> {
        let Some(list) = retain.as_array() else {
            return Err(self.error("$retainKeys must be a list of field names"));
        };
        let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        if names.len() != list.len() {
            return Err(self.error("$retainKeys must be a list of field names"));
        }
        for (key, value) in patch {
            let directive = key.starts_with(SET_ORDER) || key.starts_with(DELETE_FROM);
            if !value.is_null() && !directive && !names.contains(&key.as_str()) {
                return Err(self.error(format!(
                    "{key} is set by the patch but missing from $retainKeys"
                )));
            }
        }
        original.retain(|k, _| names.contains(&k.as_str()));
        Ok(())
    }

    fn merge_key(&self) -> Option<&'static str> {
        match self.strategy() {
            ListStrategy::MergeByKey(key) => Some(key),
            _ => None,
        }
    }

    /// Merges two lists by the strategy of the current path. `order` is a
    /// `$setElementOrder` list for this field.
    fn merge_list(
        &mut self,
        original: Vec<Value>,
        patch: Vec<Value>,
        order: Option<&[Value]>,
    ) -> Result<Vec<Value>, ApiError> {
        match self.strategy() {
            ListStrategy::Replace => Ok(patch),
            ListStrategy::MergeScalars => {
                let mut merged = original.clone();
                for (i, item) in patch.iter().enumerate() {
                    if item.is_object() || item.is_array() {
                        self.path.push(Step::Index(i));
                        let err = self.error(format!(
                            "expected a scalar in a list of scalars, got {}",
                            type_name(item)
                        ));
                        self.path.pop();
                        return Err(err);
                    }
                    if !merged.contains(item) {
                        merged.push(item.clone());
                    }
                }
                self.order(merged, order.unwrap_or(&patch), &original, None)
            }
            ListStrategy::MergeByKey(key) => self.merge_keyed(original, patch, key, order),
        }
    }

    fn merge_keyed(
        &mut self,
        mut original: Vec<Value>,
        patch: Vec<Value>,
        key: &'static str,
        order: Option<&[Value]>,
    ) -> Result<Vec<Value>, ApiError> {
        let mut items: Vec<Map<String, Value>> = Vec::new();
        let mut replace = false;
        for (i, item) in patch.into_iter().enumerate() {
            self.path.push(Step::Index(i));
            let Value::Object(mut item) = item else {
                let err = self.error(format!(
                    "expected an object with the merge key {key:?}, got {}",
                    type_name(&item)
                ));
                self.path.pop();
                return Err(err);
            };
            let directive = item.get(DIRECTIVE).cloned();
            match directive.as_ref().map(|d| d.as_str()) {
                None => {}
                Some(Some("delete")) => {
                    let Some(value) = item.get(key) else {
                        let err =
                            self.error(format!("$patch: delete without the merge key {key:?}"));
                        self.path.pop();
                        return Err(err);
                    };
                    original.retain(|o| o.get(key) != Some(value));
                    self.path.pop();
                    continue;
                }
                Some(Some("replace")) => {
                    replace = true;
                    self.path.pop();
                    continue;
                }
                Some(Some("merge")) => {
                    item.remove(DIRECTIVE);
                }
                Some(_) => {
                    let err = self.error(format!(
                        "unknown patch type {} (want replace, delete or merge)",
                        directive.unwrap_or_default()
                    ));
                    self.path.pop();
                    return Err(err);
                }
            }
            if !item.contains_key(key) {
                let err = self.error(format!("does not contain the merge key {key:?}"));
                self.path.pop();
                return Err(err);
            }
            self.path.pop();
            items.push(item);
        }
        if replace {
            let mut out = Vec::new();
            for item in items {
                out.push(Value::Object(self.merge_map(Map::new(), item)?));
            }
            return Ok(out);
        }
        let patch_order: Vec<Value> = items.iter().cloned().map(Value::Object).collect();
        let mut merged = original.clone();
        for item in items {
            let wanted = item.get(key).cloned();
            let found = merged
                .iter()
                .position(|o| o.get(key) == wanted.as_ref() && o.is_object());
            match found {
                Some(at) => {
                    self.path.push(Step::Index(at));
                    let Value::Object(live) = merged[at].take() else {
                        unreachable!("position() matched an object")
                    };
                    let result = self.merge_map(live, item);
                    self.path.pop();
                    merged[at] = Value::Object(result?);
                }
                None => {
                    self.path.push(Step::Index(merged.len()));
                    let result = self.merge_map(Map::new(), item);
                    self.path.pop();
                    merged.push(Value::Object(result?));
                }
            }
        }
        self.order(merged, order.unwrap_or(&patch_order), &original, Some(key))
    }

    /// Kubernetes' `normalizeElementOrder`: the items named in `patch_order` in that order,
    /// the others (server-only) in the live order, interleaved by their live positions.
    fn order(
        &self,
        merged: Vec<Value>,
        patch_order: &[Value],
        live: &[Value],
        key: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        let id = |v: &Value| -> Option<Value> {
            match key {
                Some(k) => v.get(k).cloned(),
                None => Some(v.clone()),
            }
        };
        if let Some(k) = key {
            if patch_order.iter().any(|v| v.get(k).is_none()) {
                return Err(self.error(format!(
                    "$setElementOrder items must all carry the merge key {k:?}"
                )));
            }
        }
        let index_in = |list: &[Value], v: &Value| -> Option<usize> {
            let wanted = id(v)?;
            list.iter().position(|o| id(o).as_ref() == Some(&wanted))
        };
        let (mut from_patch, server_only): (Vec<Value>, Vec<Value>) = merged
            .into_iter()
            .partition(|v| index_in(patch_order, v).is_some());
        from_patch.sort_by_key(|v| index_in(patch_order, v));
        // mergeSortedSlice(serverOnly, patch, live order)
        let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
        let (mut left, mut right) = (
            server_only.into_iter().peekable(),
            from_patch.into_iter().peekable(),
        );
        loop {
            let take_left = match (left.peek(), right.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(l), Some(r)) => match (index_in(live, l), index_in(live, r)) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                },
            };
            let next = if take_left { left.next() } else { right.next() };
            out.extend(next);
        }
        Ok(out)
    }
}
