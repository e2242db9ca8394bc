//! The events a pod worker records, with the kubelet's reasons and wording. Container events
//! point at the container (`fieldPath: spec.containers{kubia}`).

use skiff_api::meta::ObjectReference;
use skiff_api::types::{object_reference, Pod};
use skiff_runtime::events::EventRecorder;

use crate::probe::ProbeKind;

/// `name_namespace(uid)`: how the kubelet names a pod in messages.
pub fn pod_description(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name, pod.metadata.namespace, pod.metadata.uid
    )
}

/// Records the events of one pod.
#[derive(Clone)]
pub struct PodEvents {
    recorder: EventRecorder,
    pod: ObjectReference,
    description: String,
}

impl PodEvents {
    pub fn new(recorder: EventRecorder, pod: &Pod) -> PodEvents {
        PodEvents {
            recorder,
            pod: object_reference(pod),
            description: pod_description(pod),
        }
    }

    fn container(&self, name: &str) -> ObjectReference {
        ObjectReference {
            field_path: format!("spec.containers{{{name}}}"),
            ..self.pod.clone()
        }
    }

    pub fn pulled(&self, container: &str, image: &str) {
        self.recorder.normal(
            &self.container(container),
            "Pulled",
            format!("Container image \"{image}\" already present on machine"),
        );
    }

    pub fn created(&self, container: &str) {
        self.recorder.normal(
            &self.container(container),
            "Created",
            format!("Created container {container}"),
        );
    }

    pub fn started(&self, container: &str) {
        self.recorder.normal(
            &self.container(container),
            "Started",
            format!("Started container {container}"),
        );
    }

    pub fn killing(&self, container: &str, message: String) {
        self.recorder
            .normal(&self.container(container), "Killing", message);
    }

    pub fn unhealthy(&self, container: &str, kind: ProbeKind, output: &str) {
        self.recorder.warning(
            &self.container(container),
            "Unhealthy",
            format!("{} probe failed: {output}", kind.as_str()),
        );
    }

    pub fn back_off(&self, container: &str) {
        self.recorder.warning(
            &self.container(container),
            "BackOff",
            format!(
                "Back-off restarting failed container {container} in pod {}",
                self.description
            ),
        );
    }

    pub fn failed(&self, container: &str, message: String) {
        self.recorder
            .warning(&self.container(container), "Failed", message);
    }

    pub fn pull_back_off(&self, container: &str, image: &str) {
        self.recorder.normal(
            &self.container(container),
            "BackOff",
            format!("Back-off pulling image \"{image}\""),
        );
    }

    /// A pod-level warning (`DeadlineExceeded`, `FailedCreatePodSandBox`).
    pub fn pod_warning(&self, reason: &str, message: String) {
        self.recorder.warning(&self.pod, reason, message);
    }

    /// `name_namespace(uid)`.
    pub fn description(&self) -> &str {
        &self.description
    }
}
