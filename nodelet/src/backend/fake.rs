//! The hollow runtime of `--runtime fake`: containers "run" without any process, so one
//! machine can pose as many nodes in scale tests. A container runs until stopped, or for a
//! while and then exits with a chosen code (pods annotated `skiff.io/fake-exit-code`), so
//! Jobs complete on hollow nodes too. State is in memory only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::runtime::{
    ContainerId, ContainerInfo, ContainerSpec, ContainerStatus, ExitRecord, RuntimeError,
};

/// How a fake container ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeExit {
    pub exit_code: i32,
    /// How long it "runs" first.
    pub after: Duration,
}

#[derive(Debug)]
struct FakeContainer {
    spec: ContainerSpec,
    started_at: DateTime<Utc>,
    exit: Option<FakeExit>,
    /// Set when it was stopped.
    stopped: Option<ExitRecord>,
}

impl FakeContainer {
    fn status(&self, now: DateTime<Utc>) -> ContainerStatus {
        if let Some(record) = &self.stopped {
            return ContainerStatus::Exited(record.clone());
        }
        if let Some(exit) = self.exit {
            let ends = self.started_at + chrono::Duration::from_std(exit.after).unwrap_or_default();
            if now >= ends {
                return ContainerStatus::Exited(ExitRecord {
                    exit_code: exit.exit_code,
                    signal: None,
                    reason: if exit.exit_code == 0 {
                        "Completed"
                    } else {
                        "Error"
                    }
                    .to_string(),
                    message: None,
                    started_at: Some(self.started_at),
                    finished_at: ends,
                });
            }
        }
        ContainerStatus::Running {
            pid: 0,
            started_at: self.started_at,
        }
    }

    /// How long until it ends by itself, if it does.
    fn remaining(&self, now: DateTime<Utc>) -> Option<Duration> {
        let exit = self.exit?;
        let ends = self.started_at + chrono::Duration::from_std(exit.after).unwrap_or_default();
        Some((ends - now).to_std().unwrap_or(Duration::ZERO))
    }
}

/// Fake containers by id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FakeRuntime {
    containers: Arc<Mutex<HashMap<ContainerId, FakeContainer>>>,
    changed: Arc<Notify>,
}

impl FakeRuntime {
    pub fn new() -> FakeRuntime {
        FakeRuntime::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ContainerId, FakeContainer>> {
        // Entries are replaced whole, so a panic elsewhere cannot leave one torn.
        self.containers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn start(
        &self,
        spec: ContainerSpec,
        exit: Option<FakeExit>,
    ) -> Result<ContainerId, RuntimeError> {
        let id = spec.id();
        let mut map = self.lock();
        if map.contains_key(&id) {
            return Err(RuntimeError::AlreadyExists(id));
        }
        map.insert(
            id.clone(),
            FakeContainer {
                spec,
                started_at: Utc::now(),
                exit,
                stopped: None,
            },
        );
        Ok(id)
    }

    pub fn status(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        self.lock()
            .get(id)
            .map(|c| c.status(Utc::now()))
            .ok_or_else(|| RuntimeError::NotFound(id.clone()))
    }

    /// Waits until the container has ended (by itself or stopped).
    pub async fn wait(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        loop {
            let notified = self.changed.notified();
            let remaining = {
                let map = self.lock();
                let c = map
                    .get(id)
                    .ok_or_else(|| RuntimeError::NotFound(id.clone()))?;
                let now = Utc::now();
                let status = c.status(now);
                if !status.is_running() {
                    return Ok(status);
                }
                c.remaining(now)
            };
            match remaining {
                Some(d) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep(d) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// A fake process "handles" SIGTERM at once: exit code 143.
    pub fn stop(&self, id: &ContainerId) -> Result<ContainerStatus, RuntimeError> {
        let status = {
            let mut map = self.lock();
            let c = map
                .get_mut(id)
                .ok_or_else(|| RuntimeError::NotFound(id.clone()))?;
            let now = Utc::now();
            if let ContainerStatus::Running { started_at, .. } = c.status(now) {
                c.stopped = Some(ExitRecord {
                    exit_code: 143,
                    signal: Some(15),
                    reason: "Error".to_string(),
                    message: None,
                    started_at: Some(started_at),
                    finished_at: now,
                });
            }
            c.status(now)
        };
        self.changed.notify_waiters();
        Ok(status)
    }

    pub fn list(&self) -> Vec<ContainerInfo> {
        let now = Utc::now();
        let mut out: Vec<ContainerInfo> = self
            .lock()
            .iter()
            .map(|(id, c)| ContainerInfo {
                id: id.clone(),
                spec: c.spec.clone(),
                status: c.status(now),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    pub fn remove_pod(&self, pod_uid: &str) {
        self.lock().retain(|id, _| id.pod_uid != pod_uid);
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(instance: u32) -> ContainerSpec {
        ContainerSpec {
            pod_uid: "u".into(),
            pod_namespace: "default".into(),
            pod_name: "p".into(),
            container_name: "c".into(),
            instance,
            argv: vec!["x".into()],
            env: vec![],
            working_dir: None,
            pod_ip: "127.0.0.2".parse().unwrap(),
            isolation: None,
        }
    }

    #[tokio::test]
    async fn runs_until_stopped_or_its_planned_exit() {
        let rt = FakeRuntime::new();
        let forever = rt.start(spec(0), None).unwrap();
        assert!(rt.status(&forever).unwrap().is_running());
        assert!(matches!(
            rt.start(spec(0), None),
            Err(RuntimeError::AlreadyExists(_))
        ));
        let waiter = {
            let rt = rt.clone();
            let id = forever.clone();
            tokio::spawn(async move { rt.wait(&id).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        rt.stop(&forever).unwrap();
        let ContainerStatus::Exited(exit) = waiter.await.unwrap().unwrap() else {
            panic!("not exited")
        };
        assert_eq!((exit.exit_code, exit.signal), (143, Some(15)));

        let job = rt
            .start(
                spec(1),
                Some(FakeExit {
                    exit_code: 0,
                    after: Duration::from_millis(50),
                }),
            )
            .unwrap();
        let ContainerStatus::Exited(exit) = rt.wait(&job).await.unwrap() else {
            panic!("not exited")
        };
        assert_eq!((exit.exit_code, exit.reason.as_str()), (0, "Completed"));
        assert_eq!(rt.list().len(), 2);
        rt.remove_pod("u");
        assert!(rt.list().is_empty());
    }
}
