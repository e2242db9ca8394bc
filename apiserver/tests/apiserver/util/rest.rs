//! A REST client of the apiserver's HTTPS API for tests: reqwest trusting the test CA, a bearer token, JSON in and out, and watch streams read line by line.

use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Rest {
    client: reqwest::Client,
    base: String,
    token: String,
}

/// A response: status and body as JSON (Null when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

impl Rest {
    pub fn new(port: u16, ca_pem: &str, token: &str) -> Rest {
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("the CA certificate");
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .tls_built_in_root_certs(false)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTPS client");
        Rest {
            client,
            base: format!("https://127.0.0.1:{port}"),
            token: token.to_string(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut b = self.client.request(method, format!("{}{path}", self.base));
        if !self.token.is_empty() {
            b = b.bearer_auth(&self.token);
        }
        b
    }

    pub async fn send(&self, b: reqwest::RequestBuilder) -> Reply {
        let resp = b.send().await.expect("the HTTPS request");
        let status = resp.status();
        let text = resp.text().await.expect("the response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn get_accept(&self, path: &str, accept: &str) -> Reply {
        self.send(self.request(Method::GET, path).header("accept", accept))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    pub async fn patch(&self, path: &str, content_type: &str, body: &str) -> Reply {
        let b = self
            .request(Method::PATCH, path)
            .header("content-type", content_type)
            .body(body.to_string());
        self.send(b).await
    }

    pub async fn delete(&self, path: &str, body: Option<&Value>) -> Reply {
        let mut b = self.request(Method::DELETE, path);
        if let Some(body) = body {
            b = b.json(body);
        }
        self.send(b).await
    }

    /// Opens a watch (`path` carries `?watch=1&...`); events come from [`Watch::next`].
    pub async fn watch(&self, path: &str) -> Watch {
        let resp = self
            .request(Method::GET, path)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .expect("the watch request");
        assert_eq!(resp.status(), StatusCode::OK, "watch {path}");
        Watch {
            stream: Box::pin(resp.bytes_stream()),
            buffer: Vec::new(),
        }
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

pub struct Watch {
    stream: ByteStream,
    buffer: Vec<u8>,
}

impl Watch {
    /// The next event `(type, object)`, or None when the stream ended; panics after `within`.
    pub async fn next(&mut self, within: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(pos) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=pos).collect();
                let ev: Value = serde_json::from_slice(&line).expect("a JSON watch event");
                let kind = ev["type"].as_str().unwrap_or_default().to_string();
                return Some((kind, ev["object"].clone()));
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => panic!("no watch event within {within:?}"),
                Ok(None) => return None,
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk.expect("watch bytes")),
            }
        }
    }

    /// The next event that is not a BOOKMARK.
    pub async fn next_change(&mut self, within: Duration) -> Option<(String, Value)> {
        loop {
            match self.next(within).await {
                Some((t, _)) if t == "BOOKMARK" => continue,
                other => return other,
            }
        }
    }
}
