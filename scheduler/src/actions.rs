//! What the scheduler writes to the API: bindings, and the PodScheduled=False condition of a pod that fits nowhere.

use skiff_api::error::ApiError;
use skiff_api::meta::{find_condition, set_condition, Condition, ObjectReference, Time};
use skiff_api::types::Pod;
use skiff_client::Client;

use crate::algorithm::info::needs_scheduling;

pub const POD_SCHEDULED: &str = "PodScheduled";
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";

/// The condition a pod that fits nowhere carries.
pub fn unschedulable_condition(message: &str) -> Condition {
    Condition {
        type_: POD_SCHEDULED.to_string(),
        status: "False".to_string(),
        reason: REASON_UNSCHEDULABLE.to_string(),
        message: message.to_string(),
        last_transition_time: Some(Time::now()),
        ..Condition::default()
    }
}

/// True when the pod already says it is unschedulable for exactly this reason.
pub fn says_unschedulable(pod: &Pod, message: &str) -> bool {
    find_condition(&pod.status.conditions, POD_SCHEDULED).is_some_and(|c| {
        c.status == "False" && c.reason == REASON_UNSCHEDULABLE && c.message == message
    })
}

/// Writes PodScheduled=False/Unschedulable with `message` through the status subresource,
/// unless the pod already says so or no longer waits (bound, deleted, replaced). A write
/// that lost a race with another writer is redone on the fresh pod.
pub async fn mark_unschedulable(client: &Client, pod: &Pod, message: &str) -> Result<(), ApiError> {
    let (namespace, name) = (pod.metadata.namespace.as_str(), pod.metadata.name.as_str());
    let mut current = pod.clone();
    for _ in 0..5 {
        if !needs_scheduling(&current) || current.metadata.uid != pod.metadata.uid {
            return Ok(());
        }
        if !set_condition(
            &mut current.status.conditions,
            unschedulable_condition(message),
        ) {
            return Ok(());
        }
        match client.update_status(&current).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if e.is_conflict() => match client.get_opt::<Pod>(namespace, name).await? {
                Some(fresh) => current = fresh,
                None => return Ok(()),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A decided binding and, once written, its result.
#[derive(Debug)]
pub struct Binding {
    pub pod: ObjectReference,
    pub key: String,
    pub node: String,
    /// The scores and filtered-out nodes behind the choice ([`crate::algorithm::Placement`]).
    pub explanation: String,
    pub first_seen: tokio::time::Instant,
}

impl Binding {
    /// Kubernetes' `Successfully assigned default/x to n1`, then the decision, so that
    /// `skiff trace` can show why: `(scores: n1=180 n2=150; filtered out: n3 (...))`.
    pub fn event_message(&self) -> String {
        let mut message = format!(
            "Successfully assigned {}/{} to {}",
            self.pod.namespace, self.pod.name, self.node
        );
        if !self.explanation.is_empty() {
            message.push_str(&format!(" ({})", self.explanation));
        }
        message
    }

    /// Writes the binding; only for the pod with this uid (not a new pod of the same name).
    pub async fn write(self, client: Client) -> (Binding, Result<(), ApiError>) {
        let result = client
            .bind_uid(
                &self.pod.namespace,
                &self.pod.name,
                &self.pod.uid,
                &self.node,
            )
            .await;
        (self, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unschedulable_condition_is_detected_by_message() {
        let mut pod = Pod::default();
        assert!(!says_unschedulable(&pod, "m"));
        pod.status.conditions.push(unschedulable_condition("m"));
        assert!(says_unschedulable(&pod, "m"));
        assert!(!says_unschedulable(&pod, "other"));
        // Setting the same condition again is no change (so nothing is written).
        assert!(!set_condition(
            &mut pod.status.conditions,
            unschedulable_condition("m")
        ));
    }
}
