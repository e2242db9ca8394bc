//! A store cluster of real processes (skiff-store, or etcd: they take the same flags) on free
//! loopback ports, planned by `skiff_common::launch::StorePlan`, each member killed by PID
//! when the cluster is dropped.

mod leader;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use skiff_common::launch::{StoreMember, StorePlan};
use skiff_common::pki_layout::{issue_cluster, PkiLayout};
use skiff_common::tls::ClientTlsFiles;
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::StatusResponse;
use tonic::transport::{Channel, ClientTlsConfig};

pub use leader::{leader_index, status, views, View};

use crate::error::free_port;
use crate::process::Process;
use crate::LaunchError;

/// What to start.
#[derive(Debug, Clone)]
pub struct StoreSpec {
    /// skiff-store or etcd.
    pub binary: PathBuf,
    pub members: usize,
    /// Members serve `/metrics` and `/health` (`--listen-metrics-urls`).
    pub metrics: bool,
    /// `--initial-cluster-token`; the binary's default when `None`.
    pub cluster_token: Option<String>,
    /// Added to every member's flags.
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Members in process groups of their own (see [`Process::own_process_group`]).
    pub own_process_group: bool,
    /// TLS on both ports with client-certificate authentication: the cluster's certificates
    /// are made in its directory (`pki/`), and the kit's own calls use `etcd-client`'s.
    pub tls: bool,
    /// With `tls`: certificates already made (a whole cluster's) instead of new ones.
    pub pki: Option<PkiLayout>,
}

impl StoreSpec {
    /// `members` members of this build's skiff-store.
    pub fn skiff(members: usize) -> StoreSpec {
        StoreSpec::of(&crate::binary::binary("skiff-store"), members)
    }

    pub fn of(binary: &Path, members: usize) -> StoreSpec {
        StoreSpec {
            binary: binary.to_path_buf(),
            members,
            metrics: true,
            cluster_token: None,
            extra_args: Vec::new(),
            env: Vec::new(),
            own_process_group: false,
            tls: false,
            pki: None,
        }
    }

    /// With TLS and client-certificate authentication on both ports.
    pub fn tls(mut self) -> StoreSpec {
        self.tls = true;
        self
    }

    pub fn args(mut self, args: &[&str]) -> StoreSpec {
        self.extra_args.extend(args.iter().map(|a| a.to_string()));
        self
    }
}

/// The running members. Members are killed before the temporary directory holding their data
/// dirs and logs is removed (field order is drop order).
pub struct StoreCluster {
    plan: StorePlan,
    /// The kit's own calls to members of a TLS cluster.
    client_tls: Option<ClientTlsConfig>,
    procs: Vec<Process>,
    dir: tempfile::TempDir,
}

impl StoreCluster {
    /// Spawns every member in a new temporary directory; does not wait for them.
    pub fn launch(spec: &StoreSpec) -> Result<StoreCluster, LaunchError> {
        let dir = tempfile::Builder::new()
            .prefix("skiff-store-")
            .tempdir()
            .map_err(|e| LaunchError::io("creating a temporary directory", e))?;
        StoreCluster::launch_in(spec, dir)
    }

    /// [`StoreCluster::launch`] in `dir`, which the cluster then owns.
    pub fn launch_in(
        spec: &StoreSpec,
        dir: tempfile::TempDir,
    ) -> Result<StoreCluster, LaunchError> {
        if spec.members == 0 {
            return Err(LaunchError::Invalid(
                "a store cluster needs at least one member".into(),
            ));
        }
        let mut ports = Vec::new();
        let per_member = if spec.metrics { 3 } else { 2 };
        for _ in 0..spec.members * per_member {
            ports.push(free_port()?);
        }
        let mut ports = ports.into_iter();
        let mut plan = StorePlan::new(
            spec.members,
            dir.path(),
            |i| format!("s{i}"),
            spec.metrics,
            || ports.next().unwrap_or(0),
        );
        plan.cluster_token = spec.cluster_token.clone();
        plan.extra_args = spec.extra_args.clone();
        let mut client_tls = None;
        if spec.tls {
            let pki = match &spec.pki {
                Some(pki) => pki.clone(),
                None => {
                    let pki = PkiLayout::new(&dir.path().join("pki"));
                    let names: Vec<String> = plan.members.iter().map(|m| m.name.clone()).collect();
                    issue_cluster(&pki, &names, &[], &[])
                        .map_err(|e| LaunchError::Invalid(format!("making certificates: {e}")))?;
                    pki
                }
            };
            client_tls = client_tls_config(&pki)?;
            plan = plan.with_tls(&pki);
        }
        let procs = (0..spec.members)
            .map(|i| {
                let name = plan.members[i].name.clone();
                let log = dir.path().join(format!("{name}.log"));
                let mut p = Process::new(&name, &spec.binary, plan.args(i), log);
                p.envs = spec.env.clone();
                p.own_process_group = spec.own_process_group;
                p
            })
            .collect();
        let mut cluster = StoreCluster {
            plan,
            client_tls,
            procs,
            dir,
        };
        for i in 0..spec.members {
            cluster.try_start_member(i)?;
        }
        Ok(cluster)
    }

