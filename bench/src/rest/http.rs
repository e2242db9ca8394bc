//! The REST side of the benchmark: an HTTPS client of the apiserver's Kubernetes API that
//! trusts the cluster CA and sends the bearer token, as kubectl does (HTTP/1.1, JSON).

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::Value;

use super::RestBenchError;

/// What kubectl's `get` asks for: server-side printing as a `meta.k8s.io/v1` Table.
pub const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// A REST client; each one keeps its own connections (HTTP/1.1: one request at a time per
/// connection, so concurrent callers each get one).
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    pub fn new(base: &str, token: &str, ca_pem: &[u8]) -> Result<Rest, RestBenchError> {
        let ca = reqwest::Certificate::from_pem(ca_pem)
            .map_err(|e| RestBenchError::Setup(format!("the cluster CA is not PEM: {e}")))?;
        let http = reqwest::Client::builder()
            .add_root_certificate(ca)
            .tls_built_in_root_certs(false)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| RestBenchError::Setup(format!("the HTTPS client: {e}")))?;
        Ok(Rest {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs `body` to a collection and reads the whole reply; why not, when it is not 201.
    pub async fn create(&self, path: &str, body: Vec<u8>) -> Result<(), String> {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = resp.status();
        // The whole reply is read, as a client that uses the created object would.
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("POST {path}: reading the reply: {e}"))?;
        if status != StatusCode::CREATED {
            return Err(format!(
                "POST {path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        Ok(())
    }

    /// GETs `path` with `accept`; the body's size and its JSON.
    pub async fn get_json(&self, path: &str, accept: &str) -> Result<(usize, Value), String> {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .header(ACCEPT, accept)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("GET {path}: reading the reply: {e}"))?;
        if status != StatusCode::OK {
            return Err(format!(
                "GET {path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        let json = serde_json::from_slice(&bytes)
            .map_err(|e| format!("GET {path}: the reply is not JSON: {e}"))?;
        Ok((bytes.len(), json))
    }

    /// Opens a watch (`?watch=1` on `path`, which carries its own query) and returns once the
    /// server has answered, so events written afterwards are live, not replayed.
    pub async fn watch(&self, path: &str) -> Result<WatchLines, String> {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if resp.status() != StatusCode::OK {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            return Err(format!("GET {path}: {status}: {text}"));
        }
        Ok(WatchLines {
            body: Box::pin(resp.bytes_stream()),
            buffer: Vec::new(),
        })
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// A watch's chunked body, split into its `WatchEvent` lines.
pub struct WatchLines {
    body: ByteStream,
    buffer: Vec<u8>,
}

impl WatchLines {
    /// The next event (`None` when the server ended the watch).
    pub async fn next(&mut self) -> Result<Option<Value>, String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return serde_json::from_slice(&line)
                    .map(Some)
                    .map_err(|e| format!("a watch line is not JSON: {e}"));
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(format!("the watch broke: {e}")),
                None => return Ok(None),
            }
        }
    }
}
