//! From `skiff-chaos run`'s flags to a [`RunConfig`]: which cluster, its stores, apiservers, token and nodes.

use std::time::Duration;

use skiff_api::types::Node;
use skiff_client::{Client, ClientConfig, ListOptions};
use skiff_common::pki_layout::PkiLayout;

use crate::cli::RunArgs;
use crate::error::ChaosError;
use crate::faults::compose::ComposeCluster;
use crate::faults::local::LocalCluster;
use crate::faults::Cluster;
use crate::report::Report;
use crate::run::RunConfig;
use crate::tls::ClientTls;

async fn node_names(
    apiservers: &[String],
    token: &str,
    tls: &ClientTls,
) -> Result<Vec<String>, ChaosError> {
    let client = Client::new(
        ClientConfig::new(apiservers.to_vec())
            .with_ca_pem(tls.ca_pem.clone())
            .with_token(token)
            .with_timeout(Duration::from_secs(5)),
    )
    .map_err(|e| ChaosError::msg(e.to_string()))?;
    let nodes = client
        .list::<Node>(None, &ListOptions::default())
        .await
        .map_err(|e| ChaosError::msg(format!("cannot list nodes: {}", e.message)))?;
    Ok(nodes.items.into_iter().map(|n| n.metadata.name).collect())
}

pub async fn run(args: RunArgs) -> Result<Report, ChaosError> {
    let seed = args.seed.unwrap_or_else(rand::random);
    eprintln!("chaos: seed {seed}");
    let (cluster, stores, apiservers, token, tls) = match &args.compose {
        Some(file) => {
            let tls = match &args.pki_dir {
                Some(dir) => ClientTls::from_pki(PkiLayout::new(dir))?,
                None => ClientTls::plain(),
            };
            let c = ComposeCluster::open(file, &tls).await?;
            let stores = c.stores.iter().map(|(_, url)| url.clone()).collect();
            let apiservers = if args.apiserver.is_empty() {
                vec!["127.0.0.1:16443".to_string(), "127.0.0.1:16444".to_string()]
            } else {
                args.apiserver.clone()
            };
            let token = args
                .token
                .clone()
                .ok_or_else(|| ChaosError::msg("--compose needs --token (or $SKIFF_TOKEN)"))?;
            (Cluster::Compose(c), stores, apiservers, token, tls)
        }
        None => {
            let dir = match &args.dir {
                Some(d) => d.clone(),
                None => skiff_cli::up::default_dir().map_err(|e| ChaosError::msg(e.to_string()))?,
            };
            let dir = std::fs::canonicalize(&dir)
                .map_err(|e| ChaosError::msg(format!("{}: {e}", dir.display())))?;
            let c = LocalCluster::open(&dir)?;
            let state = c.state()?;
            let tls = match state.pki_layout() {
                Some(pki) => ClientTls::from_pki(pki)?,
                None => ClientTls::plain(),
            };
            (
                Cluster::Local(c),
                state.stores,
                state.apiservers,
                state.admin_token,
                tls,
            )
        }
    };
    let nodes = node_names(&apiservers, &token, &tls).await?;
    crate::run::run(RunConfig {
        cluster,
        stores,
        apiservers,
        token,
        nodes,
        seed,
        duration: args.duration,
        faults: args.faults.clone(),
        out: args.out.clone(),
        keys: args.keys.max(1),
        clients_per_member: args.clients_per_member.max(1),
        interval: args.interval,
        max_hold: args.max_hold,
        converge_within: args.converge_within,
        tls,
    })
    .await
}
