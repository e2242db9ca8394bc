//! Writing a pod's status through the status subresource: only when it changed, retried on
//! conflicts, and aware that the informer's copy may lag behind the agent's own last write.

use skiff_api::error::ApiError;
use skiff_api::types::{Pod, PodStatus};
use skiff_client::Client;

use crate::metrics::NodeMetrics;

/// Attempts of one write when other writers keep changing the pod.
const ATTEMPTS: usize = 5;

/// How a write ended.
#[derive(Debug)]
pub enum WriteOutcome {
    /// Stored (or nothing needed storing).
    Done,
    /// The pod no longer exists (or is another pod under the same name now).
    Gone,
    /// Try again later.
    Failed(ApiError),
}

fn revision(rv: &str) -> u64 {
    rv.parse().unwrap_or(0)
}

/// The last status this worker stored, and at which resourceVersion.
#[derive(Debug, Default)]
pub struct StatusWriter {
    last: Option<PodStatus>,
    written_rv: u64,
}

impl StatusWriter {
    /// The status the next one is computed from: the agent's own last write while the cache
    /// has not caught up with it, else the cached one (which may carry others' changes).
    pub fn base<'a>(&'a self, cached: &'a Pod) -> &'a PodStatus {
        match &self.last {
            Some(last) if revision(&cached.metadata.resource_version) < self.written_rv => last,
            _ => &cached.status,
        }
    }

    /// Whether `status` differs from what is (or is about to be) stored.
    pub fn needs_write(&self, cached: &Pod, status: &PodStatus) -> bool {
        self.base(cached) != status
    }

    /// Stores `status` on the pod; on a conflict reads the pod again and retries.
    pub async fn write(
        &mut self,
        client: &Client,
        metrics: &NodeMetrics,
        cached: &Pod,
        status: PodStatus,
    ) -> WriteOutcome {
        if !self.needs_write(cached, &status) {
            return WriteOutcome::Done;
        }
        let mut pod = cached.clone();
        pod.status = status.clone();
        for _ in 0..ATTEMPTS {
            match client.update_status(&pod).await {
                Ok(stored) => {
                    metrics.status_written();
                    self.written_rv = revision(&stored.metadata.resource_version);
                    self.last = Some(status);
                    return WriteOutcome::Done;
                }
                Err(e) if e.is_not_found() => return WriteOutcome::Gone,
                Err(e) if e.is_conflict() => {
                    metrics.status_conflict();
                    match client
                        .get_opt::<Pod>(&pod.metadata.namespace, &pod.metadata.name)
                        .await
                    {
                        Ok(Some(fresh)) if fresh.metadata.uid == cached.metadata.uid => {
                            pod = fresh;
                            pod.status = status.clone();
                        }
                        Ok(_) => return WriteOutcome::Gone,
                        Err(e) => return WriteOutcome::Failed(e),
                    }
                }
                Err(e) => return WriteOutcome::Failed(e),
            }
        }
        WriteOutcome::Failed(ApiError::conflict_modified("pods", &pod.metadata.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(rv: &str, phase: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.resource_version = rv.to_string();
        p.status.phase = phase.to_string();
        p
    }

    #[test]
    fn a_lagging_cache_does_not_cause_rewrites() {
        let mut w = StatusWriter::default();
        let running = PodStatus {
            phase: "Running".into(),
            ..Default::default()
        };
        assert!(w.needs_write(&pod("10", "Pending"), &running));
        // As if the write of `running` was stored at revision 11.
        w.last = Some(running.clone());
        w.written_rv = 11;
        // The cache still shows revision 10: the agent's own write counts.
        assert!(!w.needs_write(&pod("10", "Pending"), &running));
        assert_eq!(w.base(&pod("10", "Pending")).phase, "Running");
        // The cache caught up.
        assert!(!w.needs_write(&pod("11", "Running"), &running));
        // Someone else changed the status later: the cache is newer and wins.
        assert!(w.needs_write(&pod("12", "Failed"), &running));
        assert_eq!(w.base(&pod("12", "Failed")).phase, "Failed");
    }
}
