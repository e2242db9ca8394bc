//! Where each cgroup hierarchy's mount starts. `/proc/PID/cgroup` names a cgroup by its
//! path from the hierarchy's true root, but a container without its own cgroup namespace
//! (Docker on cgroup v1, the compose nodes) has only its own subtree mounted: the mount's
//! root is `/docker/<id>`, and a pod's `/docker/<id>/skiff-br/p_c_0` is found at
//! `/sys/fs/cgroup/memory/skiff-br/p_c_0`. The root is field 4 of `/proc/self/mountinfo`.

/// The cgroup mounts of this process: (controllers, root), `""` for the v2 hierarchy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountRoots(Vec<(Vec<String>, String)>);

impl MountRoots {
    /// Reads `/proc/self/mountinfo`; no cgroup mounts when it cannot be read.
    pub fn of_self() -> MountRoots {
        MountRoots::parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
    }

    /// Parses mountinfo lines: `ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS] - FSTYPE SOURCE SUPER`.
    pub fn parse(mountinfo: &str) -> MountRoots {
        let mut roots = Vec::new();
        for line in mountinfo.lines() {
            let Some((mount, fs)) = line.split_once(" - ") else {
                continue;
            };
            let Some(root) = mount.split(' ').nth(3) else {
                continue;
            };
            let mut fs = fs.split(' ');
            let controllers = match (fs.next(), fs.nth(1)) {
                (Some("cgroup2"), _) => Vec::new(),
                (Some("cgroup"), Some(options)) => options
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                    .map(str::to_string)
                    .collect(),
                _ => continue,
            };
            roots.push((controllers, root.to_string()));
        }
        MountRoots(roots)
    }

    /// `path` (from `/proc/PID/cgroup`) relative to the mount of the hierarchy that has
    /// `controller` (`""`: the v2 one): the mount's root is taken off its front.
    pub fn relative<'a>(&self, controller: &str, path: &'a str) -> &'a str {
        let root = self.0.iter().find(|(controllers, _)| {
            if controller.is_empty() {
                controllers.is_empty()
            } else {
                controllers.iter().any(|c| c == controller)
            }
        });
        let stripped = match root {
            Some((_, root)) if root != "/" => path
                .strip_prefix(root.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                .unwrap_or(path),
            _ => path,
        };
        stripped.trim_start_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_V1: &str = "\
1040 1039 0:93 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw,mode=755
1046 1040 0:32 /docker/08630c32 /sys/fs/cgroup/memory rw,nosuid shared:1 - cgroup cgroup rw,memory
1047 1040 0:33 /docker/08630c32 /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
1048 1040 0:34 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn a_containers_subtree_is_taken_off_the_front() {
        let roots = MountRoots::parse(DOCKER_V1);
        assert_eq!(
            roots.relative("memory", "/docker/08630c32/skiff-br/p_c_0"),
            "skiff-br/p_c_0"
        );
        assert_eq!(
            roots.relative("cpu", "/docker/08630c32/skiff-br"),
            "skiff-br"
        );
        assert_eq!(roots.relative("memory", "/docker/08630c32"), "");
        // Not under the root (a sibling whose name merely starts alike): left whole.
        assert_eq!(
            roots.relative("memory", "/docker/08630c32x/p"),
            "docker/08630c32x/p"
        );
    }

    #[test]
    fn host_mounts_and_unknown_hierarchies_keep_the_path() {
        let roots = MountRoots::parse(
            "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n\
             31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
        );
        assert_eq!(roots.relative("", "/skiff-br/p_c_0"), "skiff-br/p_c_0");
        assert_eq!(roots.relative("memory", "/skiff-br"), "skiff-br");
        assert_eq!(roots.relative("cpu", "/skiff-br"), "skiff-br");
        assert_eq!(MountRoots::default().relative("", "/a/b"), "a/b");
    }
}
