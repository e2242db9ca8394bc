//! The node agent: registers the Node, heartbeats its Lease, runs a worker per pod bound to
//! the node, and serves container logs to the apiserver.

pub mod config;
pub mod exec;
pub mod hollow;
pub mod lease;
pub mod logs;
pub mod machine;
pub mod node;
pub mod sandbox;
pub mod tls;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use skiff_api::quantity::Quantity;
use skiff_api::types::Pod;
use skiff_client::{Client, ClientConfig};
use skiff_proto::skiffapi::node_logs_server::NodeLogsServer;
use skiff_runtime::events::EventRecorder;
use skiff_runtime::informer::{Informer, InformerConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::{Backend, FakeRuntime};
use crate::images::{ImageCatalog, ImageError};
use crate::ipam::{Ipam, IpamError};
use crate::metrics::NodeMetrics;
use crate::pod::manager::{forward_events, PodManager};
use crate::pod::NodeContext;
use crate::runtime::{Runtime, RuntimeConfig, RuntimeError};
use config::{AgentConfig, RuntimeKind};
use node::NodeIdentity;

/// How often a pod worker re-examines its pod with nothing else happening.
const POD_RESYNC: Duration = Duration::from_secs(10);
/// How long shutdown waits for the agent's tasks.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("apiserver client: {0}")]
    Client(#[from] skiff_client::ConfigError),
    #[error("container runtime: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("image catalog: {0}")]
    Images(#[from] ImageError),
    #[error("pod IPs: {0}")]
    Ipam(#[from] IpamError),
    #[error("pod sandboxes: {0}")]
    Sandbox(#[from] crate::sandbox::SandboxError),
    #[error("{0}")]
    SandboxMode(String),
    #[error(transparent)]
    Tls(#[from] skiff_common::tls::TlsError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AgentError {
    let context = context.into();
    move |source| AgentError::Io { context, source }
}

/// The binary containers run under (their supervisor, the image stand-ins): the small
/// `skiff-nodelet-shim` installed next to this one, else this binary itself (it has the same
/// hidden subcommands, at a higher memory cost per container).
pub fn helper_binary(exe: &std::path::Path) -> PathBuf {
    let shim = exe.with_file_name("skiff-nodelet-shim");
    if shim.is_file() {
        shim
    } else {
        exe.to_path_buf()
    }
}

/// The Node's capacity from the flags, or the machine.
fn capacity(config: &AgentConfig) -> BTreeMap<String, Quantity> {
    let memory = config
        .memory
        .clone()
        .or_else(machine::memory_capacity)
        .unwrap_or_else(|| Quantity("0".to_string()));
    BTreeMap::from([
        (
            "cpu".to_string(),
            config.cpu.clone().unwrap_or_else(machine::cpu_capacity),
        ),
        ("memory".to_string(), memory),
        ("pods".to_string(), Quantity(config.max_pods.to_string())),
    ])
}

/// The agent as a program: validates the flags, sets up logging and the async runtime, and
/// runs until SIGTERM or Ctrl-C.
pub fn main(args: config::AgentArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("skiff-nodelet: {e}");
            return ExitCode::from(2);
        }
    };
    skiff_common::logging::init(&config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("skiff-nodelet: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = skiff_common::shutdown::on_signals();
        match hollow::run_nodes(config, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("skiff-nodelet: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Runs the agent until `shutdown` is cancelled. Containers keep running after it returns:
/// a restarted agent adopts them.
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> Result<(), AgentError> {
    let node = config.node_name.clone();
    std::fs::create_dir_all(&config.data_dir)
        .map_err(io(format!("creating {}", config.data_dir.display())))?;
    let exe: PathBuf = std::env::current_exe().map_err(io("locating the skiff-nodelet binary"))?;
    let helper = helper_binary(&exe);
    let client = Client::new(
        ClientConfig::new(config.apiservers.clone())
            .with_token(config.token.clone())
            .with_ca_pem(config.ca_pem.clone())
            .with_user_agent(format!("skiff-nodelet/{node}")),
    )?;
    let metrics = Arc::new(NodeMetrics::new(config.heartbeat_interval));
    let (backend, runtime_name) = match config.runtime {
        RuntimeKind::Process => (
            Backend::Process(Runtime::new(RuntimeConfig::new(&config.data_dir, &helper))?),
            "process",
        ),
        RuntimeKind::Fake => (Backend::Fake(FakeRuntime::new()), "fake"),
    };
    let mut catalog = ImageCatalog::new(&helper);
    if let Some(file) = &config.image_catalog {
        catalog.load_file(file)?;
    }
    let sandboxed = sandbox::sandboxed(&config).map_err(AgentError::SandboxMode)?;
    let pod_cidr = config.pod_cidr(sandboxed);
    let mut ipam = Ipam::open(config.data_dir.join("ipam.json"), pod_cidr)?;
    let sandboxes = if sandboxed {
        ipam = ipam.reserve(pod_cidr.gateway());
        Some(sandbox::open(&config, &helper, pod_cidr).await?)
    } else {
        None
    };
    let recovered = backend.recover()?;
    tracing::info!(node = %node, containers = recovered.len(), runtime = runtime_name, "nodelet starting");

    // Certificates are checked before the port opens.
    let logs_tls = config.tls.load()?;
    let logs_listener = TcpListener::bind(config.listen)
        .await
        .map_err(io(format!("listening on {}", config.listen)))?;
    let logs_port = logs_listener
        .local_addr()
        .map_err(io("reading the log service's address"))?
        .port();
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(io(format!("listening on {addr}")))?,
        ),
        None => None,
    };

    let identity = NodeIdentity {
        name: node.clone(),
        labels: config.labels.clone(),
        pod_cidr: pod_cidr.to_string(),
        capacity: capacity(&config),
        address: config.node_ip.to_string(),
        logs_port,
        info: machine::node_info(runtime_name),
    };
    let mut informer: Informer<Pod> = Informer::new(
        client.clone(),
        InformerConfig::default().fields(format!("spec.nodeName={node}")),
    );
    let (changes_tx, changes_rx) = mpsc::unbounded_channel();
    informer.on_event(forward_events(changes_tx));
    let store = informer.store();
    let ctx = Arc::new(NodeContext {
        node_name: node.clone(),
        host_ip: config.node_ip.to_string(),
        recorder: EventRecorder::new(client.clone(), "kubelet", &node),
        client: client.clone(),
        backend: backend.clone(),
        catalog,
        ipam,
        sandboxes: sandboxes.clone(),
        backoff_base: config.crashloop_backoff_base,
        resync: POD_RESYNC,
        metrics: metrics.clone(),
    });

    let tasks = TaskTracker::new();
    let status_period = (config.heartbeat_interval * 5).min(Duration::from_secs(10));
    tasks.spawn(node::keep_registered(
        client.clone(),
        identity,
        status_period,
        metrics.clone(),
        shutdown.child_token(),
    ));
    tasks.spawn(lease::heartbeat(
        client.clone(),
        node.clone(),
        config.heartbeat_interval,
        metrics.clone(),
        shutdown.child_token(),
    ));
    tasks.spawn(informer.run(shutdown.child_token()));
    if let Some(sandboxes) = sandboxes {
        tasks.spawn(sandbox::keep_network(
            client.clone(),
            sandboxes,
            config.data_dir.clone(),
            node.clone(),
            config.node_ip,
            shutdown.child_token(),
        ));
    }
    tasks.spawn(
        PodManager::new(ctx, store.clone(), changes_rx).run(recovered, shutdown.child_token()),
    );
    let service = logs::LogService {
        backend,
        pods: store,
        shutdown: shutdown.child_token(),
        client_certificates: config.tls.client_ca_file.is_some(),
    };
    let router = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(NodeLogsServer::new(service));
    let stopped = shutdown.clone().cancelled_owned();
    let serve_logs: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
    > = match logs_tls {
        Some(server) => {
            let incoming =
                skiff_common::tls::accept(logs_listener, server, "logs", shutdown.clone());
            Box::pin(router.serve_with_incoming_shutdown(incoming, stopped))
        }
        None => Box::pin(
            router.serve_with_incoming_shutdown(TcpListenerStream::new(logs_listener), stopped),
        ),
    };
    tasks.spawn(async move {
        if let Err(e) = serve_logs.await {
            tracing::error!(error = %e, "the log service failed");
        }
    });
    if let Some(listener) = metrics_listener {
        tasks.spawn(skiff_common::http::serve(
            listener,
            metrics.clone(),
            shutdown.child_token(),
        ));
    }
    tracing::info!(node = %node, logs_port, "nodelet running");
    shutdown.cancelled().await;
    tasks.close();
    if tokio::time::timeout(SHUTDOWN_WAIT, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some tasks did not stop in time");
    }
    tracing::info!(node = %node, "nodelet stopped; containers keep running");
    Ok(())
}
