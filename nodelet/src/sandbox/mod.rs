//! Pod sandboxes: the namespaces, network and cgroups a pod's containers share.
//!
//! ```text
//! DATA/sandboxes/node.json          the node's bridge, layer-2 link, routes, cgroup parent
//! DATA/sandboxes/<pod uid>/
//!     sandbox.json                  the pause process, the pod's IP and host veth
//!     hostname, hosts               bind-mounted over each container's /etc files
//! ```
//!
//! Per pod: a pause process (see [`pause`]) holds the network, UTS and IPC namespaces;
//! a veth pair joins the pod's `eth0` to the node's bridge, whose address is the pods'
//! gateway (the first address of the node's podCIDR). Per container: a PID and a mount
//! namespace and a cgroup ([`crate::runtime::isolation`]). Everything is on disk or in
//! the kernel, so a restarted nodelet re-adopts running sandboxes; [`teardown`] removes
//! what a node made (used by `skiff down`).

mod firewall;
pub mod net;
mod node;
pub mod pause;

use std::fs;
use std::future::Future;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::ipam::{IpamError, Ipv4Cidr};
use crate::runtime::cgroup::{self, Limits};
use crate::runtime::layout::{read_json, write_json_atomic};
use crate::runtime::Isolation;
use net::{HostEnd, Net, PodInterface};
pub use node::{teardown, NodeNetwork};

/// How long a pause process may take to report its namespaces ready.
const PAUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// `--sandbox`: `auto` uses namespaces when the nodelet may (root), else runs pods as
/// plain processes and says so once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxMode {
    Auto,
    Namespaces,
    None,
}

impl std::str::FromStr for SandboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(SandboxMode::Auto),
            "namespaces" => Ok(SandboxMode::Namespaces),
            "none" => Ok(SandboxMode::None),
            other => Err(format!(
                "unknown sandbox mode {other:?} (expected auto, namespaces or none)"
            )),
        }
    }
}

