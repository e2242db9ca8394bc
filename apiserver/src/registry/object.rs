//! Objects as stored: storage keys, JSON encoding (resourceVersion = the key's mod_revision), server-set metadata.

use rand::Rng;
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;

use crate::store::KeyValue;

/// `/registry/<plural>/`: every object of a kind.
pub fn kind_prefix(info: &KindInfo) -> String {
    format!("/registry/{}/", info.plural)
}

/// The key range a list covers: one namespace (`/registry/pods/default/`) or all of them.
pub fn list_prefix(info: &KindInfo, namespace: &str) -> String {
    if info.namespaced && !namespace.is_empty() {
        format!("/registry/{}/{namespace}/", info.plural)
    } else {
        kind_prefix(info)
    }
}

/// `/registry/<plural>/<namespace>/<name>`, or `/registry/<plural>/<name>` for cluster-scoped kinds.
pub fn key(info: &KindInfo, namespace: &str, name: &str) -> String {
    if info.namespaced {
        format!("/registry/{}/{namespace}/{name}", info.plural)
    } else {
        format!("/registry/{}/{name}", info.plural)
    }
}

/// An object read from the store, with its revisions.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The object with `metadata.resourceVersion` set to `mod_revision`.
    pub object: Value,
    pub mod_revision: i64,
    /// The exact bytes stored (to tell whether a retried write was ours).
    pub raw: Vec<u8>,
}

impl Stored {
    pub fn from_kv(kv: &KeyValue) -> Result<Stored, ApiError> {
        let object = decode(&kv.value, kv.mod_revision).map_err(|e| {
            ApiError::internal(format!(
                "stored object {} is not valid JSON: {e}",
                String::from_utf8_lossy(&kv.key)
            ))
        })?;
        Ok(Stored {
            object,
            mod_revision: kv.mod_revision,
            raw: kv.value.clone(),
        })
    }

    pub fn meta(&self, field: &str) -> &str {
        meta_str(&self.object, field)
    }
}

/// Parses stored JSON and sets its resourceVersion.
pub fn decode(bytes: &[u8], revision: i64) -> Result<Value, serde_json::Error> {
    let mut object: Value = serde_json::from_slice(bytes)?;
    set_resource_version(&mut object, revision);
    Ok(object)
}

/// The bytes to store: the object without resourceVersion (the store's revision is the truth).
pub fn encode(object: &Value) -> Result<Vec<u8>, ApiError> {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    serde_json::to_vec(&object).map_err(ApiError::internal)
}

pub fn set_resource_version(object: &mut Value, revision: i64) {
    if let Some(map) = object.as_object_mut() {
        let meta = map.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("resourceVersion".to_string(), json!(revision.to_string()));
        }
    }
}

/// A string field of `metadata` (empty when absent).
pub fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Sets a `metadata` field, creating `metadata` when missing.
pub fn set_meta(object: &mut Value, field: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        let meta = map.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(field.to_string(), value);
        }
    }
}

pub fn remove_meta(object: &mut Value, field: &str) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove(field);
    }
}

/// `metadata.finalizers`.
pub fn finalizers(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A random UUID (version 4 layout), as Kubernetes assigns to every object.
pub fn new_uid() -> String {
    let b: [u8; 16] = rand::thread_rng().gen();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let version = format!("4{}", &hex[13..16]);
    let variant = format!("{:x}{}", (b[8] & 0x3) | 0x8, &hex[17..20]);
    format!(
        "{}-{}-{version}-{variant}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[20..32]
    )
}

/// `generateName` + five random characters from Kubernetes' alphabet (no vowels, no
/// look-alike digits).
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::thread_rng();
    // Kubernetes keeps the whole name within 63 characters.
    let prefix: String = prefix.chars().take(58).collect();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// Reads the request body as a JSON object, refusing oversized ones before anything else.
pub fn parse_body(bytes: &[u8], limit: usize) -> Result<Value, ApiError> {
    check_size(bytes.len(), limit)?;
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(value)
}

/// RequestEntityTooLarge for anything above `limit` bytes.
pub fn check_size(len: usize, limit: usize) -> Result<(), ApiError> {
    if len > limit {
        return Err(ApiError::too_large(format!(
            "Request entity too large: the object is {len} bytes; limit is {limit}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let pods = skiff_api::kinds::by_plural("pods").unwrap();
        let nodes = skiff_api::kinds::by_plural("nodes").unwrap();
        assert_eq!(key(pods, "default", "a"), "/registry/pods/default/a");
        assert_eq!(key(nodes, "", "n1"), "/registry/nodes/n1");
        assert_eq!(list_prefix(pods, ""), "/registry/pods/");
        assert_eq!(
            list_prefix(pods, "kube-system"),
            "/registry/pods/kube-system/"
        );
    }

    #[test]
    fn uids_and_names() {
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.as_bytes()[14], b'4');
        assert_ne!(uid, new_uid());
        let name = generate_name("crane-");
        assert!(name.starts_with("crane-") && name.len() == 11, "{name}");
    }

    #[test]
    fn encoding_strips_the_resource_version() {
        let obj = json!({"metadata": {"name": "a", "resourceVersion": "7"}});
        let bytes = encode(&obj).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("resourceVersion"));
        let back = decode(&bytes, 9).unwrap();
        assert_eq!(meta_str(&back, "resourceVersion"), "9");
    }

    #[test]
    fn size_limit() {
        assert!(check_size(10, 10).is_ok());
        let e = check_size(11, 10).unwrap_err();
        assert_eq!(e.reason, skiff_api::error::Reason::RequestEntityTooLarge);
    }
}
