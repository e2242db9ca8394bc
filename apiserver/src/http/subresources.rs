//! Subresources beyond status: `scale` (autoscaling/v1 Scale: get, update, patch), `pods/log` (streamed from the nodelet) and `pods/binding`.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::patch::apply_patch;
use skiff_proto::skiffapi::LogsRequest;

use super::objects::patch_type;
use super::reply;
use super::{Http, Request};
use crate::registry::Scale;

/// A Scale as autoscaling/v1 writes it.
fn scale_json(r: &Request, s: &Scale) -> Value {
    let t = &r.target;
    let mut metadata = json!({"name": t.name, "resourceVersion": s.resource_version});
    if t.info.namespaced {
        metadata["namespace"] = json!(t.namespace);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": s.spec_replicas},
        "status": {"replicas": s.status_replicas, "selector": s.selector},
    })
}

/// `spec.replicas` of a Scale body.
fn replicas_of(scale: &Value) -> Result<i32, ApiError> {
    scale
        .pointer("/spec/replicas")
        .map_or(Some(0), Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| ApiError::bad_request("spec.replicas: must be an integer"))
}

impl Http {
    pub(super) async fn get_scale(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        self.authorize(r, "get")?;
        let s = self
            .registry
            .get_scale(t.info, &t.namespace, &t.name)
            .await?;
        Ok(reply::json(StatusCode::OK, &scale_json(r, &s)))
    }

    /// PUT of a Scale; its `metadata.resourceVersion`, when set, must be the object's.
    pub(super) async fn update_scale(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        let registry = self.registry_for(r.query.dry_run()?);
        self.authorize(r, "update")?;
        let body: Value = serde_json::from_slice(&r.body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?;
        let replicas = replicas_of(&body)?;
        let rv = body
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut expected = -1;
        if !rv.is_empty() {
            let now = self
                .registry
                .get_scale(t.info, &t.namespace, &t.name)
                .await?;
            if now.resource_version != rv {
                return Err(ApiError::conflict_modified(
                    &format!("{}/scale", t.info.qualified_resource()),
                    &t.name,
                ));
            }
            // Pins the write to the count read at that version.
            expected = now.spec_replicas;
        }
        let s = registry
            .update_scale(t.info, &t.namespace, &t.name, replicas, expected)
            .await?;
        Ok(reply::json(StatusCode::OK, &scale_json(r, &s)))
    }

    /// PATCH of a Scale (what `kubectl scale` sends): the patch applies to the current Scale.
    pub(super) async fn patch_scale(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        let registry = self.registry_for(r.query.dry_run()?);
        let patch_type = patch_type(&r.headers)?;
        self.authorize(r, "patch")?;
        let now = self
            .registry
            .get_scale(t.info, &t.namespace, &t.name)
            .await?;
        let patched = apply_patch("Scale", &scale_json(r, &now), patch_type, &r.body)?;
        let replicas = replicas_of(&patched)?;
        let s = registry
            .update_scale(t.info, &t.namespace, &t.name, replicas, -1)
            .await?;
        Ok(reply::json(StatusCode::OK, &scale_json(r, &s)))
    }

    /// A container's log as plain text, streamed while `follow` holds.
    pub(super) async fn logs(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        self.authorize(r, "get")?;
        let q = &r.query;
        let req = LogsRequest {
            namespace: t.namespace.clone(),
            name: t.name.clone(),
            container: q.get("container").to_string(),
            follow: q.flag("follow")?,
            previous: q.flag("previous")?,
            tail_lines: q.int("tailLines")?.filter(|n| *n >= 0).unwrap_or(-1),
            timestamps: q.flag("timestamps")?,
        };
        let chunks = crate::logs::open(&self.registry, req).await?;
        let body = chunks
            .take_while(|c| std::future::ready(c.is_ok()))
            .filter_map(|c| std::future::ready(c.ok().map(|c| Bytes::from(c.data))))
            .take_until(self.shutdown.clone().cancelled_owned())
            .map(Ok::<Bytes, std::convert::Infallible>);
        let mut resp = Response::new(Body::from_stream(body));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Ok(resp)
    }

    /// POST pods/{name}/binding: assigns the pod to `target.name`, once.
    pub(super) async fn bind(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        self.authorize(r, "create")?;
        let body: Value = serde_json::from_slice(&r.body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))?;
        let s = |p: &str| body.pointer(p).and_then(Value::as_str).unwrap_or_default();
        self.registry
            .bind(&t.namespace, &t.name, s("/target/name"), s("/metadata/uid"))
            .await?;
        Ok(reply::success(
            StatusCode::CREATED,
            json!({"name": t.name, "kind": "pods"}),
        ))
    }
}
