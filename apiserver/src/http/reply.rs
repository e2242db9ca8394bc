//! Building HTTP answers: JSON objects in the group version the client asked for, errors as Kubernetes `Status` objects, the query parameters every verb reads.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;

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
