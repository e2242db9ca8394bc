//! PATCH bodies as Kubernetes takes them: JSON patch (RFC 6902), JSON merge patch (RFC 7386)
//! and strategic merge patch (lists merged by key, as `kubectl apply`, `edit` and `label`
//! send them).
//!
//! JSON patch and merge patch come from the `json-patch` crate; the strategic merge patch is
//! ours ([`strategic`]), because no maintained Rust crate implements it.

mod keys;
mod strategic;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::error::{ApiError, Reason};

pub use keys::{list_strategy, ListStrategy};

/// The patch formats, named by the request's Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`: a list of RFC 6902 operations.
    Json,
    /// `application/merge-patch+json`: RFC 7386; lists are replaced whole, null deletes.
    Merge,
    /// `application/strategic-merge-patch+json`: like a merge patch, but lists of containers,
    /// ports, env, conditions... are merged by their key, with `$patch` directives.
    StrategicMerge,
}

impl PatchType {
    /// The patch type of a Content-Type header (parameters such as `; charset=utf-8` are
    /// ignored). Server-side apply (`application/apply-patch+yaml`) and anything else is
    /// `None`: the server answers 415 Unsupported Media Type.
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            _ => None,
        }
    }

    /// The Content-Type of this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
        }
    }
}

/// `original` with `patch` applied. `kind` chooses the strategic merge keys (`Pod`,
/// `ReplicationController`, ...). A body that is not valid for its type is BadRequest; a JSON
/// patch whose operation cannot apply (a `test` that fails, a path that does not exist) is
/// Invalid (422), as Kubernetes answers. The result is not validated here: the caller decodes
/// it as it decodes an update.
pub fn apply_patch(
    kind: &str,
    original: &Value,
    patch_type: PatchType,
    patch: &[u8],
) -> Result<Value, ApiError> {
    match patch_type {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(patch)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            let mut doc = original.clone();
            json_patch::patch(&mut doc, &ops).map_err(|e| {
                ApiError::new(
                    Reason::Invalid,
                    format!("the JSON patch cannot be applied: {e}"),
                )
            })?;
            Ok(doc)
        }
        PatchType::Merge => {
            let patch = parse_object(patch, "merge")?;
            let mut doc = original.clone();
            json_patch::merge(&mut doc, &patch);
            Ok(doc)
        }
        PatchType::StrategicMerge => {
            let patch = parse_object(patch, "strategic merge")?;
            strategic::apply(kind, original, &patch)
        }
    }
}

/// A merge patch body: a JSON object.
fn parse_object(patch: &[u8], what: &str) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(patch)
        .map_err(|e| ApiError::bad_request(format!("invalid {what} patch: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "invalid {what} patch: the body must be a JSON object, not {}",
            type_name(&value)
        )));
    }
    Ok(value)
}

/// The JSON type of a value, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
