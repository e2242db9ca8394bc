//! The verbs on objects and collections: get, list (selectors, limit/continue), create, update, patch, delete, deletecollection; status is the same verbs on `.status`.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use skiff_api::error::{ApiError, Reason};
use skiff_api::patch::{apply_patch, PatchType};

use super::reply::{self, serve_as, Query};
use super::{Http, Request};
use crate::auth::authz::Attributes;
use crate::cache::list::order_key;
use crate::registry::filter::Filter;
use crate::registry::{dry_run, DeleteOptions, ListFrom, Propagation, UpdateKind};

impl Http {
    /// An object (or its status), in the asked version or as a Table.
    pub(super) async fn get(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        self.authorize(r, "get")?;
        let obj = self.registry.get(t.info, &t.namespace, &t.name).await?;
        self.object_reply(r, StatusCode::OK, obj)
    }

    pub(super) fn object_reply(
        &self,
        r: &Request,
        code: StatusCode,
        mut obj: Value,
    ) -> Result<Response, ApiError> {
        serve_as(&mut obj, &r.target.api_version);
        if r.table {
            let table = reply::table(
                r.target.info,
                std::slice::from_ref(&obj),
                "",
                r.whole_objects,
            );
            return Ok(reply::json(code, &table));
        }
        Ok(reply::json(code, &obj))
    }

    pub(super) fn filter(&self, r: &Request) -> Result<Filter, ApiError> {
        let q = &r.query;
        Filter::new(
            r.target.info,
            &r.target.namespace,
            q.get("labelSelector"),
            q.get("fieldSelector"),
        )
    }

    /// A list, paged by `limit` and `continue` (a token naming the last object sent). Every
    /// page is a fresh list (consistent, unless a resourceVersion asks for less), so pages
    /// are not one snapshot (Kubernetes' are). Items are written as the watch cache keeps
    /// them: only a Table or another version than the stored one decodes them.
    pub(super) async fn list(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        self.authorize(r, "list")?;
        let filter = self.filter(r)?;
        let from = ListFrom::parse(
            r.query.get("resourceVersion"),
            r.query.get("resourceVersionMatch"),
        )?;
        let limit = r.query.int("limit")?.filter(|l| *l > 0);
        let after = parse_continue(r.query.get("continue"))?;
        let listing = self.registry.list(t.info, &filter, from).await?;
        let revision = listing.revision;
        let mut items = listing.items;
        if let Some((ns, name)) = &after {
            let after = (ns.as_str(), name.as_str());
            items.retain(|o| order_key(o) > after);
        }
        let mut metadata = json!({"resourceVersion": revision.to_string()});
        if let Some(limit) = limit.map(|l| l as usize) {
            if items.len() > limit {
                let remaining = items.len() - limit;
                items.truncate(limit);
                if let Some(last) = items.last() {
                    let (ns, name) = order_key(last);
                    metadata["continue"] = json!(format!("{revision}/{ns}/{name}"));
                    metadata["remainingItemCount"] = json!(remaining);
                }
            }
        }
        if r.table {
            let mut values = items
                .iter()
                .map(|o| reply::decode_cached(o))
                .collect::<Result<Vec<Value>, ApiError>>()?;
            for value in &mut values {
                serve_as(value, &t.api_version);
            }
            let mut table = reply::table(t.info, &values, &revision.to_string(), r.whole_objects);
            if let Some(c) = metadata.get("continue") {
                table["metadata"]["continue"] = c.clone();
            }
            return Ok(reply::json(StatusCode::OK, &table));
        }
        let head = json!({
            "kind": format!("{}List", t.info.kind),
            "apiVersion": t.api_version,
            "metadata": metadata,
        });
        let body = reply::list_body(&head, &items, t.info, &t.api_version)?;
        Ok(reply::raw_json(StatusCode::OK, body))
    }

    pub(super) async fn create(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        let registry = self.registry_for(r.query.dry_run()?);
        let a = self.attributes(r, "create");
        let caller = self.caller(r, &a)?;
        let guard = caller.guard(&a);
        let body = with_type(r)?;
        let obj = registry.create(t.info, &t.namespace, &body, &guard).await?;
        self.object_reply(r, StatusCode::CREATED, obj)
    }