/// Why `auto` cannot use namespaces here, or `None` if it can.
pub fn namespaces_unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("the nodelet does not run as root".into());
    }
    for ns in ["net", "uts", "ipc", "pid", "mnt"] {
        if !Path::new(&format!("/proc/self/ns/{ns}")).exists() {
            return Some(format!("the kernel has no {ns} namespaces"));
        }
    }
    None
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Net(#[from] net::NetError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the pause process: {0}")]
    Pause(String),
    #[error("{0}")]
    State(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> SandboxError {
    let context = context.into();
    move |source| SandboxError::Io { context, source }
}

/// `sandbox.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    pause_pid: u32,
    pause_start_ticks: u64,
    ip: Ipv4Addr,
    host_veth: String,
}

/// Makes, finds and removes pod sandboxes. Cheap to clone.
#[derive(Clone)]
pub struct Sandboxes {
    inner: Arc<Inner>,
}

struct Inner {
    exe: PathBuf,
    dir: PathBuf,
    node: NodeNetwork,
    net: Net,
    bridge_index: u32,
    cgroup: Option<(cgroup::Version, String)>,
}

impl Sandboxes {
    /// Sets up the node's side (bridge, link, cgroup parent) and returns the manager.
    pub async fn open(
        exe: &Path,
        data_dir: &Path,
        node: NodeNetwork,
    ) -> Result<Sandboxes, SandboxError> {
        let dir = data_dir.join("sandboxes");
        fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        let net = Net::connect()?;
        let bridge_index = node.set_up(&net, &dir).await?;
        let cgroup = cgroup::detect().map(|v| (v, node.cgroup_parent()));
        Ok(Sandboxes {
            inner: Arc::new(Inner {
                exe: exe.to_path_buf(),
                dir,
                node,
                net,
                bridge_index,
                cgroup,
            }),
        })
    }

    pub fn node(&self) -> &NodeNetwork {
        &self.inner.node
    }

    pub fn net(&self) -> &Net {
        &self.inner.net
    }

    /// The pods that have a sandbox on disk.
    pub fn pods(&self) -> Vec<String> {
        crate::runtime::layout::subdirs(&self.inner.dir).unwrap_or_default()
    }

    /// The pod's sandbox, made if it has none or its pause process is gone (idempotent).
    /// Returns the isolation its containers get (limits still empty). `ip_saved` finishes
    /// once the pod's address is on disk: the pause process starts meanwhile, and the
    /// address is given to the pod's interface only after.
    pub async fn ensure(
        &self,
        pod_uid: &str,
        pod_name: &str,
        ip: Ipv4Addr,
        ip_saved: impl Future<Output = Result<(), IpamError>>,
    ) -> Result<Isolation, SandboxError> {
        crate::runtime::layout::validate_name("pod uid", pod_uid)
            .map_err(|e| SandboxError::State(e.to_string()))?;
        let dir = self.inner.dir.join(pod_uid);
        if let Some(record) = read_record(&dir) {
            if pause_alive(&record) && record.ip == ip {
                ip_saved.await.map_err(ip_not_saved)?;
                return Ok(self.isolation(&dir, &record));
            }
            // A sandbox whose pause process died (or a reboot): its network is gone
            // with it; make it again from scratch.
            self.remove(pod_uid).await?;
        }
        tracing::trace!(pod = pod_name, "making the sandbox");
        let (files, name) = (dir.clone(), pod_name.to_string());
        blocking(move || {
            fs::create_dir_all(&files).map_err(io(format!("creating {}", files.display())))?;
            fs::write(files.join("hostname"), format!("{name}\n"))
                .map_err(io("writing the pod's hostname file"))?;
            fs::write(files.join("hosts"), hosts_file(&name, ip))
                .map_err(io("writing the pod's hosts file"))
        })
        .await?;
        let began = std::time::Instant::now();
        let (pause, saved) = tokio::join!(self.start_pause(&dir, pod_name), ip_saved);
        let (pid, start_ticks) = pause?;
        let paused = began.elapsed();
        let suffix = veth_suffix(pod_uid);
        let record = Record {
            pause_pid: pid,
            pause_start_ticks: start_ticks,
            ip,
            host_veth: format!("skh{suffix}"),
        };
        if let Err(e) = saved {
            kill_pause(&record);
            return Err(ip_not_saved(e));
        }
        // The pod's end is made inside its namespace, so it is named eth0 from the start.
        let made = self.plug(&record, "eth0").await;
        if let Err(e) = made {
            kill_pause(&record);
            let _ = self.inner.net.delete_link(&record.host_veth).await;
            return Err(e);
        }
        let (path, saved) = (dir.join("sandbox.json"), record.clone());
        blocking(move || write_json_atomic(&path, &saved).map_err(io("writing sandbox.json")))
            .await?;
        tracing::debug!(
            pod = pod_name,
            pause_ms = paused.as_millis() as u64,
            total_ms = began.elapsed().as_millis() as u64,
            "sandbox made"
        );
        Ok(self.isolation(&dir, &record))
    }

    /// Ends the pod's pause process (its network namespace and veth pair go with it) and
    /// deletes the sandbox's files. The containers must already be gone.
    pub async fn remove(&self, pod_uid: &str) -> Result<(), SandboxError> {
        let dir = self.inner.dir.join(pod_uid);
        if let Some(record) = &read_record(&dir) {
            kill_pause(record);
            // The kernel deletes the pair when the namespace goes, but asynchronously.
            self.inner.net.delete_link(&record.host_veth).await?;
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(format!("removing {}", dir.display()))(e)),
        }
    }

    fn isolation(&self, dir: &Path, record: &Record) -> Isolation {
        Isolation {
            pause_pid: record.pause_pid,
            pause_start_ticks: record.pause_start_ticks,
            etc_hostname: dir.join("hostname"),
            etc_hosts: dir.join("hosts"),
            cgroup_parent: self.inner.cgroup.as_ref().map(|(_, p)| p.clone()),
            cgroup_v2: matches!(self.inner.cgroup, Some((cgroup::Version::V2, _))),
            limits: Limits::default(),
        }
    }

    async fn start_pause(&self, dir: &Path, hostname: &str) -> Result<(u32, u64), SandboxError> {
        let log = fs::File::create(dir.join("pause.log")).map_err(io("creating pause.log"))?;
        let mut child = Command::new(&self.inner.exe)
            .arg("pause")
            .arg("--hostname")
            .arg(hostname)
            // Names the process as this node's (`skiff down` finds leftovers by it).
            .arg("--state-dir")
            .arg(dir)
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(false)
            .spawn()
            .map_err(io(format!("starting {}", self.inner.exe.display())))?;
        let stdout = child.stdout.take();
        let answer = async {
            let mut line = String::new();
            if let Some(stdout) = stdout {
                BufReader::new(stdout).read_line(&mut line).await?;
            }
            Ok::<_, std::io::Error>(line)
        };
        let line = match tokio::time::timeout(PAUSE_TIMEOUT, answer).await {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(SandboxError::Pause(format!("reading its answer: {e}"))),
            Err(_) => {
                let _ = child.start_kill();
                return Err(SandboxError::Pause("no answer in time".into()));
            }
        };
        // Reaped when it ends; it outlives this nodelet if need be.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let pid = match line.trim().strip_prefix("ready ") {
            Some(pid) => pid
                .parse::<u32>()
                .map_err(|_| SandboxError::Pause(format!("unexpected answer {line:?}")))?,
            None if line.trim().is_empty() => {
                let log = fs::read_to_string(dir.join("pause.log")).unwrap_or_default();
                return Err(SandboxError::Pause(format!(
                    "exited at once: {}",
                    log.trim()
                )));
            }
            None => return Err(SandboxError::Pause(line.trim().to_string())),
        };
        let identity = crate::runtime::procfs::identity_of(pid)
            .map_err(|e| SandboxError::Pause(format!("identity of {pid}: {e}")))?;
        Ok((pid, identity.start_ticks))
    }

    async fn plug(&self, record: &Record, peer: &str) -> Result<(), SandboxError> {
        let began = std::time::Instant::now();
        let cidr = self.inner.node.pod_cidr;
        net::plug_pod(
            record.pause_pid,
            HostEnd {
                name: record.host_veth.clone(),
                bridge: self.inner.bridge_index,
            },
            PodInterface {
                peer: peer.to_string(),
                ip: record.ip,
                prefix: cidr.prefix(),
                gateway: cidr.gateway(),
                on_link: self.inner.node.on_link,
            },
        )
        .await?;
        tracing::debug!(
            pause_pid = record.pause_pid,
            plug_ms = began.elapsed().as_millis() as u64,
            "pod network plugged"
        );
        Ok(())
    }
}

