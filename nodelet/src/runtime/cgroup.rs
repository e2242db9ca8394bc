//! Per-container cgroups: memory and CPU limits, OOM-kill detection, removal.
//!
//! cgroup v1 (one hierarchy per controller under `/sys/fs/cgroup/<controller>`) and v2
//! (one unified hierarchy with `cgroup.controllers` at its root) are both handled; the
//! files touched are few (`memory.limit_in_bytes` / `memory.max`, `cpu.cfs_quota_us` /
//! `cpu.max`, `memory.oom_control` / `memory.events`), so they are written directly
//! rather than through a cgroup crate (see ARCHITECTURE.md).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::cgroup_roots::MountRoots;
use serde::{Deserialize, Serialize};

const ROOT: &str = "/sys/fs/cgroup";
/// The CFS period for CPU limits (the kernel's and the kubelet's default): 100 ms.
const CPU_PERIOD_US: u64 = 100_000;

/// Resource limits of one container, from `resources.limits`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    pub cpu_millis: Option<u64>,
}

/// Which cgroup layout the host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The host's cgroup version, or `None` without a usable cgroup filesystem.
pub fn detect() -> Option<Version> {
    let root = Path::new(ROOT);
    if root.join("cgroup.controllers").exists() {
        Some(Version::V2)
    } else if root.join("memory").join("memory.limit_in_bytes").exists() {
        Some(Version::V1)
    } else {
        None
    }
}

/// One container's cgroup, named by a path relative to each hierarchy's root (e.g.
/// `skiff-br1/<pod uid>_<container>_<instance>`).
#[derive(Debug, Clone)]
pub struct Cgroup {
    version: Version,
    relative: PathBuf,
}

impl Cgroup {
    pub fn new(version: Version, relative: impl Into<PathBuf>) -> Self {
        Cgroup {
            version,
            relative: relative.into(),
        }
    }

    /// The directories of this cgroup: one per controller used (v1) or one (v2).
    pub fn dirs(&self) -> Vec<PathBuf> {
        match self.version {
            Version::V1 => ["memory", "cpu"]
                .iter()
                .map(|c| Path::new(ROOT).join(c).join(&self.relative))
                .collect(),
            Version::V2 => vec![Path::new(ROOT).join(&self.relative)],
        }
    }

    /// Creates the cgroup and writes the limits.
    pub fn create(&self, limits: &Limits) -> io::Result<()> {
        for dir in self.dirs() {
            fs::create_dir_all(&dir).map_err(|e| context(&dir, e))?;
        }
        match self.version {
            Version::V1 => {
                let [memory, cpu] = [self.dir_of("memory"), self.dir_of("cpu")];
                if let Some(bytes) = limits.memory_bytes {
                    write(&memory.join("memory.limit_in_bytes"), &bytes.to_string())?;
                    // No swapping around the limit: over it, the OOM killer acts.
                    let _ = write(&memory.join("memory.swappiness"), "0");
                }
                if let Some(millis) = limits.cpu_millis {
                    write(&cpu.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
                    write(&cpu.join("cpu.cfs_quota_us"), &quota_us(millis).to_string())?;
                }
            }
            Version::V2 => {
                let dir = self.dir_of("");
                // Controllers must be enabled on every ancestor for the limit files to exist.
                enable_v2_controllers(&self.relative)?;
                if let Some(bytes) = limits.memory_bytes {
                    write(&dir.join("memory.max"), &bytes.to_string())?;
                    let _ = write(&dir.join("memory.swap.max"), "0");
                }
                if let Some(millis) = limits.cpu_millis {
                    write(
                        &dir.join("cpu.max"),
                        &format!("{} {CPU_PERIOD_US}", quota_us(millis)),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// The cgroup's `cgroup.procs` files, open for writing: a process writing `0` to each
    /// moves itself in (a container's process, after fork, where opening is best avoided).
    pub fn procs_files(&self) -> io::Result<Vec<fs::File>> {
        self.dirs()
            .iter()
            .map(|dir| {
                let path = dir.join("cgroup.procs");
                fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| context(&path, e))
            })
            .collect()
    }

    /// How many times the kernel's OOM killer killed a process of this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let (file, key) = match self.version {
            Version::V1 => (self.dir_of("memory").join("memory.oom_control"), "oom_kill"),
            Version::V2 => (self.dir_of("").join("memory.events"), "oom_kill"),
        };
        fs::read_to_string(file)
            .ok()
            .and_then(|text| {
                text.lines().find_map(|line| {
                    let (k, v) = line.split_once(' ')?;
                    (k == key).then(|| v.trim().parse().ok()).flatten()
                })
            })
            .unwrap_or(0)
    }

    /// Removes the cgroup; it must have no processes left. Missing directories are fine.
    pub fn remove(&self) -> io::Result<()> {
        for dir in self.dirs() {
            remove_dir(&dir)?;
        }
        Ok(())
    }

    fn dir_of(&self, controller: &str) -> PathBuf {
        match self.version {
            Version::V1 => Path::new(ROOT).join(controller).join(&self.relative),
            Version::V2 => Path::new(ROOT).join(&self.relative),
        }
    }
}

/// Moves the calling process into the cgroups of process `pid` (an exec joins its
/// container's, so the container's limits hold for it too): in each hierarchy skiff uses
/// where the two differ. Without a cgroup filesystem there is nothing to join.
pub fn join_cgroups_of(pid: u32) -> io::Result<()> {
    let Some(version) = detect() else {
        return Ok(());
    };
    let read = |path: &str| fs::read_to_string(path).map_err(|e| context(Path::new(path), e));
    let target = read(&format!("/proc/{pid}/cgroup"))?;
    let own = read("/proc/self/cgroup")?;
    let roots = MountRoots::of_self();
    for procs in moves(version, &target, &own, &roots, |dir| dir.is_dir()) {
        write(&procs, "0")?;
    }
    Ok(())
}

/// The `cgroup.procs` files to write to go from the cgroups listed in `own` to those in
/// `target` (both in `/proc/PID/cgroup` form: `id:controllers:path`), in the memory and
/// cpu hierarchies (v1) or the unified one (v2). A v1 hierarchy mounted under its joined
/// name (`cpu,cpuacct`) is found under that name, else under the controller's. Paths are
/// taken relative to each hierarchy's mount (`roots`: a container sees only its subtree).
fn moves(
    version: Version,
    target: &str,
    own: &str,
    roots: &MountRoots,
    exists: impl Fn(&Path) -> bool,
) -> Vec<PathBuf> {
    let entries = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                Some((controllers.to_string(), path.to_string()))
            })
            .collect()
    };
    let own = entries(own);
    let mut files = Vec::new();
    for (controllers, path) in entries(target) {
        if own.contains(&(controllers.clone(), path.clone())) {
            continue;
        }
        let dir = match version {
            Version::V2 if controllers.is_empty() => {
                Path::new(ROOT).join(roots.relative("", &path))
            }
            Version::V1 => {
                let used: Vec<&str> = controllers
                    .split(',')
                    .filter(|c| *c == "memory" || *c == "cpu")
                    .collect();
                let Some(first) = used.first() else { continue };
                let relative = roots.relative(first, &path);
                let joined = Path::new(ROOT).join(&controllers).join(relative);
                if exists(&joined) {
                    joined
                } else {
                    Path::new(ROOT).join(first).join(relative)
                }
            }
            Version::V2 => continue,
        };
        files.push(dir.join("cgroup.procs"));
    }
    files
}

