//! skiff-store: an etcd-compatible key-value store replicated with Raft.
//!
//! # Layout
//! - [`backup`]: snapshot files (`etcdctl snapshot save`) and `skiff-store restore`.
//! - [`config`]: flags (etcd's names) and the cluster identity they define.
//! - [`datadir`]: the data directory and its ownership marker.
//! - `join`: this member's identity (new cluster, joining a running one, restart).
//! - [`raft`]: the raft thread, the raft log (a write-ahead log of its own), the peer transport.
//! - [`mvcc`]: the state machine: revisions, key index, history, txn, leases.
//! - [`watch`]: the watch hub that streams applied events to watchers.
//! - [`lessor`]: lease expiry, kept by the leader.
//! - [`server`]: the etcd v3 gRPC services and the raft peer service.
//! - [`error`]: the store's error type and its mapping to gRPC statuses.

pub mod backup;
pub mod config;
pub mod datadir;
pub mod error;
mod join;
pub mod lessor;
pub mod mvcc;
mod observe;
pub mod raft;
pub mod server;
mod tls;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use skiff_proto::etcdserverpb::cluster_server::ClusterServer;
use skiff_proto::etcdserverpb::kv_server::KvServer;
use skiff_proto::etcdserverpb::lease_server::LeaseServer;
use skiff_proto::etcdserverpb::maintenance_server::MaintenanceServer;
use skiff_proto::etcdserverpb::watch_server::WatchServer;
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::raft_peer_server::RaftPeerServer;
use skiff_proto::skiffstore::MemberAttributes;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::server::TcpIncoming;

use crate::config::{socket_addr, Config};
use crate::mvcc::StateMachine;
use crate::server::{
    ClusterService, Forwarder, KvService, LeaseService, MaintenanceService, Member, PeerService,
    WatchService,
};

