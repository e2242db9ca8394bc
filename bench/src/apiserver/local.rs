//! A throw-away local cluster for the benchmark: 3 store members and one apiserver on free
//! loopback ports, started through `skiff_testkit` and killed when dropped.

use std::path::Path;
use std::time::{Duration, Instant};

use skiff_common::launch::{token_file, ApiserverPlan, TokenEntry};
use skiff_testkit::process::Process;
use skiff_testkit::store::{StoreCluster, StoreSpec};
use skiff_testkit::{free_port, LaunchError};

use super::ApiserverBenchError;

/// The token the local cluster's admin uses.
pub const LOCAL_TOKEN: &str = "bench-admin";

/// The apiserver is dropped (killed) before the store members, whose temporary directory
/// also holds its token file and log (field order is drop order).
pub struct LocalCluster {
    /// Held only to be killed on drop.
    _apiserver: Process,
    _store_cluster: StoreCluster,
    pub url: String,
    /// Client URL of the first store member.
    pub store: String,
}

impl LocalCluster {
    /// Starts the cluster and waits until the apiserver reports healthy.
    pub async fn start(
        store_bin: &Path,
        apiserver_bin: &Path,
    ) -> Result<LocalCluster, ApiserverBenchError> {
        LocalCluster::start_with(store_bin, apiserver_bin, &[]).await
    }

    /// [`LocalCluster::start`] with `extra` apiserver flags.
    pub async fn start_with(
        store_bin: &Path,
        apiserver_bin: &Path,
        extra: &[&str],
    ) -> Result<LocalCluster, ApiserverBenchError> {
        let mut spec = StoreSpec::of(store_bin, 3);
        spec.metrics = false;
        spec.own_process_group = true;
        let store_cluster = StoreCluster::launch(&spec)?;
        let dir = store_cluster.dir().to_path_buf();
        let tokens = dir.join("tokens.csv");
        std::fs::write(
            &tokens,
            token_file(&[TokenEntry::admin(LOCAL_TOKEN, "bench")]),
        )
        .map_err(|e| LaunchError::io("writing the token file", e))?;
        let plan = ApiserverPlan {
            port: free_port()?,
            metrics_port: free_port()?,
            store_endpoints: store_cluster.client_urls(),
            token_file: tokens,
            https: None,
            pki: None,
        };
        let mut args = plan.args();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut apiserver =
            Process::new("apiserver", apiserver_bin, args, dir.join("apiserver.log"));
        apiserver.envs = vec![("RUST_LOG".into(), "warn".into())];
        apiserver.own_process_group = true;
        apiserver.try_start()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !skiff_testkit::http::healthy(plan.metrics_port).await {
            if Instant::now() > deadline {
                return Err(ApiserverBenchError::Setup(format!(
                    "the local apiserver did not become healthy:\n{}",
                    apiserver.log_text()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(LocalCluster {
            _apiserver: apiserver,
            url: format!("http://{}", plan.address()),
            store: store_cluster.client_urls()[0].clone(),
            _store_cluster: store_cluster,
        })
    }
}
