//! Launches a cluster of an etcd-compatible binary on loopback, each member a
//! child process guarded so that it is SIGKILLed (by PID) when dropped.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cli::Kind;
use crate::probe;
use crate::BenchError;

/// A child process that is killed with SIGKILL (by its PID) and reaped when the
/// guard is dropped, whatever path the caller leaves by.
#[derive(Debug)]
pub struct ProcessGuard {
    child: Child,
}

impl ProcessGuard {
    pub fn spawn(mut command: Command, binary: &Path) -> Result<ProcessGuard, BenchError> {
        // Its own process group: a Ctrl-C at the terminal reaches only skiff-bench,
        // which then kills every member itself, so nothing is left half-stopped.
        command.process_group(0);
        let child = command.spawn().map_err(|source| BenchError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
        Ok(ProcessGuard { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL now and reap, so the PID cannot linger as a zombie.
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill()?;
        self.child.wait().map(|_| ())
    }

    /// The exit status if the process has already ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        // Errors mean it is already gone; there is nothing else to do in a drop.
        let _ = self.kill();
    }
}

/// Where one member listens and keeps its data.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSpec {
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
    pub data_dir: PathBuf,
}

/// The `--initial-cluster` value: `name=peer-url` for every member.
pub fn initial_cluster(members: &[MemberSpec]) -> String {
    members
        .iter()
        .map(|m| format!("{}={}", m.name, m.peer_url))
        .collect::<Vec<_>>()
        .join(",")
}

/// The flags one member starts with. etcd and skiff-store share etcd's flag names,
/// so both get the same flags; etcd also gets its non-deprecated logger. Only
/// shared flags go to `Kind::Skiff`, so an etcd binary runs under either kind.
pub fn member_args(kind: Kind, member: &MemberSpec, initial: &str, token: &str) -> Vec<String> {
    let mut args = vec![
        format!("--name={}", member.name),
        format!("--data-dir={}", member.data_dir.display()),
        format!("--listen-client-urls={}", member.client_url),
        format!("--advertise-client-urls={}", member.client_url),
        format!("--listen-peer-urls={}", member.peer_url),
        format!("--initial-advertise-peer-urls={}", member.peer_url),
        format!("--initial-cluster={initial}"),
        "--initial-cluster-state=new".to_string(),
        format!("--initial-cluster-token={token}"),
        "--heartbeat-interval=100".to_string(),
        "--election-timeout=1000".to_string(),
    ];
    if kind == Kind::Etcd {
        // etcd 3.4 warns that its default logger is deprecated; zap is the one it keeps.
        args.push("--logger=zap".to_string());
    }
    args
}

/// `count` distinct free loopback ports, outside the kernel's ephemeral range.
pub fn free_ports(count: usize) -> Result<Vec<u16>, BenchError> {
    (0..count)
        .map(|_| skiff_common::ports::free_loopback_port().ok_or(BenchError::NoFreePort))
        .collect()
}

#[derive(Debug)]
struct Member {
    spec: MemberSpec,
    log: PathBuf,
    process: Option<ProcessGuard>,
}

/// A running cluster. Members are killed before the temporary directory holding
/// their data dirs and logs is removed (field order = drop order).
#[derive(Debug)]
pub struct Cluster {
    members: Vec<Member>,
    binary: PathBuf,
    kind: Kind,
    token: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Spawns `size` members on fresh loopback ports; does not wait for them.
    pub fn launch(binary: &Path, kind: Kind, size: usize) -> Result<Cluster, BenchError> {
        if size == 0 {
            return Err(BenchError::Invalid(
                "a cluster needs at least one member".into(),
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("skiff-bench-")
            .tempdir()
            .map_err(|e| BenchError::io("creating the temporary directory", e))?;
        let ports = free_ports(2 * size)?;
        let specs: Vec<MemberSpec> = (0..size)
            .map(|i| MemberSpec {
                name: format!("m{}", i + 1),
                client_url: format!("http://127.0.0.1:{}", ports[2 * i]),
                peer_url: format!("http://127.0.0.1:{}", ports[2 * i + 1]),
                data_dir: dir.path().join(format!("m{}.data", i + 1)),
            })
            .collect();
        let token = format!("skiff-bench-{}-{}", std::process::id(), ports[0]);
        let mut cluster = Cluster {
            members: specs
                .into_iter()
                .map(|spec| Member {
                    log: dir.path().join(format!("{}.log", spec.name)),
                    spec,
                    process: None,
                })
                .collect(),
            binary: binary.to_path_buf(),
            kind,
            token,
            dir,
        };
        for i in 0..size {
            cluster.spawn(i)?;
        }
        Ok(cluster)
    }

    /// Launches a cluster and waits until every member agrees on a leader.
    pub async fn start(
        binary: &Path,
        kind: Kind,
        size: usize,
        limit: Duration,
    ) -> Result<Cluster, BenchError> {
        let mut cluster = Cluster::launch(binary, kind, size)?;
        let all: Vec<usize> = (0..size).collect();
        cluster.wait_for_leader(&all, limit).await?;
        Ok(cluster)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn name(&self, i: usize) -> &str {
        &self.members[i].spec.name
    }

    pub fn client_urls(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| m.spec.client_url.clone())
            .collect()
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members.get(i)?.process.as_ref().map(ProcessGuard::pid)
    }

    fn args(&self, i: usize) -> Vec<String> {
        let specs: Vec<MemberSpec> = self.members.iter().map(|m| m.spec.clone()).collect();
        member_args(self.kind, &specs[i], &initial_cluster(&specs), &self.token)
    }

    /// The shell command that starts member `i`, for reports.
    pub fn command_line(&self, i: usize) -> String {
        std::iter::once(self.binary.display().to_string())
            .chain(self.args(i))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn spawn(&mut self, i: usize) -> Result<(), BenchError> {
        let member = &self.members[i];
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&member.log)
            .map_err(|e| BenchError::io(format!("opening {}", member.log.display()), e))?;
        let _ = writeln!(log, "=== skiff-bench: starting {}", member.spec.name);
        let err = log
            .try_clone()
            .map_err(|e| BenchError::io("duplicating the log handle", e))?;
        let mut command = Command::new(&self.binary);
        command
            .args(self.args(i))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err));
        let guard = ProcessGuard::spawn(command, &self.binary)?;
        self.members[i].process = Some(guard);
        Ok(())
    }

    /// SIGKILLs member `i` (by PID) and reaps it.
    pub fn kill(&mut self, i: usize) -> Result<(), BenchError> {
        let name = self.members[i].spec.name.clone();
        match self.members[i].process.take() {
            Some(mut p) => p
                .kill()
                .map_err(|e| BenchError::io(format!("killing {name}"), e)),
            None => Ok(()),
        }
    }

    /// Starts member `i` again with the same flags and data dir.
    pub fn restart(&mut self, i: usize) -> Result<(), BenchError> {
        self.kill(i)?;
        self.spawn(i)
    }

    /// Fails with the member's log tail if a member that should run has exited.
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        for m in &mut self.members {
            if let Some(status) = m.process.as_mut().and_then(ProcessGuard::exited) {
                m.process = None;
                return Err(BenchError::MemberExited {
                    name: m.spec.name.clone(),
                    status: status.to_string(),
                    log_tail: log_tail(&m.log, 20),
                });
            }
        }
        Ok(())
    }