/// Removes an (empty) cgroup directory of any hierarchy; missing is fine.
pub fn remove_dir(dir: &Path) -> io::Result<()> {
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(context(dir, e)),
    }
}

/// The directories of a node's parent cgroup `name` in every hierarchy skiff uses.
pub fn parent_dirs(version: Version, name: &str) -> Vec<PathBuf> {
    Cgroup::new(version, name).dirs()
}

/// CFS quota for a limit in millicores (at least 1 ms per period, the kernel's minimum).
fn quota_us(millis: u64) -> u64 {
    (millis * CPU_PERIOD_US / 1000).max(1000)
}

fn enable_v2_controllers(relative: &Path) -> io::Result<()> {
    let mut dir = PathBuf::from(ROOT);
    for part in relative.parent().into_iter().flat_map(|p| p.components()) {
        let _ = fs::write(dir.join("cgroup.subtree_control"), "+memory +cpu");
        dir.push(part);
    }
    let _ = fs::write(dir.join("cgroup.subtree_control"), "+memory +cpu");
    Ok(())
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| context(path, e))
}

fn context(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exec_moves_only_where_its_container_differs() {
        let target = "9:name=systemd:/\n4:memory:/skiff-br1/u_main_0\n3:cpu,cpuacct:/skiff-br1/u_main_0\n2:pids:/x\n0::/\n";
        let own =
            "9:name=systemd:/\n4:memory:/\n3:cpu,cpuacct:/skiff-br1/u_main_0\n2:pids:/\n0::/\n";
        assert_eq!(
            moves(Version::V1, target, own, &MountRoots::default(), |_| true),
            vec![PathBuf::from(
                "/sys/fs/cgroup/memory/skiff-br1/u_main_0/cgroup.procs"
            )]
        );
        let own = "4:memory:/\n3:cpu,cpuacct:/\n";
        assert_eq!(
            moves(Version::V1, target, own, &MountRoots::default(), |p| !p
                .starts_with("/sys/fs/cgroup/cpu,cpuacct")),
            vec![
                PathBuf::from("/sys/fs/cgroup/memory/skiff-br1/u_main_0/cgroup.procs"),
                PathBuf::from("/sys/fs/cgroup/cpu/skiff-br1/u_main_0/cgroup.procs"),
            ]
        );
        assert_eq!(
            moves(
                Version::V2,
                "0::/skiff-br1/u_main_0\n",
                "0::/init.scope\n",
                &MountRoots::default(),
                |_| true
            ),
            vec![PathBuf::from(
                "/sys/fs/cgroup/skiff-br1/u_main_0/cgroup.procs"
            )]
        );
    }

    #[test]
    fn an_exec_in_a_container_joins_paths_below_the_containers_own_mount() {
        let roots = MountRoots::parse(
            "46 40 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
             47 40 0:33 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
        );
        let target = "4:memory:/docker/abc/skiff-br1/u_main_0\n3:cpu,cpuacct:/docker/abc/skiff-br1/u_main_0\n";
        let own = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n";
        assert_eq!(
            moves(Version::V1, target, own, &roots, |_| true),
            vec![
                PathBuf::from("/sys/fs/cgroup/memory/skiff-br1/u_main_0/cgroup.procs"),
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/skiff-br1/u_main_0/cgroup.procs"),
            ]
        );
    }

    #[test]
    fn cpu_quota_follows_the_kubelet() {
        assert_eq!(quota_us(1000), 100_000);
        assert_eq!(quota_us(250), 25_000);
        assert_eq!(quota_us(1), 1000);
    }

    #[test]
    fn v1_uses_one_directory_per_controller() {
        let g = Cgroup::new(Version::V1, "skiff-x/p_c_0");
        assert_eq!(
            g.dirs(),
            vec![
                PathBuf::from("/sys/fs/cgroup/memory/skiff-x/p_c_0"),
                PathBuf::from("/sys/fs/cgroup/cpu/skiff-x/p_c_0")
            ]
        );
    }
}
