//! The density run's ReplicationControllers: `density-<i>`, each selecting its own pods.

use skiff_api::meta::ObjectMeta;
use skiff_api::types::{
    Container, PodSpec, PodTemplateSpec, ReplicationController, ReplicationControllerSpec,
};

/// The label key every density pod carries (its value: the controller's index).
pub const LABEL: &str = "density";

pub fn controller_name(i: usize) -> String {
    format!("density-{i}")
}

pub fn controller(i: usize, replicas: usize) -> ReplicationController {
    let labels: std::collections::BTreeMap<String, String> =
        [(LABEL.to_string(), i.to_string())].into();
    let container = Container {
        name: "crane".into(),
        image: "heejeong/crane".into(),
        ..Container::default()
    };
    ReplicationController {
        metadata: ObjectMeta {
            name: controller_name(i),
            namespace: "default".into(),
            ..ObjectMeta::default()
        },
        spec: ReplicationControllerSpec {
            replicas: Some(i32::try_from(replicas).unwrap_or(i32::MAX)),
            selector: labels.clone(),
            template: PodTemplateSpec {
                metadata: ObjectMeta {
                    labels,
                    ..ObjectMeta::default()
                },
                spec: PodSpec {
                    containers: vec![container],
                    ..PodSpec::default()
                },
            },
            ..ReplicationControllerSpec::default()
        },
        ..ReplicationController::default()
    }
}
