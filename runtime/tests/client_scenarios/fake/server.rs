//! Serving the fake apiserver over gRPC on loopback, stopping it, and a port where nothing listens.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use skiff_proto::skiffapi::api_server::ApiServer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use super::{Service, Shared};

/// A running fake apiserver; stopped on drop.
pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
    flaky_writes: Arc<AtomicBool>,
    killed: CancellationToken,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub async fn start(shared: &Arc<Shared>) -> FakeServer {
        FakeServer::start_on(shared, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on a given address (to bring a stopped server back on its port).
    pub async fn start_on(shared: &Arc<Shared>, addr: SocketAddr) -> FakeServer {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = Service {
            shared: shared.clone(),
            requests: Arc::new(AtomicU64::new(0)),
            killed: CancellationToken::new(),
            flaky_writes: Arc::new(AtomicBool::new(false)),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tonic::transport::Server::builder()
            .add_service(ApiServer::new(service.clone()))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            });
        let handle = tokio::spawn(async move {
            let _ = server.await;
        });
        FakeServer {
            addr,
            requests: service.requests,
            flaky_writes: service.flaky_writes,
            killed: service.killed,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn set_flaky_writes(&self, flaky: bool) {
        self.flaky_writes.store(flaky, Ordering::Relaxed);
    }

    /// Ends its streams and stops serving; its port refuses connections afterwards.
    pub async fn stop(mut self) {
        self.killed.cancel();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let abort = handle.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), handle)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.killed.cancel();
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

/// A port on which nothing listens.
pub fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}
