//! Pod workers: one task per pod bound to this node drives its containers to the desired
//! state, level-triggered (on every change of the pod, container exit, probe result, and a
//! periodic resync), and reports the pod's status.
//!
//! Pure decisions are separate from the shell that carries them out:
//! - [`decide`]: the next step for one container (start, stop, restart, wait).
//! - [`status`]: pod phase, conditions and container states by the kubelet's rules.
//! - [`backoff`]: CrashLoopBackOff timing; [`spec`] and [`probes`]: from the pod spec to
//!   what the runtime and the prober take.
//! - [`container`]: what a worker tracks per container, and its API status.
//!
//! The shell: [`worker`] (the per-pod task), [`actions`] (starting, stopping, restarting),
//! [`writer`] (status writes), [`events`], and [`manager`] (workers per pod, start-up
//! recovery, clean-up of pods that no longer exist).

pub mod actions;
pub mod backoff;
pub mod container;
pub mod decide;
pub mod events;
pub mod manager;
pub mod probes;
pub mod spec;
pub mod status;
pub mod worker;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use skiff_api::types::Pod;
use skiff_client::Client;
use skiff_runtime::events::EventRecorder;

use crate::backend::Backend;
use crate::images::ImageCatalog;
use crate::ipam::Ipam;
use crate::metrics::NodeMetrics;

/// The annotation that makes a pod's containers on a hollow node exit with this code.
pub const FAKE_EXIT_CODE_ANNOTATION: &str = "skiff.io/fake-exit-code";
/// How long such a container "runs" first, in seconds (fractions allowed; default 0).
pub const FAKE_RUN_SECONDS_ANNOTATION: &str = "skiff.io/fake-run-seconds";

/// What every pod worker shares.
pub struct NodeContext {
    pub node_name: String,
    /// The node's address: pods' `status.hostIP`.
    pub host_ip: String,
    pub client: Client,
    pub recorder: EventRecorder,
    pub backend: Backend,
    pub catalog: ImageCatalog,
    pub ipam: Ipam,
    /// Pod sandboxes, when pods get namespaces (`--sandbox`).
    pub sandboxes: Option<crate::sandbox::Sandboxes>,
    /// The first CrashLoopBackOff delay.
    pub backoff_base: Duration,
    /// How often a worker looks at its pod with nothing else happening.
    pub resync: Duration,
    pub metrics: Arc<NodeMetrics>,
}

impl NodeContext {
    /// A fresh back-off for one container.
    pub fn backoff(&self) -> backoff::Backoff {
        backoff::Backoff::new(self.backoff_base, backoff::MAX_BACKOFF)
    }
}

/// What the informer says about a pod a worker runs.
#[derive(Debug, Clone)]
pub enum PodUpdate {
    /// The pod's latest state.
    Present(Arc<Pod>),
    /// The pod is gone from the API (deleted, force-deleted, or never confirmed); the last
    /// state known.
    Gone(Arc<Pod>),
}
