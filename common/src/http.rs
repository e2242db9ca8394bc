//! The plain-HTTP side door of every server: `GET /metrics` in Prometheus'
//! text format and `GET /health` ({"health":"true"} or 503 with the reason,
//! the shape etcd uses).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What a server reports through the endpoint.
pub trait Observe: Send + Sync + 'static {
    /// Prometheus text exposition of the server's metrics.
    fn metrics(&self) -> String;
    /// Ok when the server can do its job, else why not.
    fn health(&self) -> Result<(), String>;
}

/// Serves until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, observe: Arc<dyn Observe>, shutdown: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(%err, "metrics endpoint accept failed");
                    continue;
                }
            },
        };
        let observe = observe.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| respond(req, observe.clone()));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            let _ = conn.await;
        });
    }
}

async fn respond(
    req: Request<Incoming>,
    observe: Arc<dyn Observe>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, content_type, body) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            observe.metrics(),
        ),
        (&Method::GET, "/health") | (&Method::GET, "/healthz") => match observe.health() {
            Ok(()) => (
                StatusCode::OK,
                "application/json",
                r#"{"health":"true"}"#.to_string(),
            ),
            Err(reason) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                format!(r#"{{"health":"false","reason":{}}}"#, json_string(&reason)),
            ),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_string(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    Ok(response)
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
