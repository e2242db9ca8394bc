//! What exists on disk: listing and recovering containers, removing pods, and locating
//! a container's logs and environment.

use std::fs;
use std::io;

use super::layout::{read_json, subdirs, validate_name, InstanceDir};
use super::types::{ContainerId, ContainerInfo, ContainerStatus, ExecContext, StoredSpec};
use super::{Runtime, RuntimeError};
use crate::logs::{read_log, LogFollower, LogOptions};

impl Runtime {
    /// Every container instance on disk with its spec and status, sorted by id. Running
    /// containers keep running and stay controllable through this `Runtime`.
    pub fn list(&self) -> Result<Vec<ContainerInfo>, RuntimeError> {
        let mut out = Vec::new();
        for pod_uid in self.pod_uids()? {
            for container in self.subdirs(&self.layout.pod(&pod_uid))? {
                let instances = self
                    .layout
                    .instances(&pod_uid, &container)
                    .map_err(|e| RuntimeError::io(format!("listing pod {pod_uid}"), e))?;
                for instance in instances {
                    let id = ContainerId {
                        pod_uid: pod_uid.clone(),
                        container: container.clone(),
                        instance,
                    };
                    let dir = self.layout.instance(&id);
                    // No spec: `start` died before writing it, so nothing was started.
                    let Some(stored) = read_json::<StoredSpec>(&dir.spec())? else {
                        continue;
                    };
                    let status = self.status(&id)?;
                    out.push(ContainerInfo {
                        id,
                        spec: stored.spec,
                        status,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The start-up scan after a nodelet (re)start: containers whose supervisors still
    /// run are re-adopted as they are (same process, not restarted), containers that
    /// ended meanwhile report their recorded exit. Also cleans up after crashes: state
    /// dirs of starts that never got going are removed, and processes whose supervisor
    /// died are killed (they report `Unknown`).
    pub fn recover(&self) -> Result<Vec<ContainerInfo>, RuntimeError> {
        for pod_uid in self.pod_uids()? {
            for container in self.subdirs(&self.layout.pod(&pod_uid))? {
                for name in self.subdirs(&self.layout.container(&pod_uid, &container))? {
                    let dir =
                        InstanceDir::new(self.layout.container(&pod_uid, &container).join(&name));
                    if !dir.spec().exists() {
                        let _ = fs::remove_dir_all(&dir.path);
                    }
                }
            }
        }
        let all = self.list()?;
        for info in &all {
            if let ContainerStatus::Unknown { .. } = info.status {
                self.kill_orphan(&info.id)?;
            }
        }
        Ok(all)
    }

    /// Uids of the pods that have state on this node.
    pub fn pod_uids(&self) -> Result<Vec<String>, RuntimeError> {
        self.subdirs(&self.layout.root)
    }

    /// Deletes all state and logs of a pod. Refuses while any of its containers runs:
    /// stop them first.
    pub fn remove_pod(&self, pod_uid: &str) -> Result<(), RuntimeError> {
        validate_name("pod uid", pod_uid)?;
        let running: Vec<ContainerId> = self
            .list_pod(pod_uid)?
            .into_iter()
            .filter(|info| info.status.is_running())
            .map(|info| info.id)
            .collect();
        if !running.is_empty() {
            return Err(RuntimeError::StillRunning {
                pod_uid: pod_uid.to_string(),
                running,
            });
        }
        for info in self.list_pod(pod_uid)? {
            self.kill_orphan(&info.id)?;
        }
        let dir = self.layout.pod(pod_uid);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RuntimeError::io(format!("removing {}", dir.display()), e)),
        }
    }

    fn list_pod(&self, pod_uid: &str) -> Result<Vec<ContainerInfo>, RuntimeError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|info| info.id.pod_uid == pod_uid)
            .collect())
    }

    /// The environment and working directory the container's process got, for running
    /// a command "inside" it (exec probes).
    pub fn exec_context(&self, id: &ContainerId) -> Result<ExecContext, RuntimeError> {
        let dir = self.existing(id)?;
        let stored = read_json::<StoredSpec>(&dir.spec())?
            .ok_or_else(|| RuntimeError::NotFound(id.clone()))?;
        let enter = match (&stored.spec.isolation, self.status(id)?) {
            (Some(_), super::ContainerStatus::Running { pid, .. }) => {
                Some((self.config.nodelet_exe.clone(), pid))
            }
            _ => None,
        };
        Ok(ExecContext {
            env: stored.env,
            working_dir: stored.working_dir,
            enter,
        })
    }

    /// The instance of a container whose log `options` select: the newest, or the one
    /// before it (`previous`).
    pub fn log_instance(
        &self,
        pod_uid: &str,
        container: &str,
        options: &LogOptions,
    ) -> Result<ContainerId, RuntimeError> {
        validate_name("pod uid", pod_uid)?;
        validate_name("container name", container)?;
        let instances = self
            .layout
            .instances(pod_uid, container)
            .map_err(|e| RuntimeError::io(format!("listing pod {pod_uid}"), e))?;
        let skip = usize::from(options.previous);
        instances
            .iter()
            .rev()
            .nth(skip)
            .map(|instance| ContainerId {
                pod_uid: pod_uid.to_string(),
                container: container.to_string(),
                instance: *instance,
            })
            .ok_or_else(|| RuntimeError::NoLogs {
                pod_uid: pod_uid.to_string(),
                container: container.to_string(),
                previous: options.previous,
            })
    }

    /// A container's log (current or previous instance), whole or its last lines.
    pub fn read_log(
        &self,
        pod_uid: &str,
        container: &str,
        options: &LogOptions,
    ) -> Result<Vec<u8>, RuntimeError> {
        let id = self.log_instance(pod_uid, container, options)?;
        let log = self.layout.instance(&id).log();
        read_log(&log, options.tail_lines, options.timestamps)
            .map_err(|e| RuntimeError::io(format!("reading {}", log.display()), e))
    }

    /// Follows a container's log: existing output (or its last lines), then new output
    /// as it is written, ending when that instance has exited.
    pub fn follow_log(
        &self,
        pod_uid: &str,
        container: &str,
        options: &LogOptions,
    ) -> Result<LogFollower, RuntimeError> {
        let id = self.log_instance(pod_uid, container, options)?;
        let dir = self.layout.instance(&id);
        match LogFollower::open(
            &dir.log(),
            &dir.exit(),
            options.tail_lines,
            options.timestamps,
        ) {
            Ok(follower) => Ok(follower),
            // An instance that never produced a log file (failed start) has no logs.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(RuntimeError::NoLogs {
                pod_uid: pod_uid.to_string(),
                container: container.to_string(),
                previous: options.previous,
            }),
            Err(e) => Err(RuntimeError::io(
                format!("opening {}", dir.log().display()),
                e,
            )),
        }
    }

    fn subdirs(&self, dir: &std::path::Path) -> Result<Vec<String>, RuntimeError> {
        subdirs(dir).map_err(|e| RuntimeError::io(format!("listing {}", dir.display()), e))
    }
}
