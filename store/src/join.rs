//! Who this member is: its member id, its cluster's id and the members it starts
//! with. A new cluster's members derive them from the flags (every member the same);
//! a member added to a running cluster (`--initial-cluster-state existing`, empty data
//! dir) asks the members it was told about, as etcd does; a restarted member reads
//! them from its data dir.

use std::time::{Duration, Instant};

use anyhow::Context;
use skiff_proto::skiffstore::raft_peer_client::RaftPeerClient;
use skiff_proto::skiffstore::{ClusterMember, JoinRequest};
use tonic::transport::{ClientTlsConfig, Endpoint};

use crate::config::{cluster_id, Config};
use crate::datadir;
use crate::raft::transport::error_chain;

/// How long a joining member keeps asking the cluster.
const JOIN_PATIENCE: Duration = Duration::from_secs(15);

pub struct Identity {
    pub member_id: u64,
    pub cluster_id: u64,
    /// Every member (this one included) with its peer URL, as far as the flags or the
    /// cluster tell; the applied membership replaces it once the data dir has one.
    pub peers: Vec<(u64, String)>,
    /// The membership a brand-new cluster starts with; empty otherwise.
    pub initial: Vec<ClusterMember>,
}

/// `peer_tls` is what this member presents to its peers (and trusts them with): a joining
/// member asks the cluster through its peer port, which may require a client certificate.
pub async fn resolve(
    config: &Config,
    peer_tls: Option<&ClientTlsConfig>,
) -> anyhow::Result<Identity> {
    let peers = config.peers()?;
    let me = peers
        .iter()
        .find(|p| p.name == config.name)
        .cloned()
        .context("member not in --initial-cluster")?;
    let listed: Vec<(u64, String)> = peers.iter().map(|p| (p.id, p.url.clone())).collect();
    let existing = config.initial_cluster_state == "existing";
    if existing && datadir::exists(&config.data_dir) {
        if let Some(owner) = datadir::owner(&config.data_dir)? {
            anyhow::ensure!(
                owner.name == config.name,
                "data dir {} belongs to member {}, not {}",
                config.data_dir.display(),
                owner.name,
                config.name
            );
            return Ok(Identity {
                member_id: owner.member_id,
                cluster_id: owner.cluster_id,
                peers: listed,
                initial: Vec::new(),
            });
        }
    }
    if existing {
        return join(&me.url, &listed, peer_tls).await;
    }
    Ok(Identity {
        member_id: me.id,
        cluster_id: cluster_id(&peers, &config.initial_cluster_token),
        peers: listed.clone(),
        initial: listed
            .into_iter()
            .map(|(id, url)| ClusterMember {
                id,
                peer_urls: vec![url],
                is_learner: false,
            })
            .collect(),
    })
}

/// Asks the other listed members which member `my_url` was added as.
async fn join(
    my_url: &str,
    listed: &[(u64, String)],
    tls: Option<&ClientTlsConfig>,
) -> anyhow::Result<Identity> {
    let deadline = Instant::now() + JOIN_PATIENCE;
    let mut last_error = String::from("no other member is listed in --initial-cluster");
    while Instant::now() < deadline {
        for (_, url) in listed.iter().filter(|(_, url)| url != my_url) {
            match ask(url, my_url, tls).await {
                Ok(identity) => return Ok(identity),
                Err(status) if status.code() == tonic::Code::NotFound => {
                    anyhow::bail!(
                        "--initial-cluster-state existing: {url} says {}; add this member first \
                         (etcdctl member add NAME --peer-urls={my_url})",
                        status.message()
                    )
                }
                Err(status) => last_error = format!("{url}: {}", status.message()),
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    anyhow::bail!(
        "--initial-cluster-state existing: no member of the cluster answered ({last_error})"
    )
}

async fn ask(
    url: &str,
    my_url: &str,
    tls: Option<&ClientTlsConfig>,
) -> Result<Identity, tonic::Status> {
    let endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
    let channel = skiff_common::tls::with_tls(endpoint, tls)
        .map_err(|e| tonic::Status::invalid_argument(error_chain(&e)))?
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(3))
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(error_chain(&e)))?;
    let answer = RaftPeerClient::new(channel)
        .join(JoinRequest {
            peer_url: my_url.to_string(),
        })
        .await?
        .into_inner();
    Ok(Identity {
        member_id: answer.member_id,
        cluster_id: answer.cluster_id,
        peers: answer
            .members
            .iter()
            .filter_map(|m| Some((m.id, m.peer_urls.first()?.clone())))
            .collect(),
        initial: Vec::new(),
    })
}