    /// PUT of an object or its status: the body's name must be the path's.
    pub(super) async fn update(&self, r: &Request, kind: UpdateKind) -> Result<Response, ApiError> {
        let t = &r.target;
        let registry = self.registry_for(r.query.dry_run()?);
        let a = self.attributes(r, "update");
        let caller = self.caller(r, &a)?;
        let body: Value = serde_json::from_slice(&r.body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?;
        let in_body = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if in_body != t.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({in_body}) does not match the name on the URL ({})",
                t.name
            )));
        }
        let guard = caller.guard(&a);
        let body = with_type(r)?;
        let obj = registry
            .update(t.info, &t.namespace, &body, kind, &guard)
            .await?;
        self.object_reply(r, StatusCode::OK, obj)
    }

    /// PATCH of an object or its status, in the patch type its Content-Type names.
    pub(super) async fn patch(&self, r: &Request, kind: UpdateKind) -> Result<Response, ApiError> {
        let t = &r.target;
        let registry = self.registry_for(r.query.dry_run()?);
        let patch_type = patch_type(&r.headers)?;
        let a = self.attributes(r, "patch");
        let caller = self.caller(r, &a)?;
        let guard = caller.guard(&a);
        let kind_name = t.info.kind;
        let body = r.body.clone();
        let apply = move |current: &Value| apply_patch(kind_name, current, patch_type, &body);
        let obj = registry
            .patch_with(t.info, &t.namespace, &t.name, kind, &guard, &apply)
            .await?;
        self.object_reply(r, StatusCode::OK, obj)
    }

    pub(super) async fn delete(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        let (opts, dry_run) = delete_options(&r.query, &r.body)?;
        let registry = self.registry_for(dry_run);
        let a = self.attributes(r, "delete");
        let caller = self.caller(r, &a)?;
        let guard = caller.guard(&a);
        let obj = registry
            .delete(t.info, &t.namespace, &t.name, &opts, &guard)
            .await?;
        self.object_reply(r, StatusCode::OK, obj)
    }

    /// Deletes every object the selectors match, one by one; answers the list of them.
    pub(super) async fn delete_collection(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        let (opts, dry_run) = delete_options(&r.query, &r.body)?;
        let registry = self.registry_for(dry_run);
        let a = self.attributes(r, "delete");
        let caller = self.caller(r, &a)?;
        let filter = self.filter(r)?;
        let listing = self
            .registry
            .list(t.info, &filter, ListFrom::Consistent)
            .await?;
        let revision = listing.revision;
        let mut deleted = Vec::new();
        for item in listing.items {
            let (ns, name) = order_key(&item);
            let one = Attributes { name, ..a };
            let guard = caller.guard(&one);
            match registry.delete(t.info, ns, name, &opts, &guard).await {
                Ok(mut obj) => {
                    serve_as(&mut obj, &t.api_version);
                    deleted.push(obj);
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let list = json!({
            "kind": format!("{}List", t.info.kind),
            "apiVersion": t.api_version,
            "metadata": {"resourceVersion": revision.to_string()},
            "items": deleted,
        });
        Ok(reply::json(StatusCode::OK, &list))
    }
}

/// The body, with `apiVersion` and `kind` taken from the path when it has none (as Kubernetes
/// does: the official Python client sends objects without them). A body naming them is
/// left as it is, and admission checks them.
fn with_type(r: &Request) -> Result<Vec<u8>, ApiError> {
    let mut body: Value = serde_json::from_slice(&r.body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?;
    let Some(map) = body.as_object_mut() else {
        return Ok(r.body.to_vec());
    };
    let missing = |v: Option<&Value>| v.and_then(Value::as_str).is_none_or(str::is_empty);
    if !missing(map.get("apiVersion")) && !missing(map.get("kind")) {
        return Ok(r.body.to_vec());
    }
    if missing(map.get("apiVersion")) {
        map.insert("apiVersion".into(), json!(r.target.api_version));
    }
    if missing(map.get("kind")) {
        map.insert("kind".into(), json!(r.target.info.kind));
    }
    serde_json::to_vec(&body).map_err(ApiError::internal)
}

/// The `(namespace, name)` a continue token resumes after.
fn parse_continue(token: &str) -> Result<Option<(String, String)>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let mut parts = token.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(rv), Some(ns), Some(name)) if rv.parse::<i64>().is_ok() => {
            Ok(Some((ns.to_string(), name.to_string())))
        }
        _ => Err(ApiError::bad_request(format!(
            "continue: invalid value {token:?}: not a token this server issued"
        ))),
    }
}

