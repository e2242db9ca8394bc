//! `skiff dashboard`: a web page with a live picture of the cluster (store members, leases,
//! nodes and their pods, controllers, events), pushed to the browser as Server-Sent Events;
//! clicking an object shows its `skiff trace` and `skiff history`.
//!
//! The page, its script and style are embedded in the binary: no internet needed.

mod feeds;
pub mod model;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use futures::Stream;
use serde_json::json;
use skiff_client::Client;
use tokio::sync::watch;

use crate::cmd::status::store_pki;
use crate::ctx::{outln, Ctx};
use crate::error::CliError;
use feeds::Shared;
use model::WATCHED;

#[derive(Args, Debug, Clone)]
pub struct DashboardArgs {
    /// Where the page is served (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8001", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Store members' client URLs (default: from the config file).
    #[arg(long, value_delimiter = ',', value_name = "URL")]
    pub store_endpoints: Vec<String>,
    /// The cluster's certificates (`skiff certs`' layout) for the store calls (default: the
    /// config's `cluster-dir` or `pki-dir`).
    #[arg(long, value_name = "DIR")]
    pub pki_dir: Option<std::path::PathBuf>,
}

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

#[derive(Clone)]
struct App {
    client: Client,
    snapshots: watch::Receiver<Arc<String>>,
}

pub async fn run(ctx: &Ctx, args: &DashboardArgs) -> Result<(), CliError> {
    let shared = Shared::default();
    for resource in WATCHED {
        tokio::spawn(feeds::watch_resource(
            ctx.client.clone(),
            shared.clone(),
            resource,
        ));
    }
    let stores = if args.store_endpoints.is_empty() {
        ctx.config.stores.clone()
    } else {
        args.store_endpoints.clone()
    };
    let pki = match &args.pki_dir {
        Some(dir) => Some(skiff_common::pki_layout::PkiLayout::new(dir)),
        None => store_pki(ctx),
    };
    tokio::spawn(feeds::poll_stores(stores, pki, shared.clone()));
    let (sender, snapshots) = watch::channel(Arc::new(String::from("{}")));
    tokio::spawn(feeds::publish(shared, sender));

    let app = App {
        client: ctx.client.clone(),
        snapshots,
    };
    let router = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript", SCRIPT) }),
        )
        .route("/style.css", get(|| async { asset("text/css", STYLE) }))
        .route("/updates", get(updates))
        .route("/object", get(object))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::msg(format!("cannot listen on {}: {e}", args.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::msg(format!("cannot read the listening address: {e}")))?;
    outln(&format!("dashboard: http://{address}/"));
    axum::serve(listener, router)
        .await
        .map_err(|e| CliError::msg(format!("the dashboard server stopped: {e}")))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

/// The snapshots, the current one first, then one per change.
async fn updates(State(app): State<App>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures::stream::unfold((app.snapshots, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let data = rx.borrow_and_update().clone();
        Some((Ok(Event::default().data(data.as_str())), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// `?kind=pod&namespace=default&name=web-1`: the object's trace (for the kinds `skiff trace`
/// follows) and history, as the commands print them, or why not.
async fn object(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<serde_json::Value> {
    let field = |f: &str| query.get(f).map(String::as_str).unwrap_or("");
    let (kind, name) = (field("kind"), field("name"));
    let namespace = match field("namespace") {
        "" => "default",
        ns => ns,
    };
    if kind.is_empty() || name.is_empty() {
        return Json(json!({"error": "the query names no object: ?kind=KIND&name=NAME"}));
    }
    let text = |r: Result<String, CliError>| r.unwrap_or_else(|e| e.to_string());
    let trace = if crate::trace::resource_of(kind).is_some() {
        Some(text(
            crate::trace::trace(&app.client, namespace, kind, name).await,
        ))
    } else {
        None
    };
    let history = text(crate::history::history_text(&app.client, namespace, kind, name).await);
    Json(json!({"kind": kind, "namespace": namespace, "name": name,
                "trace": trace, "history": history}))
}
