//! Strict decoding of manifests into typed objects, with errors that name the exact field and suggest a fix.
//!
//! Decoding goes through serde with every struct marked `deny_unknown_fields`, and
//! `serde_path_to_error` records where in the document the decoder was when it failed. The
//! serde error is then reworded for people: the full field path, the nearest known field name
//! for a misspelling, the right place for a field put at the wrong level, and the expected type
//! for a value of the wrong type.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use crate::error::{ApiError, Cause, Reason, StatusDetails};
use crate::kinds::{self, KindInfo};

/// Reads `apiVersion` and `kind` from a manifest and resolves them in the kind registry.
pub fn type_of(obj: &Value) -> Result<&'static KindInfo, ApiError> {
    let Some(map) = obj.as_object() else {
        return Err(ApiError::bad_request(format!(
            "a manifest must be an object with apiVersion, kind and metadata; got {}",
            json_type(obj)
        )));
    };
    let field = |name: &str| -> Result<Option<&str>, ApiError> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name}: expected a string, got {}",
                json_type(other)
            ))),
        }
    };
    let (api_version, kind) = (field("apiVersion")?, field("kind")?);
    match (api_version, kind) {
        (Some(v), Some(k)) => kinds::lookup(v, k),
        (None, Some(k)) => {
            let hint = match kinds::by_kind(k) {
                Some(info) => format!("a {k} needs apiVersion: {}", info.storage_version()),
                None => format!("known apiVersions: {}", kinds::api_versions().join(", ")),
            };
            Err(ApiError::bad_request(format!(
                "Object 'apiVersion' is missing: {hint}"
            )))
        }
        (_, None) => {
            let known: Vec<&str> = kinds::KINDS.iter().map(|k| k.kind).collect();
            Err(ApiError::bad_request(format!(
                "Object 'Kind' is missing: known kinds: {}",
                known.join(", ")
            )))
        }
    }
}

/// Decodes a manifest whose type was resolved by [`type_of`] into `T`, rejecting unknown
/// fields. JSON `null` is treated as "not set", as Kubernetes does.
pub fn decode_strict<T: DeserializeOwned>(mut obj: Value, info: &KindInfo) -> Result<T, ApiError> {
    drop_nulls(&mut obj);
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or(info.storage_version())
        .to_string();
    match serde_path_to_error::deserialize::<_, T>(&obj) {
        Ok(typed) => Ok(typed),
        Err(err) => {
            let path: Vec<Segment> = err.path().iter().cloned().collect();
            let cause = explain::<T>(&obj, &path, &err.inner().to_string());
            let message = format!(
                "{kind} in version {api_version:?} cannot be handled as a {kind}: strict decoding error: {cause}",
                kind = info.kind
            );
            let details = StatusDetails {
                name,
                group: info.group.to_string(),
                kind: info.kind.to_string(),
                causes: vec![cause],
            };
            Err(ApiError {
                details: Box::new(details),
                ..ApiError::new(Reason::BadRequest, message)
            })
        }
    }
}

