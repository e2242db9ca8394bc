//! Scenario tests of skiff's API model: admission of manifests, decoding errors, defaulting, validation, updates and error mapping.

mod decoding;
mod defaulting;
mod errors;
mod fixtures;
mod updates;
mod validating;

use serde_json::Value;
use skiff_api::admit::admit_create;
use skiff_api::decode::type_of;
use skiff_api::error::ApiError;
use skiff_api::manifest::parse_manifests;

pub const UID: &str = "6f0c1b2a-0000-4000-8000-000000000001";

/// The single document of a YAML manifest.
pub fn yaml(text: &str) -> Value {
    let mut docs = parse_manifests(text).expect("test manifest parses");
    assert_eq!(docs.len(), 1, "one document expected");
    docs.remove(0)
}

/// Adds what the apiserver sets before admission: uid and creationTimestamp.
pub fn with_server_meta(mut obj: Value) -> Value {
    obj["metadata"]["uid"] = UID.into();
    obj["metadata"]["creationTimestamp"] = "2024-05-01T12:00:00Z".into();
    obj
}

/// Admits a manifest for creation, as the apiserver would.
pub fn create(obj: Value) -> Result<Value, ApiError> {
    let info = type_of(&obj)?;
    admit_create(info, with_server_meta(obj))
}

/// Admits a YAML manifest and returns the stored JSON, failing the test with the message.
pub fn create_ok(text: &str) -> Value {
    match create(yaml(text)) {
        Ok(v) => v,
        Err(e) => panic!(
            "expected the manifest to be admitted, got: {}",
            e.to_kubectl_string()
        ),
    }
}

/// Admits a YAML manifest that must be refused and returns the error.
pub fn create_err(text: &str) -> ApiError {
    match create(yaml(text)) {
        Ok(v) => panic!("expected an error, the manifest was admitted as {v}"),
        Err(e) => e,
    }
}
