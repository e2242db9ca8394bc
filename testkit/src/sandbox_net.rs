//! Pod networks for sandboxed test clusters: each cluster gets its own range and bridge
//! names, so clusters of tests running in parallel on one host never meet, and its
//! leftovers can be listed by name after teardown.
//!
//! Node `i` of a cluster gets `10.A.(16B+i+1).0/24` and bridge `sktAABn<i>`; the nodes
//! of one cluster share the layer-2 segment (node 0's bridge) and reach the whole
//! `10.A.16B.0/20` on-link.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxNet {
    a: u8,
    b: u8,
}

impl SandboxNet {
    /// A range no other cluster on this host uses now (its first bridge is absent).
    pub fn unique() -> SandboxNet {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let seed = std::process::id() as usize * 31
            + NEXT.fetch_add(1, Ordering::Relaxed) * 7
            + std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as usize);
        for k in 0..(190 * 16) {
            let n = (seed + k) % (190 * 16);
            let net = SandboxNet {
                a: 64 + (n / 16) as u8,
                b: (n % 16) as u8,
            };
            if !Path::new("/sys/class/net").join(net.bridge(0)).exists() {
                return net;
            }
        }
        panic!("no free test pod network range");
    }

    pub fn bridge(&self, node: usize) -> String {
        format!("skt{:02x}{:x}n{node}", self.a, self.b)
    }

    pub fn pod_cidr(&self, node: usize) -> String {
        format!("10.{}.{}.0/24", self.a, usize::from(self.b) * 16 + node + 1)
    }

    pub fn cluster_cidr(&self) -> String {
        format!("10.{}.{}.0/20", self.a, usize::from(self.b) * 16)
    }

    /// The nodelet flags of node `node` (0-based, in the order nodes were added).
    pub fn nodelet_args(&self, node: usize) -> Vec<String> {
        let mut args = vec![
            "--sandbox".to_string(),
            "namespaces".to_string(),
            "--pod-bridge".to_string(),
            self.bridge(node),
            "--cluster-cidr".to_string(),
            self.cluster_cidr(),
        ];
        if node > 0 {
            args.extend(["--pod-bridge-link".to_string(), self.bridge(0)]);
        }
        args
    }

    /// Network links whose names this cluster's nodes made (bridges and their links).
    pub fn links(&self) -> Vec<String> {
        let prefix = format!("skt{:02x}{:x}n", self.a, self.b);
        list_dir(Path::new("/sys/class/net"))
            .into_iter()
            .filter(|name| name.starts_with(&prefix))
            .collect()
    }

    /// Rules of the host's FORWARD chain naming this cluster's bridges.
    pub fn forward_rules(&self) -> Vec<String> {
        let prefix = format!("skt{:02x}{:x}n", self.a, self.b);
        let out = std::process::Command::new("iptables")
            .args(["-w", "-S", "FORWARD"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        out.lines()
            .filter(|l| l.contains(&prefix))
            .map(str::to_string)
            .collect()
    }

    /// Routes (from /proc/net/route) into this cluster's pod range.
    pub fn routes(&self) -> Vec<String> {
        let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
        text.lines()
            .skip(1)
            .filter(|line| {
                let Some(dest) = line.split_whitespace().nth(1) else {
                    return false;
                };
                let Ok(raw) = u32::from_str_radix(dest, 16) else {
                    return false;
                };
                let [a, b, c, _] = raw.to_le_bytes();
                a == 10 && b == self.a && c / 16 == self.b
            })
            .map(str::to_string)
            .collect()
    }

    /// The cgroups of this cluster's nodes, in every hierarchy.
    pub fn cgroups(&self, nodes: usize) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for node in 0..nodes {
            let name = format!("skiff-{}", self.bridge(node));
            for root in [
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup/cpu",
                "/sys/fs/cgroup",
            ] {
                let dir = Path::new(root).join(&name);
                if dir.exists() {
                    out.push(dir);
                }
            }
        }
        out
    }
}

fn list_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect()
}

/// Runs `skiff-nodelet teardown --data-dir DIR` (bounded), which removes what the node
/// made for its sandboxes; a node that never made any has nothing to remove.
pub fn teardown(data_dir: &Path) {
    if !data_dir.join("sandboxes").exists() {
        return;
    }
    let Some(binary) = crate::binary::find("skiff-nodelet") else {
        return;
    };
    let Ok(mut child) = std::process::Command::new(binary)
        .arg("teardown")
        .arg("--data-dir")
        .arg(data_dir)
        .spawn()
    else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
