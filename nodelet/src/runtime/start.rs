//! Starting a container instance: state dir, environment, supervisor spawn and handshake.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::process::Stdio;

use chrono::Utc;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::layout::{validate_name, write_json_atomic, InstanceDir};
use super::procfs::is_alive;
use super::types::{ContainerId, ContainerSpec, ProcessIdentity, StoredSpec};
use super::{Runtime, RuntimeError};

impl Runtime {
    /// Starts one container instance under a new supervisor and returns once its process
    /// runs (or failed to exec: then [`Runtime::status`] reports `Exited` with reason
    /// `StartError` and exit code 128, as a container runtime does).
    ///
    /// Each instance number may be started once. Starting instance N deletes the state
    /// and logs of every instance of that container except N and the newest before it.
    pub async fn start(&self, spec: ContainerSpec) -> Result<ContainerId, RuntimeError> {
        // The state dir and its fsynced spec are written on a blocking thread: a hundred
        // pods starting together would otherwise stall the nodelet's async threads (and
        // every other pod's work on them) behind one another's fsyncs.
        let this = self.clone();
        let (id, dir) = tokio::task::spawn_blocking(move || this.prepare_instance(spec))
            .await
            .map_err(|e| {
                RuntimeError::io("preparing a container's state", io::Error::other(e))
            })??;
        let began = std::time::Instant::now();
        self.spawn_supervisor(&id, &dir).await?;
        tracing::debug!(container = %id, handshake_ms = began.elapsed().as_millis() as u64, "container started");
        Ok(id)
    }

    /// The instance's state dir with its spec, before its supervisor starts.
    fn prepare_instance(
        &self,
        spec: ContainerSpec,
    ) -> Result<(ContainerId, InstanceDir), RuntimeError> {
        validate_name("pod uid", &spec.pod_uid)?;
        validate_name("container name", &spec.container_name)?;
        let id = spec.id();
        if spec.argv.is_empty() {
            return Err(RuntimeError::EmptyCommand(id));
        }
        let dir = self.layout.instance(&id);
        let parent = self.layout.container(&id.pod_uid, &id.container);
        fs::create_dir_all(&parent)
            .map_err(|e| RuntimeError::io(format!("creating {}", parent.display()), e))?;
        match fs::create_dir(&dir.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(RuntimeError::AlreadyExists(id))
            }
            Err(e) => {
                return Err(RuntimeError::io(
                    format!("creating {}", dir.path.display()),
                    e,
                ))
            }
        }
        self.prune_instances(&id)?;

        let stored = StoredSpec {
            env: self.container_env(&spec),
            working_dir: spec
                .working_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("/")),
            log_max_bytes: self.config.log_max_bytes,
            created_at: Utc::now(),
            spec,
        };
        write_json_atomic(&dir.spec(), &stored)
            .map_err(|e| RuntimeError::io(format!("writing {}", dir.spec().display()), e))?;
        Ok((id, dir))
    }

    /// The environment of a container: defaults a container runtime and the nodelet
    /// provide, the nodelet's own `SKIFF_*` variables, overridden by the spec's own entries.
    fn container_env(&self, spec: &ContainerSpec) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), self.config.default_path.clone()),
            ("HOSTNAME".into(), spec.pod_name.clone()),
            ("POD_NAME".into(), spec.pod_name.clone()),
            ("POD_NAMESPACE".into(), spec.pod_namespace.clone()),
            ("POD_IP".into(), spec.pod_ip.to_string()),
        ];
        // The stand-in images' knobs (SKIFF_BATCH_JOB_SECONDS, ...) set on the
        // nodelet reach its containers, so a whole node can run the book's
        // examples faster; a pod's own env still wins.
        env.extend(std::env::vars().filter(|(k, _)| k.starts_with("SKIFF_")));
        for (key, value) in &spec.env {
            match env.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => env.push((key.clone(), value.clone())),
            }
        }
        env
    }

    /// Keeps only the new instance and the newest one before it (for `logs --previous`).
    fn prune_instances(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let parent = self.layout.container(&id.pod_uid, &id.container);
        let all = self
            .layout
            .instances(&id.pod_uid, &id.container)
            .map_err(|e| RuntimeError::io(format!("listing {}", parent.display()), e))?;
        let previous = all.iter().copied().filter(|n| *n < id.instance).max();
        for n in all {
            if n == id.instance || Some(n) == previous {
                continue;
            }
            let old = self.layout.instance(&ContainerId {
                instance: n,
                ..id.clone()
            });
            if supervisor_alive(&old) {
                tracing::warn!(container = %id, instance = n, "old instance still running; keeping its state");
                continue;
            }
            fs::remove_dir_all(&old.path)
                .map_err(|e| RuntimeError::io(format!("removing {}", old.path.display()), e))?;
        }
        Ok(())
    }

    async fn spawn_supervisor(
        &self,
        id: &ContainerId,
        dir: &InstanceDir,
    ) -> Result<(), RuntimeError> {
        let stderr = fs::File::create(dir.supervisor_log()).map_err(|e| {
            RuntimeError::io(format!("creating {}", dir.supervisor_log().display()), e)
        })?;
        let mut child = Command::new(&self.config.nodelet_exe)
            .arg("supervise")
            .arg("--state-dir")
            .arg(&dir.path)
            // The container's environment comes from spec.json; the supervisor needs none.
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| RuntimeError::Supervisor {
                id: id.clone(),
                message: format!("spawning {}: {e}", self.config.nodelet_exe.display()),
            })?;
        let stdout = child.stdout.take();
        let handshake = async {
            let mut line = String::new();
            if let Some(stdout) = stdout {
                BufReader::new(stdout).read_line(&mut line).await?;
            }
            Ok::<_, io::Error>(line)
        };
        let outcome = tokio::time::timeout(self.config.start_timeout, handshake).await;
        let line = match outcome {
            Ok(Ok(line)) if line.starts_with("started ") || line.starts_with("failed ") => line,
            other => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                let why = match other {
                    Err(_) => "no answer within the start timeout".to_string(),
                    Ok(Err(e)) => format!("reading its answer: {e}"),
                    Ok(Ok(_)) => "exited without starting the container".to_string(),
                };
                let log = fs::read_to_string(dir.supervisor_log()).unwrap_or_default();
                return Err(RuntimeError::Supervisor {
                    id: id.clone(),
                    message: format!("{why}; {}", log.trim()),
                });
            }
        };
        tracing::trace!(container = %id, answer = line.trim(), "supervisor handshake");
        // Reap the supervisor when it ends; it keeps running if this runtime goes away.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Ok(())
    }
}

pub(crate) fn supervisor_alive(dir: &InstanceDir) -> bool {
    matches!(
        super::layout::read_json::<ProcessIdentity>(&dir.supervisor()),
        Ok(Some(sup)) if is_alive(&sup)
    )
}
