//! The Kubernetes REST API (JSON over HTTPS), beside the gRPC API: the same registry, watch cache, tokens and roles; only the wire form differs.
//!
//! # Layout
//! - this file: the shared state, the router (axum) and the dispatch of a resource request
//!   to its verb;
//! - [`serve`]: the TLS listener (rustls) feeding hyper connections;
//! - [`path`]: `/api/v1/namespaces/{ns}/pods/{name}/{sub}` and `/apis/{g}/{v}/...` resolved;
//! - [`discovery`]: `/version`, `/api`, `/apis`, the APIResourceLists;
//! - `objects`: get, list, create, update, patch, delete, deletecollection;
//! - `watch`: `?watch=1` streams; `subresources`: scale, log, binding;
//! - `exec`: `pods/{name}/exec` upgraded to WebSocket (kubectl's channel protocols);
//! - [`reply`]: JSON answers, `Status` errors, query parameters.

pub mod discovery;
mod exec;
mod objects;
pub mod path;
pub mod reply;
pub mod serve;
mod subresources;
mod watch;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::ws::{rejection::WebSocketUpgradeRejection, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, Query as QueryParams, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use skiff_api::error::ApiError;
use tokio_util::sync::CancellationToken;

use crate::auth::authz::Attributes;
use crate::auth::{Authenticator, Caller};
use crate::cache::WatchCache;
use crate::metrics::Metrics;
use crate::registry::writer::{self, Writer};
use crate::registry::{Registry, UpdateKind};
use path::{Route, Target};
use reply::Query;

/// What every HTTP request handler shares.
pub struct Http {
    pub registry: Arc<Registry>,
    pub cache: Arc<WatchCache>,
    pub auth: Arc<Authenticator>,
    pub metrics: Arc<Metrics>,
    /// Ends open watch and log streams when the server shuts down.
    pub shutdown: CancellationToken,
    /// What `/api` names as the server's address.
    pub advertise: String,
}

/// One resource request, parsed.
pub struct Request {
    pub method: Method,
    pub target: Target,
    pub query: Query,
    /// Every query parameter in order, repeated ones too (exec's `command`).
    pub pairs: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Answer objects as a Table (server-side printing).
    pub table: bool,
    /// Table rows carry whole objects (`includeObject=Object`), not just their metadata.
    pub whole_objects: bool,
}

/// The router: health, version and discovery, OpenAPI, then every resource path.
pub fn router(http: Arc<Http>, max_body: usize) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { reply::text(StatusCode::OK, "ok") }),
        )
        .route(
            "/livez",
            get(|| async { reply::text(StatusCode::OK, "ok") }),
        )
        .route("/readyz", get(readyz))
        .route(
            "/version",
            get(|| async { reply::json(StatusCode::OK, &discovery::version()) }),
        )
        .route("/api", get(core_versions))
        .route("/apis", get(group_list))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3_index))
        .route("/openapi/v3/{*path}", get(openapi_v3))
        .route("/api/{*rest}", axum::routing::any(core_resource))
        .route("/apis/{*rest}", axum::routing::any(group_resource))
        .fallback(|| async { reply::error(&path::not_served()) })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(http)
}

async fn readyz(State(http): State<Arc<Http>>) -> Response {
    if http.cache.is_ready() {
        reply::text(StatusCode::OK, "ok")
    } else {
        reply::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the watch cache has not loaded every kind yet",
        )
    }
}