    /// Waits until the members in `required` agree on a leader (and no member has
    /// died meanwhile); returns the leader's index.
    pub async fn wait_for_leader(
        &mut self,
        required: &[usize],
        limit: Duration,
    ) -> Result<usize, BenchError> {
        let urls = self.client_urls();
        let deadline = Instant::now() + limit;
        loop {
            self.check_alive()?;
            let views = probe::views(&urls, Duration::from_millis(500)).await;
            if let Some(i) = probe::leader_index(&views, required) {
                return Ok(i);
            }
            if Instant::now() >= deadline {
                let tails: Vec<String> = self
                    .members
                    .iter()
                    .map(|m| format!("--- {}:\n{}", m.spec.name, log_tail(&m.log, 5)))
                    .collect();
                return Err(BenchError::timeout(
                    format!("a leader (views {views:?}); logs:\n{}", tails.join("\n")),
                    limit,
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resident memory of member `i` in bytes.
    pub fn rss_bytes(&self, i: usize) -> Result<u64, BenchError> {
        let pid = self.pid(i).ok_or_else(|| {
            BenchError::Invalid(format!("member {} is not running", self.name(i)))
        })?;
        crate::rss::rss_bytes(pid)
    }
}

/// The last `n` lines of a log file (or why it could not be read).
pub fn log_tail(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, client: u16, peer: u16) -> MemberSpec {
        MemberSpec {
            name: name.into(),
            client_url: format!("http://127.0.0.1:{client}"),
            peer_url: format!("http://127.0.0.1:{peer}"),
            data_dir: PathBuf::from(format!("/tmp/x/{name}.data")),
        }
    }

    #[test]
    fn initial_cluster_lists_every_peer_url() {
        let members = [spec("m1", 1, 2), spec("m2", 3, 4), spec("m3", 5, 6)];
        assert_eq!(
            initial_cluster(&members),
            "m1=http://127.0.0.1:2,m2=http://127.0.0.1:4,m3=http://127.0.0.1:6"
        );
        assert_eq!(initial_cluster(&members[..1]), "m1=http://127.0.0.1:2");
    }

    #[test]
    fn member_flags_use_etcd_names() {
        let m = spec("m2", 3, 4);
        let args = member_args(Kind::Etcd, &m, "m1=a,m2=b", "tok");
        for want in [
            "--name=m2",
            "--data-dir=/tmp/x/m2.data",
            "--listen-client-urls=http://127.0.0.1:3",
            "--advertise-client-urls=http://127.0.0.1:3",
            "--listen-peer-urls=http://127.0.0.1:4",
            "--initial-advertise-peer-urls=http://127.0.0.1:4",
            "--initial-cluster=m1=a,m2=b",
            "--initial-cluster-state=new",
            "--initial-cluster-token=tok",
        ] {
            assert!(
                args.iter().any(|a| a == want),
                "{want} missing from {args:?}"
            );
        }
        assert!(args.iter().any(|a| a == "--logger=zap"));
        let skiff = member_args(Kind::Skiff, &m, "m1=a,m2=b", "tok");
        assert_eq!(skiff.len(), args.len() - 1);
        assert!(!skiff.iter().any(|a| a.starts_with("--log")));
    }

    #[test]
    fn free_ports_are_distinct() {
        let mut ports = free_ports(6).unwrap();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 6);
    }

    #[test]
    fn guard_kills_its_process_on_drop() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let guard = ProcessGuard::spawn(cmd, Path::new("sleep")).unwrap();
        let pid = guard.pid();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        drop(guard);
        // Reaped, so the PID is gone (not even a zombie).
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
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
            .unwrap_err();
        assert!(matches!(err, BenchError::MemberExited { .. }), "{err}");
        assert!(
            err.to_string().contains("=== skiff-bench: starting m1"),
            "{err}"
        );
    }
}
