//! Building HTTP answers: JSON objects in the group version the client asked for, errors as Kubernetes `Status` objects, the query parameters every verb reads.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;

use crate::cache::list::write_json_array;
use crate::cache::CachedObject;

pub const JSON: &str = "application/json";

/// A JSON answer.
pub fn json(code: StatusCode, value: &Value) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    raw_json(code, bytes)
}

pub fn raw_json(code: StatusCode, bytes: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

/// An error as Kubernetes answers it: its HTTP code and a `Status` object.
pub fn error(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(code, &e.to_status_json())
}

/// A `Status` of success (what Kubernetes answers a binding or a finished deletion with).
pub fn success(code: StatusCode, details: Value) -> Response {
    json(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "code": code.as_u16(), "details": details}),
    )
}

pub fn text(code: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Sets `apiVersion` to the version the client asked in (objects are stored in the kind's
/// first version; `apps/v1beta2` clients get `apps/v1beta2` back).
pub fn serve_as(object: &mut Value, api_version: &str) {
    if let Some(map) = object.as_object_mut() {
        if map.contains_key("apiVersion") {
            map.insert("apiVersion".into(), json!(api_version));
        }
    }
}

/// A list's JSON: `head` (kind, apiVersion, metadata) with `items` after it. The items are
/// written as the cache keeps them; only a client asking for another version than the
/// stored one (`apps/v1beta2`) has each decoded to change its `apiVersion`.
pub fn list_body(
    head: &Value,
    items: &[Arc<CachedObject>],
    info: &KindInfo,
    api_version: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut out = serde_json::to_vec(head).map_err(ApiError::internal)?;
    if out.pop() != Some(b'}') {
        return Err(ApiError::internal("a list's head is not a JSON object"));
    }
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(br#""items":"#);
    if api_version == info.storage_version() {
        out.reserve(items.iter().map(|o| o.json.len() + 1).sum::<usize>() + 3);
        write_json_array(&mut out, items.iter().map(|o| &o.json[..]));
    } else {
        let mut rewritten = Vec::with_capacity(items.len());
        for o in items {
            let mut value = decode_cached(o)?;
            serve_as(&mut value, api_version);
            rewritten.push(serde_json::to_vec(&value).map_err(ApiError::internal)?);
        }
        write_json_array(&mut out, rewritten.iter().map(Vec::as_slice));
    }
    out.push(b'}');
    Ok(out)
}

/// A cached object as a value (for Tables and version changes).
pub fn decode_cached(o: &CachedObject) -> Result<Value, ApiError> {
    serde_json::from_slice(&o.json)
        .map_err(|e| ApiError::internal(format!("cached object {} is not valid JSON: {e}", o.key)))
}

/// Objects as a `meta.k8s.io/v1` Table with the columns `skiff get` prints; rows carry the
/// whole object with `includeObject=Object`, else its metadata.
pub fn table(info: &KindInfo, items: &[Value], resource_version: &str, whole: bool) -> Value {
    let mut table = skiff_api::table::to_table(info.kind, items, whole);
    if !resource_version.is_empty() {
        table["metadata"]["resourceVersion"] = json!(resource_version);
    }
    table
}

/// The request asks for server-side printing (`Accept: application/json;as=Table;...`).
pub fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .next()
                .is_some_and(|first| first.replace(' ', "").contains("as=Table"))
        })
}

/// Whether the request's Accept (absent: anything) takes JSON: `application/json`,
/// `application/*` or `*/*`, with or without parameters.
pub fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|t| {
        let media = t.split(';').next().unwrap_or_default().trim();
        media.is_empty() || ["application/json", "application/*", "*/*"].contains(&media)
    })
}

/// The query string's parameters, each by name (the last value wins).
#[derive(Debug, Default)]
pub struct Query(pub HashMap<String, String>);

impl Query {
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or_default()
    }

    /// `true`, `1` (as clients send `watch=1`) are true; absent or empty is false.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            "" | "false" | "0" => Ok(false),
            "true" | "1" => Ok(true),
            other => Err(ApiError::bad_request(format!(
                "{name}: invalid value {other:?}: must be true or false"
            ))),
        }
    }

    /// An integer parameter; `None` when absent.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            "" => Ok(None),
            s => s.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!("{name}: invalid value {s:?}: must be an integer"))
            }),
        }
    }

    /// `?dryRun=All`: decide the write, store nothing.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        crate::registry::dry_run::parse(self.get("dryRun"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_asked_for_by_the_first_accepted_type() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
            ),
        );
        assert!(wants_table(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_table(&h));
        assert!(!wants_table(&HeaderMap::new()));
    }

    #[test]
    fn list_bodies_copy_cached_items_unless_another_version_is_asked() {
        let rs = skiff_api::kinds::by_plural("replicasets").unwrap();
        let item = |name: &str| {
            let value =
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name}});
            let index = crate::registry::filter::ObjectIndex::of(rs, &value);
            Arc::new(CachedObject::with_index(
                format!("/registry/replicasets/default/{name}"),
                index,
                &value,
            ))
        };
        let items = [item("a"), item("b")];
        let head = json!({"kind": "ReplicaSetList", "apiVersion": "apps/v1", "metadata": {"resourceVersion": "7"}});
        let body = list_body(&head, &items, rs, "apps/v1").unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        let a = String::from_utf8(items[0].json.to_vec()).unwrap();
        let b = String::from_utf8(items[1].json.to_vec()).unwrap();
        assert!(text.ends_with(&format!(r#""items":[{a},{b}]}}"#)), "{text}");
        let list: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(list["metadata"]["resourceVersion"], "7");
        assert_eq!(list["items"][1]["metadata"]["name"], "b");

        let body = list_body(&head, &items, rs, "apps/v1beta2").unwrap();
        let list: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(list["items"][0]["apiVersion"], "apps/v1beta2");
        assert_eq!(list["items"].as_array().unwrap().len(), 2);

        let empty: Value =
            serde_json::from_slice(&list_body(&head, &[], rs, "apps/v1").unwrap()).unwrap();
        assert_eq!(empty["items"], json!([]));
        assert_eq!(empty["kind"], "ReplicaSetList");
    }

    #[test]
    fn query_values() {
        let q = Query(HashMap::from([
            ("watch".to_string(), "1".to_string()),
            ("limit".to_string(), "x".to_string()),
        ]));
        assert!(q.flag("watch").unwrap());
        assert!(!q.flag("follow").unwrap());
        assert_eq!(q.int("limit").unwrap_err().code, 400);
        assert_eq!(q.int("tailLines").unwrap(), None);
    }
}
