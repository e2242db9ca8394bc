//! A throw-away local cluster for the benchmarks: 3 store members and one apiserver on free
//! loopback ports, started through `skiff_testkit` and killed when dropped. With TLS it runs
//! as `skiff up` does: one CA (the cluster PKI code, in the cluster's `pki/`), every port over
//! TLS, client certificates towards the store, and the REST API on an HTTPS listener.

use std::path::Path;
use std::time::{Duration, Instant};

use skiff_common::launch::{token_file, ApiserverPlan, HttpsPlan, TokenEntry};
use skiff_testkit::process::Process;
use skiff_testkit::store::{StoreCluster, StoreSpec};
use skiff_testkit::{free_port, LaunchError};
use tonic::transport::ClientTlsConfig;

use super::ApiserverBenchError;

/// The token the local cluster's admin uses.
pub const LOCAL_TOKEN: &str = "bench-admin";

/// The apiserver is dropped (killed) before the store members, whose temporary directory
/// also holds its token file, certificates and log (field order is drop order).
pub struct LocalCluster {
    /// Held only to be killed on drop.
    _apiserver: Process,
    _store_cluster: StoreCluster,
    /// The gRPC API (`https://` with TLS).
    pub url: String,
    /// The Kubernetes REST API (TLS clusters only: it is served over HTTPS).
    pub https_url: Option<String>,
    /// The cluster CA's PEM (TLS clusters).
    pub ca_pem: Option<Vec<u8>>,
    /// Client URL of the first store member.
    pub store: String,
    /// What a direct client of the store presents (TLS clusters).
    pub store_tls: Option<ClientTlsConfig>,
}

impl LocalCluster {
    /// Starts the cluster and waits until the apiserver reports healthy.
    pub async fn start(
        store_bin: &Path,
        apiserver_bin: &Path,
        tls: bool,
    ) -> Result<LocalCluster, ApiserverBenchError> {
        LocalCluster::start_with(store_bin, apiserver_bin, tls, &[]).await
    }

    /// [`LocalCluster::start`] with `extra` apiserver flags.
    pub async fn start_with(
        store_bin: &Path,
        apiserver_bin: &Path,
        tls: bool,
        extra: &[&str],
    ) -> Result<LocalCluster, ApiserverBenchError> {
        let mut spec = StoreSpec::of(store_bin, 3);
        spec.metrics = false;
        spec.own_process_group = true;
        spec.tls = tls;
        let store_cluster = StoreCluster::launch(&spec)?;
        let dir = store_cluster.dir().to_path_buf();
        let tokens = dir.join("tokens.csv");
        std::fs::write(
            &tokens,
            token_file(&[TokenEntry::admin(LOCAL_TOKEN, "bench")]),
        )
        .map_err(|e| LaunchError::io("writing the token file", e))?;
        // The store cluster made every certificate of the cluster (the apiserver's too).
        let pki = store_cluster.pki().cloned();
        let https = match &pki {
            Some(pki) => Some(HttpsPlan {
                port: free_port()?,
                cert_file: pki.apiserver().cert,
                key_file: pki.apiserver().key,
            }),
            None => None,
        };
        let plan = ApiserverPlan {
            port: free_port()?,
            metrics_port: free_port()?,
            store_endpoints: store_cluster.client_urls(),
            token_file: tokens,
            https,
            pki: pki.clone(),
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
            if let Some(status) = apiserver.exited() {
                return Err(ApiserverBenchError::Setup(format!(
                    "the local apiserver exited ({status}):\n{}",
                    apiserver.log_tail(20)
                )));
            }
            if Instant::now() > deadline {
                return Err(ApiserverBenchError::Setup(format!(
                    "the local apiserver did not become healthy:\n{}",
                    apiserver.log_text()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let ca_pem =
            match &pki {
                Some(pki) => Some(std::fs::read(pki.ca_cert()).map_err(|e| {
                    LaunchError::io(format!("reading {}", pki.ca_cert().display()), e)
                })?),
                None => None,
            };
        let scheme = if tls { "https" } else { "http" };
        Ok(LocalCluster {
            _apiserver: apiserver,
            url: format!("{scheme}://{}", plan.address()),
            https_url: plan.https_url(),
            ca_pem,
            store: store_cluster.client_urls()[0].clone(),
            store_tls: store_cluster.client_tls().cloned(),
            _store_cluster: store_cluster,
        })
    }
}
