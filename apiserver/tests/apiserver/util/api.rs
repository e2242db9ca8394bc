//! Talking to the apiserver in tests: a raw gRPC client with a bearer token, one helper per verb, and plain HTTP for /metrics and /health.

use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::error::{ApiError, Reason};
use skiff_proto::skiffapi::api_client::ApiClient;
use skiff_proto::skiffapi::*;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::Streaming;

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

pub type Client = ApiClient<InterceptedService<Channel, Bearer>>;

/// A gRPC client of a TLS port whose certificate chains to `ca_pem`, with this token ("" for
/// none).
pub async fn client_tls(url: &str, ca_pem: &str, token: &str) -> Client {
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca_pem));
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .expect("url")
        .tls_config(tls)
        .expect("tls config")
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    let header =
        (!token.is_empty()).then(|| format!("Bearer {token}").parse().expect("ascii token"));
    ApiClient::with_interceptor(channel, Bearer(header)).max_decoding_message_size(64 * 1024 * 1024)
}

pub fn reason(s: &tonic::Status) -> Reason {
    ApiError::from_status(s).reason
}

pub fn message(s: &tonic::Status) -> String {
    ApiError::from_status(s).message
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON object")
}

pub async fn create(
    c: &mut Client,
    resource: &str,
    ns: &str,
    obj: &Value,
) -> Result<Value, tonic::Status> {
    let req = CreateRequest {
        resource: resource.into(),
        namespace: ns.into(),
        object: serde_json::to_vec(obj).unwrap(),
    };
    c.create(req).await.map(|r| parse(&r.into_inner().object))
}

pub async fn get(
    c: &mut Client,
    resource: &str,
    ns: &str,
    name: &str,
) -> Result<Value, tonic::Status> {
    let req = GetRequest {
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
    };
    c.get(req).await.map(|r| parse(&r.into_inner().object))
}

pub async fn list(
    c: &mut Client,
    resource: &str,
    ns: &str,
    labels: &str,
    fields: &str,
) -> Result<(Vec<Value>, String), tonic::Status> {
    let req = ListRequest {
        resource: resource.into(),
        namespace: ns.into(),
        label_selector: labels.into(),
        field_selector: fields.into(),
    };
    c.list(req).await.map(|r| {
        let r = r.into_inner();
        (
            serde_json::from_slice(&r.items).expect("JSON array"),
            r.resource_version,
        )
    })
}

pub async fn update(
    c: &mut Client,
    resource: &str,
    ns: &str,
    obj: &Value,
) -> Result<Value, tonic::Status> {
    let req = UpdateRequest {
        resource: resource.into(),
        namespace: ns.into(),
        object: serde_json::to_vec(obj).unwrap(),
    };
    c.update(req).await.map(|r| parse(&r.into_inner().object))
}

pub async fn update_status(
    c: &mut Client,
    resource: &str,
    ns: &str,
    obj: &Value,
) -> Result<Value, tonic::Status> {
    let req = UpdateRequest {
        resource: resource.into(),
        namespace: ns.into(),
        object: serde_json::to_vec(obj).unwrap(),
    };
    c.update_status(req)
        .await
        .map(|r| parse(&r.into_inner().object))
}

pub async fn patch(
    c: &mut Client,
    resource: &str,
    ns: &str,
    name: &str,
    p: &Value,
) -> Result<Value, tonic::Status> {
    let req = PatchRequest {
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
        patch: serde_json::to_vec(p).unwrap(),
    };
    c.patch(req).await.map(|r| parse(&r.into_inner().object))
}

/// Deletes with a grace period (-1: the object's own) and a propagation policy.
pub async fn delete(
    c: &mut Client,
    resource: &str,
    ns: &str,
    name: &str,
    grace: i64,
    policy: &str,
) -> Result<Value, tonic::Status> {
    let req = DeleteRequest {
        resource: resource.into(),
        namespace: ns.into(),
        name: name.into(),
        propagation_policy: policy.into(),
        grace_period_seconds: grace,
        ..Default::default()
    };
    c.delete(req).await.map(|r| parse(&r.into_inner().object))
}

pub async fn watch(
    c: &mut Client,
    resource: &str,
    ns: &str,
    labels: &str,
    rv: &str,
    bookmarks: bool,
) -> Streaming<WatchEvent> {
    let req = WatchRequest {
        resource: resource.into(),
        namespace: ns.into(),
        label_selector: labels.into(),
        resource_version: rv.into(),
        allow_bookmarks: bookmarks,
        ..Default::default()
    };
    c.watch(req).await.expect("watch").into_inner()
}

/// The next watch event as (type, object); panics after `within`.
pub async fn next_event(w: &mut Streaming<WatchEvent>, within: Duration) -> (String, Value) {
    let ev = tokio::time::timeout(within, w.message())
        .await
        .expect("a watch event in time")
        .expect("watch stream ok")
        .expect("watch stream open");
    (ev.r#type, parse(&ev.object))
}

pub fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn pod(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}
    })
}

/// Runs a test body with an overall time limit and a clear message when it is exceeded.
pub async fn within<F: std::future::Future<Output = ()>>(limit: Duration, what: &str, f: F) {
    if tokio::time::timeout(limit, f).await.is_err() {
        panic!("{what} did not finish within {limit:?}");
    }
}
