//! Creating and deleting a controller's pods (Kubernetes' `PodControl`): slow-start batches, events, metrics, and the matching expectation bookkeeping.

use std::sync::Arc;

use futures::future::join_all;
use skiff_api::error::ApiError;
use skiff_api::meta::ObjectReference;
use skiff_api::types::Pod;
use skiff_client::{Client, DeleteOptions};
use skiff_runtime::events::EventRecorder;

use crate::error::may_have_been_applied;
use crate::expectations::Expectations;
use crate::metrics::Metrics;

/// The pod writes of one controller.
#[derive(Clone)]
pub struct PodControl {
    pub client: Client,
    pub recorder: EventRecorder,
    pub expectations: Arc<Expectations>,
    pub metrics: Arc<Metrics>,
    pub controller: &'static str,
}

impl PodControl {
    /// Creates `pods` for the owner `key` (whose expectations must already count them) in
    /// batches of 1, 2, 4, ... (Kubernetes' slow start): a systematic failure such as a quota or
    /// a bad template costs one request, not hundreds. After a failed batch the rest are not
    /// sent and no longer expected. Returns the names created, or the first error.
    pub async fn create(
        &self,
        key: &str,
        owner: &ObjectReference,
        pods: Vec<Pod>,
    ) -> Result<Vec<String>, ApiError> {
        let total = pods.len();
        let mut pending = pods.into_iter();
        let mut sent = 0;
        let mut batch = 1;
        let mut created = Vec::new();
        while sent < total {
            let size = batch.min(total - sent);
            let chunk: Vec<Pod> = pending.by_ref().take(size).collect();
            sent += size;
            let results = join_all(chunk.iter().map(|p| self.client.create(p))).await;
            let mut first_error = None;
            for result in results {
                match result {
                    Ok(pod) => {
                        self.recorder.normal(
                            owner,
                            "SuccessfulCreate",
                            format!("Created pod: {}", pod.metadata.name),
                        );
                        created.push(pod.metadata.name);
                    }
                    Err(error) => {
                        // An ambiguous failure may still produce a pod, which the informer
                        // will report; anything else will never be observed.
                        if !may_have_been_applied(&error) {
                            self.expectations.creation_observed(key);
                        }
                        self.recorder.warning(
                            owner,
                            "FailedCreate",
                            format!("Error creating: {error}"),
                        );
                        first_error.get_or_insert(error);
                    }
                }
            }
            self.metrics.created(self.controller, "pods", created.len());
            if let Some(error) = first_error {
                self.expectations.creations_skipped(key, total - sent);
                return Err(error);
            }
            batch = size * 2;
        }
        Ok(created)
    }

    /// Deletes `pods` (whose uids the owner's expectations must already hold), each guarded by
    /// its uid so that a new pod under the same name is never hit.
    pub async fn delete(
        &self,
        key: &str,
        owner: &ObjectReference,
        pods: &[Arc<Pod>],
    ) -> Result<(), ApiError> {
        let results = join_all(pods.iter().map(|p| {
            let options = DeleteOptions {
                precondition_uid: Some(p.metadata.uid.clone()),
                ..DeleteOptions::default()
            };
            let (namespace, name) = (p.metadata.namespace.clone(), p.metadata.name.clone());
            async move { self.client.delete::<Pod>(&namespace, &name, &options).await }
        }))
        .await;
        let mut first_error = None;
        let mut deleted = 0;
        for (pod, result) in pods.iter().zip(results) {
            match result {
                Ok(_) => {
                    deleted += 1;
                    self.recorder.normal(
                        owner,
                        "SuccessfulDelete",
                        format!("Deleted pod: {}", pod.metadata.name),
                    );
                }
                // Gone already, or replaced by another pod of the same name: nothing to wait for.
                Err(e) if e.is_not_found() || e.is_conflict() => {
                    self.expectations.deletion_observed(key, &pod.metadata.uid);
                }
                Err(error) => {
                    if !may_have_been_applied(&error) {
                        self.expectations.deletion_observed(key, &pod.metadata.uid);
                    }
                    self.recorder.warning(
                        owner,
                        "FailedDelete",
                        format!("Error deleting: {error}"),
                    );
                    first_error.get_or_insert(error);
                }
            }
        }
        self.metrics.deleted(self.controller, "pods", deleted);
        first_error.map_or(Ok(()), Err)
    }
}
