//! The OpenAPI documents of the kinds skiff serves, derived from the model's types (schemars;
//! doc comments become descriptions): Swagger 2.0 for `/openapi/v2` and OpenAPI 3.0 per
//! group-version for `/openapi/v3/...`. kubectl reads them for `kubectl explain`, to learn
//! that the server validates fields itself (`fieldValidation` on every PATCH), and for the
//! merge keys of `kubectl apply`.

mod paths;
mod scalars;
mod schemas;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::kinds::KINDS;
use schemas::Flavour;

/// The Kubernetes version the documents describe (the API surface kubectl compares with).
const INFO_VERSION: &str = "v1.31.0";

/// The Swagger 2.0 document (`/openapi/v2`): every kind's definitions and paths, the
/// storage versions under their own names and the older served versions (`apps/v1beta2`,
/// `batch/v1beta1`) as further kinds with their own group-version-kind.
pub fn v2() -> Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build_v2).clone()
}

fn build_v2() -> Value {
    let raw = schemas::raw_definitions();
    let mut definitions = schemas::definitions(&raw, Flavour::V2, None);
    let mut paths = Map::new();
    for info in KINDS.iter() {
        for api_version in info.versions {
            paths.extend(paths::kind_paths(info, api_version, Flavour::V2));
            let version = api_version.rsplit('/').next().unwrap_or(api_version);
            if *api_version != info.storage_version() {
                let served = Some((info.group, version));
                for (name, schema) in schemas::definitions(&raw, Flavour::V2, served) {
                    definitions.entry(name).or_insert(schema);
                }
            }
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": INFO_VERSION},
        "paths": paths,
        "definitions": definitions,
    })
}

/// `api/v1`, `apis/apps/v1`...: the group-versions served, as the v3 index names them.
fn group_version_paths() -> Vec<(String, &'static str, &'static str)> {
    let mut out: Vec<(String, &'static str, &'static str)> = Vec::new();
    for info in KINDS.iter() {
        for api_version in info.versions {
            let path = if info.group.is_empty() {
                format!("api/{api_version}")
            } else {
                format!("apis/{api_version}")
            };
            if !out.iter().any(|(p, _, _)| *p == path) {
                out.push((path, info.group, api_version));
            }
        }
    }
    out
}

fn v3_documents() -> &'static Vec<(String, Value)> {
    static DOCS: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let raw = schemas::raw_definitions();
        group_version_paths()
            .into_iter()
            .map(|(path, group, api_version)| {
                let version = api_version.rsplit('/').next().unwrap_or(api_version);
                let served = Some((group, version));
                let mut paths = Map::new();
                for info in KINDS
                    .iter()
                    .filter(|k| k.group == group && k.accepts_version(api_version))
                {
                    paths.extend(paths::kind_paths(info, api_version, Flavour::V3));
                }
                let doc = json!({
                    "openapi": "3.0.0",
                    "info": {"title": "Kubernetes", "version": INFO_VERSION},
                    "paths": paths,
                    "components": {"schemas": schemas::definitions(&raw, Flavour::V3, served)},
                });
                (path, doc)
            })
            .collect()
    })
}

/// The v3 discovery index (`/openapi/v3`): each group-version's document with a hash of its
/// content, which clients use to cache.
pub fn v3_index() -> Value {
    let mut paths = Map::new();
    for (path, doc) in v3_documents() {
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", hash(doc))}),
        );
    }
    json!({"paths": paths})
}

/// The OpenAPI 3.0 document of one group-version: `api/v1`, `apis/apps/v1` (a leading
/// `/openapi/v3/` or `/` is accepted); `None` for one skiff does not serve.
pub fn v3(group_version_path: &str) -> Option<Value> {
    let path = group_version_path
        .trim_start_matches('/')
        .trim_start_matches("openapi/v3/")
        .trim_end_matches('/');
    v3_documents()
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, doc)| doc.clone())
}

/// The content hash clients cache v3 documents by (FNV-1a of the JSON, upper-case hex as
/// Kubernetes writes its SHA-512 hashes).
fn hash(doc: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in doc.to_string().bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016X}")
}