    /// Launches and waits until every member agrees on a leader.
    pub async fn try_start(
        spec: &StoreSpec,
        within: Duration,
    ) -> Result<StoreCluster, LaunchError> {
        let mut cluster = StoreCluster::launch(spec)?;
        let all: Vec<usize> = (0..cluster.len()).collect();
        cluster.wait_for_leader_of(&all, within).await?;
        Ok(cluster)
    }

    /// [`StoreCluster::try_start`] within 30 s, for tests: panics with the reason.
    pub async fn start(spec: &StoreSpec) -> StoreCluster {
        StoreCluster::try_start(spec, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("the store cluster did not start: {e}"))
    }

    pub fn plan(&self) -> &StorePlan {
        &self.plan
    }

    /// What the kit's own calls present to a TLS cluster (`None`: plain).
    pub fn client_tls(&self) -> Option<&ClientTlsConfig> {
        self.client_tls.as_ref()
    }

    /// The cluster's certificates (TLS clusters).
    pub fn pki(&self) -> Option<&PkiLayout> {
        self.plan.pki.as_ref()
    }

    pub fn members(&self) -> &[StoreMember] {
        &self.plan.members
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Member `i`'s data directory.
    pub fn data_dir(&self, i: usize) -> &Path {
        &self.plan.members[i].data_dir
    }

    pub fn name(&self, i: usize) -> &str {
        &self.plan.members[i].name
    }

    pub fn client_urls(&self) -> Vec<String> {
        self.plan.client_urls()
    }

    /// The shell command that starts member `i`, for reports.
    pub fn command_line(&self, i: usize) -> String {
        std::iter::once(self.procs[i].program.display().to_string())
            .chain(self.procs[i].args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Starts member `i` (again: same flags, same data dir, its log appended).
    pub fn try_start_member(&mut self, i: usize) -> Result<(), LaunchError> {
        self.procs[i].try_start()
    }

    pub fn start_member(&mut self, i: usize) {
        self.procs[i].start();
    }

    /// SIGKILL member `i` and reap it.
    pub fn kill(&mut self, i: usize) {
        self.procs[i].kill();
    }

    /// SIGTERM member `i`, SIGKILL after `grace`; its exit status when it exited by itself.
    pub fn stop(&mut self, i: usize, grace: Duration) -> Option<ExitStatus> {
        self.procs[i].stop(grace)
    }

    /// Kills member `i` and starts it again.
    pub fn restart(&mut self, i: usize) -> Result<(), LaunchError> {
        self.kill(i);
        self.try_start_member(i)
    }

    /// Started and not killed (it may have exited by itself: see [`StoreCluster::check_alive`]).
    pub fn is_running(&self, i: usize) -> bool {
        self.procs[i].pid().is_some()
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.procs[i].pid()
    }

    pub fn process(&mut self, i: usize) -> &mut Process {
        &mut self.procs[i]
    }

    pub fn process_ref(&self, i: usize) -> &Process {
        &self.procs[i]
    }

    pub fn log(&self, i: usize) -> String {
        self.procs[i].log_text()
    }

    /// Fails with the member's log tail if a member that should run has exited.
    pub fn check_alive(&mut self) -> Result<(), LaunchError> {
        for p in &mut self.procs {
            if let Some(status) = p.exited() {
                return Err(LaunchError::Exited {
                    name: p.name.clone(),
                    status: status.to_string(),
                    log_tail: p.log_tail(20),
                });
            }
        }
        Ok(())
    }

    /// Waits until the members in `required` agree on a leader (and no member has died
    /// meanwhile); returns the leader's index.
    pub async fn wait_for_leader_of(
        &mut self,
        required: &[usize],
        within: Duration,
    ) -> Result<usize, LaunchError> {
        let urls = self.client_urls();
        let deadline = Instant::now() + within;
        loop {
            self.check_alive()?;
            let views = views(&urls, self.client_tls.as_ref(), Duration::from_millis(500)).await;
            if let Some(i) = leader_index(&views, required) {
                return Ok(i);
            }
            if Instant::now() >= deadline {
                let tails: Vec<String> = self
                    .procs
                    .iter()
                    .map(|p| format!("--- {}:\n{}", p.name, p.log_tail(5)))
                    .collect();
                return Err(LaunchError::Timeout {
                    what: format!("a leader (views {views:?}); logs:\n{}", tails.join("\n")),
                    within,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The index of the member every running member agrees leads; panics after `within`.
    pub async fn wait_for_leader(&self, within: Duration) -> usize {
        let urls = self.client_urls();
        let running: Vec<usize> = (0..self.len()).filter(|i| self.is_running(*i)).collect();
        let deadline = Instant::now() + within;
        loop {
            let views = views(&urls, self.client_tls.as_ref(), Duration::from_millis(500)).await;
            if let Some(i) = leader_index(&views, &running) {
                return i;
            }
            assert!(
                Instant::now() < deadline,
                "no agreed leader within {within:?} (views {views:?})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Maintenance.Status of member `i`, if it answers within half a second.
    pub async fn status(&self, i: usize) -> Option<StatusResponse> {
        status(
            &self.plan.members[i].client_url(),
            self.client_tls.as_ref(),
            Duration::from_millis(500),
        )
        .await
    }

    /// Waits until member `i` has applied at least `index`.
    pub async fn wait_applied(&self, i: usize, index: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.status(i).await {
                if s.raft_applied_index >= index {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "member {i} did not apply index {index} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A KV client on member `i` (connected lazily).
    pub async fn kv(&self, i: usize) -> KvClient<Channel> {
        KvClient::new(self.channel(i))
    }

    /// A lazily connected channel to member `i`'s client port (with the kit's client
    /// certificate on a TLS cluster).
    pub fn channel(&self, i: usize) -> Channel {
        tls_channel(&self.plan.members[i].client_url(), self.client_tls.as_ref())
    }

    /// A KV client on any member that is still running.
    pub async fn any_kv(&self) -> KvClient<Channel> {
        let i = (0..self.len())
            .find(|i| self.is_running(*i))
            .expect("a running member");
        self.kv(i).await
    }

    /// Member `i`'s `/metrics` answer.
    pub async fn metrics(&self, i: usize) -> Option<String> {
        let port = self.plan.members[i].metrics_port?;
        crate::http::http_get(port, "/metrics")
            .await
            .map(|(_, b)| b)
    }

    /// The value of one sample of member `i`'s metrics.
    pub async fn metric(&self, i: usize, sample: &str) -> Option<f64> {
        crate::http::sample_value(&self.metrics(i).await?, sample)
    }
}

/// A lazily connected channel to a gRPC URL (15 s per request).
pub fn channel(url: &str) -> Channel {
    tls_channel(url, None)
}

/// [`channel`] over `tls` when given.
pub fn tls_channel(url: &str, tls: Option<&ClientTlsConfig>) -> Channel {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_string()).expect("url");
    skiff_common::tls::with_tls(endpoint, tls)
        .expect("a TLS configuration tonic accepts")
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(15))
        .connect_lazy()
}

/// The client configuration of `pki`'s `etcd-client` certificate.
pub fn client_tls_config(pki: &PkiLayout) -> Result<Option<ClientTlsConfig>, LaunchError> {
    let client = pki.etcd_client();
    ClientTlsFiles::new(&pki.ca_cert(), &client.cert, &client.key)
        .config(["--cacert", "--cert", "--key"])
        .map_err(|e| LaunchError::Invalid(e.to_string()))
}
