//! A cluster of an etcd-compatible binary (etcd or skiff-store) on loopback for the
//! benchmarks, started through `skiff_testkit` (each member SIGKILLed by PID when the
//! cluster is dropped) with the same raft timing for both binaries.

use std::path::Path;
use std::time::Duration;

use skiff_testkit::store::{StoreCluster, StoreSpec};
use tonic::transport::ClientTlsConfig;

use crate::cli::Kind;
use crate::BenchError;

/// A running cluster and which kind of binary it runs.
pub struct Cluster {
    store: StoreCluster,
    kind: Kind,
}

/// What a benchmark cluster runs: etcd's flags for both binaries, the same raft timing, and
/// its own process groups (a Ctrl-C at the terminal reaches only skiff-bench, which then
/// kills every member itself, so nothing is left half-stopped).
pub fn spec(binary: &Path, kind: Kind, size: usize) -> StoreSpec {
    let mut spec = StoreSpec::of(binary, size);
    spec.metrics = false;
    spec.cluster_token = Some(format!("skiff-bench-{}", std::process::id()));
    spec.own_process_group = true;
    spec = spec.args(&["--heartbeat-interval=100", "--election-timeout=1000"]);
    if kind == Kind::Etcd {
        // etcd 3.4 warns that its default logger is deprecated; zap is the one it keeps.
        spec = spec.args(&["--logger=zap"]);
    }
    spec
}

impl Cluster {
    /// Spawns `size` members on fresh loopback ports; does not wait for them.
    pub fn launch(binary: &Path, kind: Kind, size: usize) -> Result<Cluster, BenchError> {
        let store = StoreCluster::launch(&spec(binary, kind, size))?;
        Ok(Cluster { store, kind })
    }

    /// Launches a cluster and waits until every member agrees on a leader.
    pub async fn start(
        binary: &Path,
        kind: Kind,
        size: usize,
        limit: Duration,
    ) -> Result<Cluster, BenchError> {
        Cluster::start_with(binary, kind, size, false, limit).await
    }

    /// [`Cluster::start`], with `tls`: both ports over TLS with client-certificate
    /// authentication, certificates made by the cluster PKI code in the cluster's `pki/`
    /// (https:// URLs; [`Cluster::client_tls`] is what the bench's clients present).
    pub async fn start_with(
        binary: &Path,
        kind: Kind,
        size: usize,
        tls: bool,
        limit: Duration,
    ) -> Result<Cluster, BenchError> {
        let mut spec = spec(binary, kind, size);
        spec.tls = tls;
        let mut cluster = Cluster {
            store: StoreCluster::launch(&spec)?,
            kind,
        };
        let all: Vec<usize> = (0..size).collect();
        cluster.wait_for_leader(&all, limit).await?;
        Ok(cluster)
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    pub fn name(&self, i: usize) -> &str {
        self.store.name(i)
    }

    /// How the members were planned (their flags), to add members beside them.
    pub fn plan(&self) -> &skiff_common::launch::StorePlan {
        self.store.plan()
    }

    pub fn client_urls(&self) -> Vec<String> {
        self.store.client_urls()
    }

    /// The certificates of a TLS cluster.
    pub fn pki(&self) -> Option<&skiff_common::pki_layout::PkiLayout> {
        self.store.pki()
    }

    /// What a client presents to a TLS cluster (its CA and `etcd-client` certificate);
    /// `None` for a plain-text one.
    pub fn client_tls(&self) -> Option<&ClientTlsConfig> {
        self.store.client_tls()
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.store.pid(i)
    }

    /// The shell command that starts member `i`, for reports.
    pub fn command_line(&self, i: usize) -> String {
        self.store.command_line(i)
    }

    /// SIGKILLs member `i` (by PID) and reaps it.
    pub fn kill(&mut self, i: usize) -> Result<(), BenchError> {
        self.store.kill(i);
        Ok(())
    }

    /// Starts member `i` again with the same flags and data dir.
    pub fn restart(&mut self, i: usize) -> Result<(), BenchError> {
        Ok(self.store.restart(i)?)
    }

    /// Fails with the member's log tail if a member that should run has exited.
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        Ok(self.store.check_alive()?)
    }

    /// Waits until the members in `required` agree on a leader (and no member has
    /// died meanwhile); returns the leader's index.
    pub async fn wait_for_leader(
        &mut self,
        required: &[usize],
        limit: Duration,
    ) -> Result<usize, BenchError> {
        Ok(self.store.wait_for_leader_of(required, limit).await?)
    }

    /// Resident memory of member `i` in bytes.
    pub fn rss_bytes(&self, i: usize) -> Result<u64, BenchError> {
        let pid = self.pid(i).ok_or_else(|| {
            BenchError::Invalid(format!("member {} is not running", self.name(i)))
        })?;
        crate::rss::rss_bytes(pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_binaries_get_the_same_raft_timing_and_etcd_its_logger() {
        let etcd = spec(Path::new("etcd"), Kind::Etcd, 3);
        let skiff = spec(Path::new("skiff-store"), Kind::Skiff, 3);
        for s in [&etcd, &skiff] {
            assert!(s.extra_args.iter().any(|a| a == "--heartbeat-interval=100"));
            assert!(s.extra_args.iter().any(|a| a == "--election-timeout=1000"));
            assert!(s.own_process_group && !s.metrics);
        }
        assert!(etcd.extra_args.iter().any(|a| a == "--logger=zap"));
        assert!(!skiff.extra_args.iter().any(|a| a.starts_with("--log")));
    }

    #[test]
    fn a_member_that_cannot_start_is_reported_with_its_log() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // `false` exits at once, like a member refusing its flags.
        let err = rt
            .block_on(Cluster::start(
                Path::new("false"),
                Kind::Skiff,
                1,
                Duration::from_secs(10),
            ))
            .err()
            .expect("a member that exits is an error");
        assert!(matches!(err, BenchError::MemberExited { .. }), "{err}");
        assert!(err.to_string().contains("=== starting s1"), "{err}");
    }
}
