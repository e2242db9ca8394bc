//! What every scenario shares: a fake apiserver and a client for it, deadlines, a test pod.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use skiff_api::types::{Container, Pod, Resource};
use skiff_client::{Client, ClientConfig};

use crate::fake::{FakeServer, Shared};

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn step(what: &str) {
    println!("=== {what}");
}

/// One fake apiserver with no authentication, and a client for it.
pub async fn single() -> (Arc<Shared>, FakeServer, Client) {
    init_tracing();
    let shared = Shared::new();
    let server = FakeServer::start(&shared).await;
    let client = client(&[server.endpoint()], None);
    (shared, server, client)
}

pub fn client(endpoints: &[String], token: Option<&str>) -> Client {
    let mut config =
        ClientConfig::new(endpoints.iter().cloned()).with_timeout(Duration::from_secs(3));
    if let Some(token) = token {
        config = config.with_token(token);
    }
    Client::new(config).unwrap()
}

/// Runs `f` with a deadline, failing the test with `what` if it passes.
pub async fn within<T>(secs: u64, what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {secs}s: {what}"),
    }
}

/// Polls `cond` every 20 ms until it holds, for at most `secs`.
pub async fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    within(secs, what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

pub fn pod(namespace: &str, name: &str, app: &str) -> Pod {
    let mut pod = Pod::named(namespace, name);
    pod.metadata
        .labels
        .insert("app".to_string(), app.to_string());
    pod.spec.containers.push(Container {
        name: "main".to_string(),
        image: "busybox".to_string(),
        ..Container::default()
    });
    pod
}