/// The sandbox's `sandbox.json`, or `None` if it has none or it cannot be read. A record is
/// only ever replaced whole, so an unreadable one is what a host crash can leave (a file
/// system without a journal), and then its pause process and links are gone with the host:
/// the sandbox is made again rather than the pod left failing on it.
fn read_record(dir: &Path) -> Option<Record> {
    let path = dir.join("sandbox.json");
    match read_json::<Record>(&path) {
        Ok(record) => record,
        Err(e) => {
            tracing::warn!(error = %e, "a sandbox record cannot be read; taken as no sandbox");
            None
        }
    }
}

fn ip_not_saved(e: IpamError) -> SandboxError {
    SandboxError::State(format!("saving the pod's IP: {e}"))
}

/// File work (fsyncs) on a blocking thread, so pods starting together do not stall the
/// nodelet's async threads behind one another's writes.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SandboxError> + Send + 'static,
) -> Result<T, SandboxError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(io("a sandbox's files")(std::io::Error::other(e))))
}

fn pause_alive(record: &Record) -> bool {
    crate::runtime::procfs::identity_of(record.pause_pid)
        .is_ok_and(|id| id.start_ticks == record.pause_start_ticks)
}

fn kill_pause(record: &Record) {
    if pause_alive(record) {
        if let Some(pid) = rustix::process::Pid::from_raw(record.pause_pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// 11 hex digits of the pod uid's hash: veth names fit the kernel's 15 characters.
fn veth_suffix(pod_uid: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pod_uid.hash(&mut h);
    format!("{:011x}", h.finish() & 0xfff_ffff_ffff)
}

/// The pod's `/etc/hosts`, as the kubelet writes it.
fn hosts_file(pod_name: &str, ip: Ipv4Addr) -> String {
    format!(
        "# Kubernetes-managed hosts file (skiff).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{ip}\t{pod_name}\n"
    )
}

/// The limits of a container from `resources.limits` (unparsable values are left out:
/// validation rejected them already).
pub fn limits_of(resources: &skiff_api::types::ResourceRequirements) -> Limits {
    Limits {
        memory_bytes: resources
            .limits
            .get("memory")
            .and_then(|q| q.parse_bytes().ok())
            .and_then(|b| u64::try_from(b).ok()),
        cpu_millis: resources
            .limits
            .get("cpu")
            .and_then(|q| q.parse_cpu_millis().ok())
            .and_then(|m| u64::try_from(m).ok()),
    }
}

/// The address part of a CIDR flag checked for use as a pod network.
pub fn routable(cidr: Ipv4Cidr) -> Result<(), String> {
    if cidr.network().is_loopback() {
        return Err(format!(
            "{cidr} is a loopback range, which pods with their own network namespace cannot \
             use; give a range such as 10.42.0.0/24 (or --sandbox none)"
        ));
    }
    if cidr.prefix() > 30 {
        return Err(format!("{cidr} is too small for a pod network"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_sandbox_record_reads_as_no_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_record(dir.path()).is_none(), "no record");
        let record = Record {
            pause_pid: 42,
            pause_start_ticks: 7,
            ip: Ipv4Addr::new(10, 42, 0, 5),
            host_veth: "skh0123456789a".into(),
        };
        write_json_atomic(&dir.path().join("sandbox.json"), &record).unwrap();
        let read = read_record(dir.path()).expect("a whole record");
        assert_eq!((read.pause_pid, read.ip), (42, record.ip));
        // What a crash of a host without a journal can leave of a file.
        for torn in ["", "{\"pause_pid\": 4", "\0\0\0\0"] {
            fs::write(dir.path().join("sandbox.json"), torn).unwrap();
            assert!(read_record(dir.path()).is_none(), "{torn:?}");
        }
    }
}
