//! Headless Chromium driven over the DevTools protocol: JSON commands on the page's WebSocket
//! (tokio-tungstenite), enough to load a page, evaluate JavaScript and take a screenshot.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use skiff_testkit::cluster::free_port;
use skiff_testkit::process::Process;
use skiff_testkit::wait_for;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const CHROMIUM: &str = "/usr/bin/chromium";

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A headless Chromium (killed by PID when dropped) and a DevTools connection to its page.
pub struct Browser {
    _process: Process,
    /// Behind a lock so checks polled by `wait_for` can share the browser.
    socket: tokio::sync::Mutex<Socket>,
    next_id: std::sync::atomic::AtomicU64,
}

/// `GET path` on the DevTools HTTP port; Chromium answers only a Host that is an IP or
/// `localhost`, and keeps the connection open, so the body is read to its Content-Length.
async fn devtools_get(port: u16, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let read = async {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            bytes.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&bytes);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().ok())
                })??;
                if body.len() >= length {
                    return Some(body.to_string());
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()?
}

impl Browser {
    /// Starts Chromium with a profile under `dir` and connects to its first page.
    pub async fn launch(dir: &Path) -> Browser {
        let port = free_port();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=1400,1000",
            &format!("--remote-debugging-port={port}"),
            &format!("--user-data-dir={}", dir.join("chromium-profile").display()),
            "about:blank",
        ];
        let mut process = Process::new(
            "chromium",
            Path::new(CHROMIUM),
            args.iter().map(|a| a.to_string()).collect(),
            dir.join("chromium.log"),
        );
        process.start();
        let url: String = wait_for(
            "chromium's DevTools page endpoint",
            Duration::from_secs(30),
            || async {
                let body = devtools_get(port, "/json/list").await?;
                let targets: Vec<Value> = serde_json::from_str(&body).ok()?;
                targets
                    .iter()
                    .find(|t| t["type"] == "page")?
                    .get("webSocketDebuggerUrl")?
                    .as_str()
                    .map(String::from)
            },
        )
        .await;
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connect to chromium's page at {url}: {e}"));
        Browser {
            _process: process,
            socket: tokio::sync::Mutex::new(socket),
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Sends a DevTools command and returns its result (events in between are skipped).
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let command = json!({"id": id, "method": method, "params": params}).to_string();
        let mut socket = self.socket.lock().await;
        socket
            .send(Message::text(command))
            .await
            .unwrap_or_else(|e| panic!("send {method} to chromium: {e}"));
        let wait = async {
            while let Some(message) = socket.next().await {
                let message = message.unwrap_or_else(|e| panic!("read from chromium: {e}"));
                let Message::Text(text) = message else {
                    continue;
                };
                let reply: Value = serde_json::from_str(text.as_str()).expect("DevTools JSON");
                if reply["id"] == json!(id) {
                    if let Some(error) = reply.get("error") {
                        panic!("chromium refused {method}: {error}");
                    }
                    return reply["result"].clone();
                }
            }
            panic!("chromium closed the DevTools connection during {method}");
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("chromium did not answer {method} within 30 s"))
    }

    pub async fn navigate(&self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
    }

    /// The value of a JavaScript expression evaluated in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("`{expression}` threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Saves a PNG of the page at `path` (directories made).
    pub async fn screenshot(&self, path: &PathBuf) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
        eprintln!("screenshot: {}", path.display());
    }
}