/// The patch type of the request's Content-Type; 415 for any other (server-side apply too).
pub fn patch_type(headers: &HeaderMap) -> Result<PatchType, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    PatchType::from_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format ({content_type:?}) - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json \
                 (server-side apply is not supported by skiff yet)"
            ),
        )
    })
}

/// DeleteOptions from the body (kubectl sends one) and the query (the body wins).
/// The DeleteOptions of a request, from its body and query, and whether it is a dry run
/// (`dryRun: ["All"]` in the body, or `?dryRun=All`).
fn delete_options(q: &Query, body: &[u8]) -> Result<(DeleteOptions, bool), ApiError> {
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let mut dry_run = q.dry_run()?;
    match body.get("dryRun") {
        None | Some(Value::Null) => {}
        Some(Value::Array(values)) => {
            for value in values {
                dry_run |= dry_run::parse(value.as_str().unwrap_or("?"))?;
            }
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid DeleteOptions: dryRun: {other} is not a list of strings"
            )))
        }
    }
    let s = |f: &str| body.get(f).and_then(Value::as_str).map(str::to_string);
    let orphan =
        body.get("orphanDependents")
            .and_then(Value::as_bool)
            .or(match q.get("orphanDependents") {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            });
    let policy = s("propagationPolicy").unwrap_or_else(|| q.get("propagationPolicy").to_string());
    let propagation = match (policy.as_str(), orphan) {
        ("", Some(true)) => Propagation::Orphan,
        (p, _) => Propagation::parse(p)?,
    };
    let grace_period = match body.get("gracePeriodSeconds").and_then(Value::as_i64) {
        Some(g) => Some(g),
        None => q.int("gracePeriodSeconds")?,
    };
    let pre = |f: &str| {
        body.pointer(&format!("/preconditions/{f}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let options = DeleteOptions {
        propagation,
        grace_period: grace_period.filter(|g| *g >= 0),
        precondition_uid: pre("uid"),
        precondition_resource_version: pre("resourceVersion"),
    };
    Ok((options, dry_run))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn delete_options_from_body_and_query() {
        let q = Query(HashMap::from([(
            "gracePeriodSeconds".to_string(),
            "5".to_string(),
        )]));
        let (o, dry_run) = delete_options(
            &q,
            br#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Orphan","preconditions":{"uid":"u1"}}"#,
        )
        .unwrap();
        assert_eq!(o.propagation, Propagation::Orphan);
        assert_eq!(o.grace_period, Some(5));
        assert_eq!(o.precondition_uid, "u1");
        assert!(!dry_run);
        let (o, _) = delete_options(&Query::default(), br#"{"orphanDependents":true}"#).unwrap();
        assert_eq!(o.propagation, Propagation::Orphan);
        let (o, _) = delete_options(&Query::default(), b"").unwrap();
        assert_eq!(o.propagation, Propagation::Background);
        assert!(delete_options(&Query::default(), br#"{"propagationPolicy":"Sideways"}"#).is_err());
        assert!(
            delete_options(&Query::default(), br#"{"dryRun":["All"]}"#)
                .unwrap()
                .1
        );
        assert!(delete_options(&Query::default(), br#"{"dryRun":["Some"]}"#).is_err());
        assert!(delete_options(&Query::default(), br#"{"dryRun":"All"}"#).is_err());
        let dry = Query(HashMap::from([("dryRun".to_string(), "All".to_string())]));
        assert!(delete_options(&dry, b"").unwrap().1);
    }

    #[test]
    fn continue_tokens() {
        assert_eq!(parse_continue("").unwrap(), None);
        assert_eq!(
            parse_continue("12/default/a").unwrap(),
            Some(("default".into(), "a".into()))
        );
        assert!(parse_continue("garbage").is_err());
    }

    #[test]
    fn apply_patches_get_415() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/apply-patch+yaml".parse().unwrap(),
        );
        assert_eq!(patch_type(&h).unwrap_err().code, 415);
        h.insert(
            header::CONTENT_TYPE,
            "application/strategic-merge-patch+json".parse().unwrap(),
        );
        assert_eq!(patch_type(&h).unwrap(), PatchType::StrategicMerge);
    }
}