/// The nearest of `candidates` to `word`, if it is close enough to be a plausible misspelling:
/// equal ignoring case, or within a Damerau-Levenshtein distance of about a quarter of its length.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 4).max(1);
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word_lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= limit && *d < word.len().min(c.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Removes object members whose value is `null`, at every depth.
fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// `spec.containers[0].livenessProbe`
fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// Turns a serde error at `path` into a field cause worded for people.
fn explain<T: DeserializeOwned>(obj: &Value, path: &[Segment], serde_msg: &str) -> Cause {
    let field = render_path(path);
    if let Some(rest) = serde_msg.strip_prefix("unknown field `") {
        let (unknown, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known = backticked(expected);
        let parent = &path[..path.len().saturating_sub(1)];
        return Cause::unknown_field(
            &field,
            unknown_field_message::<T>(obj, parent, unknown, &known),
        );
    }
    if let Some(rest) = serde_msg.strip_prefix("missing field `") {
        let missing = rest.trim_end_matches('`');
        let full = if field.is_empty() {
            missing.to_string()
        } else {
            format!("{field}.{missing}")
        };
        return Cause::required(&full, "");
    }
    if let Some(rest) = serde_msg.strip_prefix("invalid type: ") {
        if let Some((got, expected)) = rest.rsplit_once(", expected ") {
            return Cause::type_invalid(&field, type_message(got, expected));
        }
    }
    if let Some(rest) = serde_msg.strip_prefix("invalid value: ") {
        if let Some((got, expected)) = rest.rsplit_once(", expected ") {
            return Cause::type_invalid(
                &field,
                format!(
                    "{} is out of range, expected {}",
                    unexpected(got),
                    expected_type(expected)
                ),
            );
        }
    }
    // Our own deserializers (quantities, times) already word their errors for people.
    Cause::type_invalid(&field, serde_msg.to_string())
}

/// `unknown field "initalDelaySeconds", did you mean "initialDelaySeconds"?`, or where the
/// field belongs when it was put at the wrong level, or the fields that are known here.
fn unknown_field_message<T: DeserializeOwned>(
    obj: &Value,
    parent: &[Segment],
    unknown: &str,
    known: &[String],
) -> String {
    let mut message = format!("unknown field {unknown:?}");
    if let Some(near) = did_you_mean(unknown, known.iter().map(String::as_str)) {
        message.push_str(&format!(", did you mean {near:?}?"));
    } else if let Some(place) = belongs_under::<T>(obj, parent, unknown, known) {
        let here = render_path(parent);
        let at = if here.is_empty() {
            "the top level".to_string()
        } else {
            here.clone()
        };
        let full = if here.is_empty() {
            place
        } else {
            format!("{here}.{place}")
        };
        message.push_str(&format!(
            " at {at}; it belongs under {}: did you mean {:?}?",
            parent_of(&full),
            full
        ));
    } else if !known.is_empty() {
        message.push_str(&format!(" (known fields here: {})", known.join(", ")));
    }
    message
}

/// `spec.template.spec.containers` -> `spec.template.spec`
fn parent_of(path: &str) -> &str {
    path.rsplit_once('.').map(|(p, _)| p).unwrap_or(path)
}

/// Nestings that commonly get skipped: a pod's `containers` written beside `spec`, a
/// template's `spec` forgotten, a Job's or CronJob's pod template fields one level too high.
const MISPLACEMENTS: [&str; 6] = [
    "spec",
    "template.spec",
    "spec.template.spec",
    "jobTemplate.spec",
    "jobTemplate.spec.template.spec",
    "spec.jobTemplate.spec.template.spec",
];

/// Tries the field at each nesting of [`MISPLACEMENTS`] below `parent` whose first step is a
/// field known there, and returns the first nesting (with the field name) where the decoder
/// accepts it, e.g. `spec.containers`.
fn belongs_under<T: DeserializeOwned>(
    obj: &Value,
    parent: &[Segment],
    unknown: &str,
    known: &[String],
) -> Option<String> {
    for nesting in MISPLACEMENTS {
        let steps: Vec<&str> = nesting.split('.').collect();
        if !known.iter().any(|k| k == steps[0]) {
            continue;
        }
        let mut moved = obj.clone();
        let Some(container) = object_at(&mut moved, parent) else {
            continue;
        };
        let Some(value) = container.remove(unknown) else {
            continue;
        };
        if !insert_at(container, &steps, unknown, value) {
            continue;
        }
        let inserted = format!("{}.{nesting}.{unknown}", render_path(parent));
        let inserted = inserted.trim_start_matches('.');
        let rejected = match serde_path_to_error::deserialize::<_, T>(&moved) {
            Ok(_) => false,
            // Refused somewhere on the new route: the field does not belong there either.
            Err(e) => {
                let at = render_path(&e.path().iter().cloned().collect::<Vec<_>>());
                e.inner().to_string().starts_with("unknown field") && inserted.starts_with(&at)
            }
        };
        if !rejected {
            return Some(format!("{nesting}.{unknown}"));
        }
    }
    None
}

/// Inserts `key: value` at the nested object `steps` below `map`, creating missing levels.
/// Returns false when a level exists but is not an object.
fn insert_at(map: &mut Map<String, Value>, steps: &[&str], key: &str, value: Value) -> bool {
    match steps.split_first() {
        None => {
            map.insert(key.to_string(), value);
            true
        }
        Some((first, rest)) => {
            match map
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
            {
                Some(next) => insert_at(next, rest, key, value),
                None => false,
            }
        }
    }
}

/// The object at `path` inside `v`, if every step exists and it is an object.
fn object_at<'a>(v: &'a mut Value, path: &[Segment]) -> Option<&'a mut Map<String, Value>> {
    let mut cur = v;
    for seg in path {
        cur = match seg {
            Segment::Seq { index } => cur.as_array_mut()?.get_mut(*index)?,
            Segment::Map { key } => cur.as_object_mut()?.get_mut(key)?,
            _ => return None,
        };
    }
    cur.as_object_mut()
}

/// The names between backticks in serde's "expected one of `a`, `b`" list.
fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `expected an integer, got the string "3"`, plus a quoting hint for YAML users whose label
/// or annotation value was read as a number or boolean.
fn type_message(got: &str, expected: &str) -> String {
    let expected = expected_type(expected);
    let got_desc = unexpected(got);
    let mut m = format!("expected {expected}, got {got_desc}");
    if expected == "a string"
        && (got.starts_with("integer") || got.starts_with("floating") || got.starts_with("boolean"))
    {
        let literal = got.split('`').nth(1).unwrap_or_default();
        m.push_str(&format!(" (quote it in YAML: \"{literal}\")"));
    }
    m
}

/// serde's name for an expected type, in words.
fn expected_type(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "u8" | "u16" | "u32" => "an integer (32-bit)".to_string(),
        "i64" | "u64" => "an integer".to_string(),
        "a sequence" => "a list".to_string(),
        "a map" => "an object (a map of keys to values)".to_string(),
        e if e.starts_with("struct ") => "an object".to_string(),
        e => e.to_string(),
    }
}

/// serde's description of the value it found, in words.
fn unexpected(got: &str) -> String {
    let literal = got.split('`').nth(1);
    match (got.split([' ', '`']).next().unwrap_or_default(), literal) {
        ("string", _) => format!("the string {}", got.trim_start_matches("string ")),
        ("integer", Some(l)) | ("floating", Some(l)) => format!("the number {l}"),
        ("boolean", Some(l)) => format!("the boolean {l}"),
        ("map", _) => "an object".to_string(),
        ("sequence", _) => "a list".to_string(),
        ("unit" | "null", _) => "null".to_string(),
        _ => got.to_string(),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