/// Discovery needs an authenticated caller (any role), as Kubernetes' system:discovery:
/// the 401 answer for anyone else.
fn unauthenticated(http: &Http, headers: &HeaderMap) -> Option<Response> {
    http.auth
        .authenticate(bearer(headers))
        .err()
        .map(|e| reply::error(&e))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

async fn core_versions(State(http): State<Arc<Http>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthenticated(&http, &headers) {
        return r;
    }
    reply::json(StatusCode::OK, &discovery::core_versions(&http.advertise))
}

async fn group_list(State(http): State<Arc<Http>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthenticated(&http, &headers) {
        return r;
    }
    reply::json(StatusCode::OK, &discovery::group_list())
}

async fn openapi_v2(State(http): State<Arc<Http>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthenticated(&http, &headers) {
        return r;
    }
    if !reply::accepts_json(&headers) {
        // As Kubernetes' apiserver answers a protobuf-only request: kubectl then asks again
        // for JSON.
        return reply::error(&ApiError::new(
            skiff_api::error::Reason::NotAcceptable,
            "only the following media types are accepted: application/json",
        ));
    }
    reply::json(StatusCode::OK, &skiff_api::openapi::v2())
}

async fn openapi_v3_index(State(http): State<Arc<Http>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthenticated(&http, &headers) {
        return r;
    }
    reply::json(StatusCode::OK, &skiff_api::openapi::v3_index())
}

async fn openapi_v3(
    State(http): State<Arc<Http>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthenticated(&http, &headers) {
        return r;
    }
    match skiff_api::openapi::v3(&path) {
        Some(doc) => reply::json(StatusCode::OK, &doc),
        None => reply::error(&path::not_served()),
    }
}

async fn core_resource(
    State(http): State<Arc<Http>>,
    method: Method,
    Path(rest): Path<String>,
    QueryParams(query): QueryParams<Vec<(String, String)>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parts = Parts {
        query,
        upgrade: upgrade.ok(),
        headers,
        body,
    };
    http.resource(method, &rest, true, parts).await
}

async fn group_resource(
    State(http): State<Arc<Http>>,
    method: Method,
    Path(rest): Path<String>,
    QueryParams(query): QueryParams<Vec<(String, String)>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parts = Parts {
        query,
        upgrade: upgrade.ok(),
        headers,
        body,
    };
    http.resource(method, &rest, false, parts).await
}

/// What a resource request brings beside its method and path.
struct Parts {
    query: Vec<(String, String)>,
    /// Present when the request asks for a WebSocket (exec).
    upgrade: Option<WebSocketUpgrade>,
    headers: HeaderMap,
    body: Bytes,
}

impl Http {
    async fn resource(&self, method: Method, rest: &str, core: bool, parts: Parts) -> Response {
        let Parts {
            query: pairs,
            upgrade,
            headers,
            body,
        } = parts;
        let query: HashMap<String, String> = pairs.iter().cloned().collect();
        let started = Instant::now();
        let target = match path::parse(rest, core) {
            Ok(Route::Resource(t)) => t,
            Ok(Route::GroupVersion(gv)) => {
                return unauthenticated(self, &headers)
                    .unwrap_or_else(|| reply::json(StatusCode::OK, &discovery::resource_list(&gv)))
            }
            Ok(Route::Group(g)) => {
                return match (unauthenticated(self, &headers), discovery::group(&g)) {
                    (Some(r), _) => r,
                    (None, Some(doc)) => reply::json(StatusCode::OK, &doc),
                    (None, None) => reply::error(&path::not_served()),
                }
            }
            Err(e) => return reply::error(&e),
        };
        let table = reply::wants_table(&headers);
        let whole_objects = query.get("includeObject").map(String::as_str) == Some("Object");
        let r = Request {
            method,
            target,
            query: Query(query),
            pairs,
            headers,
            body,
            table,
            whole_objects,
        };
        let (verb, result) = if r.target.subresource == "exec" && r.target.info.plural == "pods" {
            ("exec", self.exec(&r, upgrade).await)
        } else {
            writer::scope(self.writer(&r), self.dispatch(&r)).await
        };
        let code = match &result {
            Ok(_) => "OK".to_string(),
            Err(e) => e.reason.to_string(),
        };
        self.metrics
            .record(verb, r.target.info.plural, &code, started.elapsed());
        match result {
            Ok(resp) => resp,
            Err(e) => reply::error(&e),
        }
    }

    /// Calls the verb a method and path name; returns the verb's name for the metrics.
    async fn dispatch(&self, r: &Request) -> (&'static str, Result<Response, ApiError>) {
        let t = &r.target;
        let collection = t.name.is_empty();
        let watch = match r.query.flag("watch") {
            Ok(w) => w,
            Err(e) => return ("watch", Err(e)),
        };
        let m = &r.method;
        match (t.subresource.as_str(), collection) {
            ("", true) if *m == Method::GET && watch => ("watch", self.watch(r).await),
            ("", true) if *m == Method::GET => ("list", self.list(r).await),
            ("", true) if *m == Method::POST => ("create", self.create(r).await),
            ("", true) if *m == Method::DELETE => {
                ("deletecollection", self.delete_collection(r).await)
            }
            ("", false) if *m == Method::GET => ("get", self.get(r).await),
            ("", false) if *m == Method::PUT => {
                ("update", self.update(r, UpdateKind::Object).await)
            }
            ("", false) if *m == Method::PATCH => {
                ("patch", self.patch(r, UpdateKind::Object).await)
            }
            ("", false) if *m == Method::DELETE => ("delete", self.delete(r).await),
            ("status", false) if *m == Method::GET => ("get", self.get(r).await),
            ("status", false) if *m == Method::PUT => {
                ("update_status", self.update(r, UpdateKind::Status).await)
            }
            ("status", false) if *m == Method::PATCH => {
                ("patch_status", self.patch(r, UpdateKind::Status).await)
            }
            ("scale", false) if *m == Method::GET => ("get_scale", self.get_scale(r).await),
            ("scale", false) if *m == Method::PUT => ("update_scale", self.update_scale(r).await),
            ("scale", false) if *m == Method::PATCH => ("update_scale", self.patch_scale(r).await),
            ("log", false) if *m == Method::GET => ("logs", self.logs(r).await),
            ("binding", false) if *m == Method::POST => ("bind", self.bind(r).await),
            _ => (
                "unknown",
                Err(ApiError::method_not_allowed(format!(
                    "the server does not allow this method on the requested resource ({} {})",
                    r.method,
                    if t.subresource.is_empty() {
                        t.info.plural.to_string()
                    } else {
                        format!("{}/{}", t.info.plural, t.subresource)
                    }
                ))),
            ),
        }
    }

    /// The writer the request's writes record: `?fieldManager=`, else the user agent's
    /// product, else the user.
    fn writer(&self, r: &Request) -> Writer {
        let user = self
            .auth
            .authenticate(bearer(&r.headers))
            .map(|u| u.name.as_str())
            .unwrap_or("");
        let user_agent = r
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let field_manager = r.query.0.get("fieldManager").map(String::as_str);
        Writer {
            manager: writer::manager(field_manager, user_agent, user),
            subresource: if r.target.subresource == "status" {
                "status"
            } else {
                ""
            },
        }
    }

    /// The request's authorization attributes for `verb`.
    fn attributes<'a>(&self, r: &'a Request, verb: &'static str) -> Attributes<'a> {
        Attributes {
            verb,
            info: r.target.info,
            subresource: &r.target.subresource,
            namespace: &r.target.namespace,
            name: &r.target.name,
        }
    }

    fn caller(&self, r: &Request, a: &Attributes<'_>) -> Result<Caller, ApiError> {
        self.auth.caller(bearer(&r.headers), a)
    }

    /// Authorizes a request that needs no per-object guard (reads, scale, log, binding).
    fn authorize(&self, r: &Request, verb: &'static str) -> Result<(), ApiError> {
        let a = self.attributes(r, verb);
        self.caller(r, &a).map(|_| ())
    }

    /// The registry a write goes to: this one, or a dry run of it that stores nothing.
    fn registry_for(&self, dry_run: bool) -> Cow<'_, Registry> {
        if dry_run {
            Cow::Owned(self.registry.dry_run())
        } else {
            Cow::Borrowed(&self.registry)
        }
    }
}
