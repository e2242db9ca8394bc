//! Test scaffolding: a node (data dir + runtime + IP range) whose processes are all
//! killed by PID when the test ends, however it ends.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skiff_nodelet::images::ImageCatalog;
use skiff_nodelet::ipam::Ipam;
use skiff_nodelet::runtime::{ContainerId, ContainerSpec, Runtime, RuntimeConfig};

/// The binary containers run under: their supervisor and the image stand-ins.
pub const NODELET: &str = env!("CARGO_BIN_EXE_skiff-nodelet-shim");

/// One "node" of a test.
pub struct TestNode {
    // Declared first so it drops first: it reads the PIDs from files under `dir`.
    _guard: KillGuard,
    pub dir: tempfile::TempDir,
    pub runtime: Runtime,
    pub ipam: Ipam,
    pub catalog: ImageCatalog,
}

impl TestNode {
    pub fn new() -> TestNode {
        TestNode::with_config(|_| {})
    }

    /// A node whose runtime configuration `tweak` adjusts.
    pub fn with_config(tweak: impl FnOnce(&mut RuntimeConfig)) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let mut config = RuntimeConfig::new(dir.path(), NODELET);
        tweak(&mut config);
        let runtime = Runtime::new(config).unwrap();
        // A /24 of loopback addresses of our own (from our PID: tests run as separate
        // processes), so kubia stand-ins of concurrent tests never share an address.
        let pid = std::process::id();
        let range = format!("127.{}.{}.0/24", 150 + (pid >> 8) % 100, pid & 255);
        let ipam = Ipam::open(dir.path().join("ipam.json"), range.parse().unwrap()).unwrap();
        TestNode {
            _guard: KillGuard {
                data_dir: dir.path().to_path_buf(),
                extra_pids: Vec::new(),
            },
            runtime,
            ipam,
            catalog: ImageCatalog::new(NODELET),
            dir,
        }
    }

    /// A spec for `container` of pod `pod` (uid = pod name), with the pod's IP.
    pub fn spec(&self, pod: &str, container: &str, instance: u32, argv: &[&str]) -> ContainerSpec {
        ContainerSpec {
            pod_uid: format!("uid-{pod}"),
            pod_namespace: "default".into(),
            pod_name: pod.into(),
            container_name: container.into(),
            instance,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            working_dir: None,
            // Saving an allocation runs on tokio's blocking pool, which a test thread can
            // wait for.
            pod_ip: futures::executor::block_on(self.ipam.allocate(&format!("uid-{pod}")))
                .unwrap()
                .into(),
            isolation: None,
        }
    }

    /// A spec running `image` with Kubernetes `command`/`args` resolution.
    pub fn image_spec(
        &self,
        pod: &str,
        container: &str,
        image: &str,
        args: &[&str],
    ) -> ContainerSpec {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let argv = self.catalog.resolve(image, &[], &args).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.spec(pod, container, 0, &argv)
    }

    pub fn pod_ip(&self, pod: &str) -> Ipv4Addr {
        self.ipam.get(&format!("uid-{pod}")).unwrap()
    }

    pub fn log(&self, id: &ContainerId) -> String {
        let opts = skiff_nodelet::logs::LogOptions::default();
        let bytes = self
            .runtime
            .read_log(&id.pod_uid, &id.container, &opts)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    /// Waits (bounded) until the container's log contains `needle`.
    pub async fn wait_for_log(&self, id: &ContainerId, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.log(id).contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "log of {id} never contained {needle:?}; it has {:?}",
                self.log(id)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Also kill `pid` (a helper process) when the test ends.
    pub fn guard_pid(&mut self, pid: u32) {
        self._guard.extra_pids.push(pid);
    }
}

/// Bounded wait for an async operation, failing the test with `what`.
pub async fn within<T>(secs: u64, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {secs}s: {what}"),
    }
}

/// A process's start time, to never kill a recycled PID.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

pub fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The session id of a process (field 6 of /proc/PID/stat).
pub fn session_of(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(3)?.parse().ok()
}

/// Kills every supervisor and container process recorded under the data dir (and any
/// extra PIDs), checking start times so that only our own processes are hit.
struct KillGuard {
    data_dir: PathBuf,
    extra_pids: Vec<u32>,
}

impl Drop for KillGuard {
    fn drop(&mut self) {
        for pid in &self.extra_pids {
            kill(*pid, None, false);
        }
        for file in state_files(&self.data_dir.join("containers")) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let who = value.get("process").unwrap_or(&value);
            let (Some(pid), Some(ticks)) = (
                who.get("pid").and_then(|v| v.as_u64()),
                who.get("start_ticks").and_then(|v| v.as_u64()),
            ) else {
                continue;
            };
            let group = file.ends_with("child.json");
            kill(pid as u32, Some(ticks), group);
        }
    }
}

fn kill(pid: u32, ticks: Option<u64>, group: bool) {
    if ticks.is_some() && start_ticks(pid) != ticks {
        return;
    }
    let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    let _ = if group {
        rustix::process::kill_process_group(p, rustix::process::Signal::KILL)
    } else {
        rustix::process::kill_process(p, rustix::process::Signal::KILL)
    };
}

fn state_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with("supervisor.json") || path.ends_with("child.json") {
                out.push(path);
            }
        }
    }
    out
}