/// gRPC accepts messages well above --max-request-bytes, so that an oversized
/// request reaches the handler and gets etcd's own error message.
const GRPC_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Runs one member until `shutdown` is cancelled or its storage fails.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    config.validate()?;
    let tls = tls::load(&config)?;
    let identity = join::resolve(&config, tls.peer_client.as_ref()).await?;
    let (my_id, cluster_id) = (identity.member_id, identity.cluster_id);
    let db = datadir::open(&config.data_dir, &config.name, my_id, cluster_id)?;
    let state = Arc::new(StateMachine::open(db.open_tree("state")?).with_context(|| {
        format!(
            "data dir {}: the state machine cannot be read",
            config.data_dir.display()
        )
    })?);

    let mut client_listeners = Vec::new();
    for url in &config.listen_client_urls {
        let addr = socket_addr("--listen-client-urls", url)?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {url}"))?;
        let tls = config::is_https(url).then(|| tls.client.clone()).flatten();
        client_listeners.push((listener, tls));
    }
    let peer_url = config
        .listen_peer_urls
        .first()
        .context("--listen-peer-urls is empty")?;
    let peer_listener = TcpListener::bind(socket_addr("--listen-peer-urls", peer_url)?)
        .await
        .with_context(|| format!("cannot listen on {peer_url}"))?;
    let mut metrics_listeners = Vec::new();
    for url in &config.listen_metrics_urls {
        let addr = socket_addr("--listen-metrics-urls", url)?;
        metrics_listeners.push(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {url}"))?,
        );
    }

    // A member that has applied a membership follows it, not the flags it was started with.
    let applied: Vec<(u64, String)> = state
        .cluster()
        .members
        .iter()
        .filter_map(|m| Some((m.id, m.peer_urls.first()?.clone())))
        .collect();
    let node_config = raft::NodeConfig {
        id: my_id,
        cluster_id,
        peers: if applied.is_empty() {
            identity.peers.clone()
        } else {
            applied
        },
        initial: identity.initial.clone(),
        tick: config.tick(),
        election_ticks: config.election_ticks(),
        snapshot_count: config.snapshot_count,
        peer_tls: tls.peer_client.clone(),
    };
    let (node, _leader, raft_done) = raft::spawn(
        node_config,
        db.clone(),
        datadir::db_dir(&config.data_dir),
        state.clone(),
        tokio::runtime::Handle::current(),
        shutdown.clone(),
    )?;
    let lessor = Arc::new(lessor::Lessor::new(
        node.clone(),
        state.clone(),
        config.election_timeout(),
    ));
    let member = Arc::new(Member {
        id: my_id,
        cluster_id,
        name: config.name.clone(),
        node: node.clone(),
        state: state.clone(),
        lessor: lessor.clone(),
        forward: Forwarder::new(state.clone(), tls.peer_client.clone()),
        membership: tokio::sync::Mutex::new(()),
        quota_bytes: config.quota_bytes(),
        usage: Default::default(),
        db: db.clone(),
        max_request_bytes: config.max_request_bytes,
        unsafe_local_reads: config.unsafe_test_local_reads,
    });

    if config.unsafe_test_local_reads {
        tracing::warn!("--unsafe-test-local-reads: linearizable reads are answered from local state without ReadIndex and may be stale; for tests only");
    }
    // Background tasks are tracked, so shutdown waits for them before the final flush.
    let tasks = TaskTracker::new();
    tasks.spawn(lessor.run(shutdown.clone()));
    tasks.spawn(server::corruption::run(
        member.clone(),
        config.experimental_corrupt_check_time,
        shutdown.clone(),
    ));
    tasks.spawn(server::compactor::run(
        member.clone(),
        config.auto_compaction()?,
        shutdown.clone(),
    ));
    if let Some(key) = &config.unsafe_test_corrupt_key {
        tracing::warn!(
            key,
            "test fault planted: puts of this key store a wrong value here"
        );
        state.plant_fault(key.clone().into_bytes());
    }
    let attributes = MemberAttributes {
        member_id: my_id,
        name: config.name.clone(),
        client_urls: config.client_urls(),
    };
    tasks.spawn(publish(member.clone(), attributes, shutdown.clone()));
    for listener in metrics_listeners {
        let observer = Arc::new(observe::StoreObserver(member.clone()));
        tasks.spawn(skiff_common::http::serve(
            listener,
            observer,
            shutdown.clone(),
        ));
    }

    let peer_router = tonic::transport::Server::builder().add_service(
        RaftPeerServer::new(PeerService::new(member.clone()))
            .max_decoding_message_size(raft::transport::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(raft::transport::MAX_MESSAGE_BYTES),
    );
    let mut servers = tokio::task::JoinSet::new();
    let stopped = shutdown.clone().cancelled_owned();
    match (config::is_https(peer_url), tls.peer.clone()) {
        (true, Some(tls)) => {
            let incoming = skiff_common::tls::accept(peer_listener, tls, "peer", shutdown.clone());
            servers.spawn(peer_router.serve_with_incoming_shutdown(incoming, stopped));
        }
        _ => {
            servers
                .spawn(peer_router.serve_with_incoming_shutdown(incoming(peer_listener), stopped));
        }
    }
    let max_message = GRPC_MAX_MESSAGE_BYTES.max(config.max_request_bytes * 2);
    for (listener, tls) in client_listeners {
        let router = tonic::transport::Server::builder()
            .add_service(
                KvServer::new(KvService::new(member.clone()))
                    .max_decoding_message_size(max_message),
            )
            .add_service(WatchServer::new(WatchService::new(
                member.clone(),
                server::watch_progress_interval(),
            )))
            .add_service(LeaseServer::new(LeaseService::new(member.clone())))
            .add_service(ClusterServer::new(ClusterService::new(member.clone())))
            .add_service(MaintenanceServer::new(MaintenanceService::new(
                member.clone(),
            )));
        let stopped = shutdown.clone().cancelled_owned();
        match tls {
            Some(tls) => {
                // etcdctl's URL-form :authority is fixed inside TLS as on plain ports.
                use tokio_stream::StreamExt;
                let incoming = skiff_common::tls::accept(listener, tls, "client", shutdown.clone())
                    .map(|conn| conn.map(server::AuthorityFix::new));
                servers.spawn(router.serve_with_incoming_shutdown(incoming, stopped));
            }
            None => {
                servers
                    .spawn(router.serve_with_incoming_shutdown(client_incoming(listener), stopped));
            }
        }
    }
    tracing::info!(
        name = %config.name,
        member = %format!("{my_id:x}"),
        cluster = %format!("{cluster_id:x}"),
        clients = %config.listen_client_urls.join(","),
        peers = %peer_url,
        "skiff-store member started"
    );

    let outcome = serve_until_stopped(raft_done, &mut servers, &shutdown).await;
    shutdown.cancel();
    tasks.close();
    tasks.wait().await;
    outcome?;
    db.flush()?;
    Ok(())
}

/// Waits until raft stops or a server ends (then stops everything), and for every server.
async fn serve_until_stopped(
    raft_done: tokio::sync::oneshot::Receiver<error::Result<()>>,
    servers: &mut tokio::task::JoinSet<Result<(), tonic::transport::Error>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    tokio::select! {
        done = raft_done => {
            shutdown.cancel();
            if let Ok(Err(err)) = done {
                return Err(anyhow::anyhow!(err).context("raft stopped"));
            }
        }
        Some(ended) = servers.join_next() => {
            shutdown.cancel();
            ended?.context("server stopped")?;
        }
    }
    while let Some(ended) = servers.join_next().await {
        ended?.context("server stopped")?;
    }
    Ok(())
}

/// Accepted connections with TCP_NODELAY: without it, Nagle's algorithm and
/// delayed ACKs hold small responses back for ~40 ms.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Client connections, read through [`server::AuthorityFix`] so etcdctl's URL-form
/// `:authority` is accepted as etcd accepts it.
fn client_incoming(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<server::AuthorityFix<tokio::net::TcpStream>>>
{
    use tokio_stream::StreamExt;
    incoming(listener).map(|conn| conn.map(server::AuthorityFix::new))
}

/// Publishes this member's name and client URLs through the log (once per
/// change), so every member can list everyone's client URLs.
async fn publish(member: Arc<Member>, attributes: MemberAttributes, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if member.state.members().contains(&attributes) {
            return;
        }
        match member
            .node
            .propose(Request::MemberAttributes(attributes.clone()))
            .await
        {
            Ok(_) => return,
            Err(err) => tracing::debug!(%err, "member attributes not published yet"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
