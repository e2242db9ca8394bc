//! The definitions of every kind, generated from the model's types by schemars and rewritten
//! into the shape Kubernetes' OpenAPI documents have: names like `io.k8s.api.core.v1.Pod`,
//! no `null` alternatives, `x-kubernetes-group-version-kind` on the kinds and the
//! strategic-merge-patch extensions on merged lists.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::patch::{list_strategy, ListStrategy};
use crate::types::{
    CronJob, DaemonSet, Event, Job, Lease, Namespace, Node, Pod, ReplicaSet, ReplicationController,
    Scale,
};

/// Which flavour of document the schemas go into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// Swagger 2.0: `#/definitions/`, `$ref` may carry a description beside it.
    V2,
    /// OpenAPI 3.0: `#/components/schemas/`, a `$ref` with siblings is wrapped in `allOf`.
    V3,
}

impl Flavour {
    fn ref_prefix(self) -> &'static str {
        match self {
            Flavour::V2 => "#/definitions/",
            Flavour::V3 => "#/components/schemas/",
        }
    }
}

/// The model's definitions as schemars writes them, keyed by Rust type name.
pub fn raw_definitions() -> Map<String, Value> {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.meta_schema = None)
        .into_generator();
    fn add<T: JsonSchema>(generator: &mut schemars::SchemaGenerator) {
        generator.subschema_for::<T>();
    }
    add::<Namespace>(&mut generator);
    add::<Node>(&mut generator);
    add::<Pod>(&mut generator);
    add::<ReplicationController>(&mut generator);
    add::<Event>(&mut generator);
    add::<ReplicaSet>(&mut generator);
    add::<DaemonSet>(&mut generator);
    add::<Job>(&mut generator);
    add::<CronJob>(&mut generator);
    add::<Lease>(&mut generator);
    add::<Scale>(&mut generator);
    generator.take_definitions(true)
}

const META: &[&str] = &[
    "ObjectMeta",
    "ManagedFieldsEntry",
    "OwnerReference",
    "LabelSelector",
    "LabelSelectorRequirement",
    "Condition",
];
const APPS: &[&str] = &[
    "ReplicaSet",
    "ReplicaSetSpec",
    "DaemonSet",
    "DaemonSetSpec",
    "DaemonSetStatus",
    "DaemonSetUpdateStrategy",
    "RollingUpdateDaemonSet",
];
const BATCH: &[&str] = &[
    "Job",
    "JobSpec",
    "JobStatus",
    "CronJob",
    "CronJobSpec",
    "CronJobStatus",
    "JobTemplateSpec",
];

/// The group and version a Rust type belongs to (`("apps", "v1")`), and its Kubernetes name.
pub fn group_of(rust: &str) -> (&'static str, &'static str) {
    if META.contains(&rust) {
        ("meta", "v1")
    } else if APPS.contains(&rust) {
        ("apps", "v1")
    } else if BATCH.contains(&rust) {
        ("batch", "v1")
    } else if rust.starts_with("Lease") {
        ("coordination.k8s.io", "v1")
    } else if rust.starts_with("Scale") {
        ("autoscaling", "v1")
    } else {
        ("", "v1")
    }
}

/// `io.k8s.api.core.v1.Pod`; `version` replaces the type's own version for the types of
/// `group` (the `apps/v1beta2` document names its ReplicaSet `io.k8s.api.apps.v1beta2.ReplicaSet`).
pub fn k8s_name(rust: &str, served: Option<(&str, &str)>) -> String {
    let (group, mut version) = group_of(rust);
    if let Some((g, v)) = served {
        if g == group {
            version = v;
        }
    }
    let kube = match rust {
        "HttpGetAction" => "HTTPGetAction",
        "HttpHeader" => "HTTPHeader",
        "TcpSocketAction" => "TCPSocketAction",
        other => other,
    };
    let package = match group {
        "meta" => "io.k8s.apimachinery.pkg.apis.meta".to_string(),
        "" => "io.k8s.api.core".to_string(),
        "coordination.k8s.io" => "io.k8s.api.coordination".to_string(),
        g => format!("io.k8s.api.{g}"),
    };
    format!("{package}.{version}.{kube}")
}

/// The definitions renamed and rewritten for `flavour`. `served` is the group and version of
/// the document (its kinds carry that version in their names and GVK).
pub fn definitions(
    raw: &Map<String, Value>,
    flavour: Flavour,
    served: Option<(&str, &str)>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (rust, schema) in raw {
        let mut schema = schema.clone();
        rewrite(&mut schema, flavour, served);
        add_patch_extensions(rust, &mut schema);
        if let Some(kind) = top_level_kind(rust) {
            let (group, mut version) = group_of(rust);
            if let Some((g, v)) = served {
                if g == group {
                    version = v;
                }
            }
            if let Value::Object(map) = &mut schema {
                map.insert(
                    "x-kubernetes-group-version-kind".into(),
                    json!([{"group": group, "kind": kind, "version": version}]),
                );
            }
        }
        out.insert(k8s_name(rust, served), schema);
    }
    out
}

/// The kinds whose definitions carry a group-version-kind.
fn top_level_kind(rust: &str) -> Option<&str> {
    let kinds = [
        "Namespace",
        "Node",
        "Pod",
        "ReplicationController",
        "Event",
        "ReplicaSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Lease",
        "Scale",
    ];
    kinds.contains(&rust).then_some(rust)
}

/// The holder of a merged list, as [`list_strategy`] knows it: the field name a type sits
/// under (a PodSpec under `spec`, a Container under `containers`).
fn parent_field(rust: &str) -> Option<&'static str> {
    match rust {
        "PodSpec" | "NodeSpec" => Some("spec"),
        "Container" => Some("containers"),
        "ObjectMeta" => Some("metadata"),
        r if r.ends_with("Status") => Some("status"),
        _ => None,
    }
}

/// `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` on the lists a strategic
/// merge patch merges, which kubectl reads to compute `apply` patches.
fn add_patch_extensions(rust: &str, schema: &mut Value) {
    let Some(parent) = parent_field(rust) else {
        return;
    };
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    for (field, property) in properties.iter_mut() {
        let Value::Object(property) = property else {
            continue;
        };
        match list_strategy("", &[parent, field.as_str()]) {
            ListStrategy::MergeByKey(key) => {
                property.insert("x-kubernetes-patch-strategy".into(), json!("merge"));
                property.insert("x-kubernetes-patch-merge-key".into(), json!(key));
            }
            ListStrategy::MergeScalars => {
                property.insert("x-kubernetes-patch-strategy".into(), json!("merge"));
            }
            ListStrategy::Replace => {}
        }
    }
}

/// Lines joined into paragraphs; blank lines kept as paragraph breaks.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Rewrites one schema in place: references renamed, `null` alternatives dropped, and what
/// Swagger 2.0 does not allow removed.
fn rewrite(schema: &mut Value, flavour: Flavour, served: Option<(&str, &str)>) {
    let Value::Object(map) = schema else {
        return;
    };
    for key in ["$schema", "default", "title", "examples"] {
        map.remove(key);
    }
    // Doc comments are wrapped at 100 columns; descriptions are paragraphs, as kubectl
    // explain wraps them itself.
    if let Some(Value::String(description)) = map.get_mut("description") {
        *description = paragraphs(description);
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        map.remove("additionalProperties");
    }
    // `Option<T>`: anyOf [T, null] -> T, keeping this schema's description.
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get(combinator) {
            let real: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type") != Some(&json!("null")))
                .collect();
            if real.len() == 1 {
                if let Value::Object(inner) = real[0].clone() {
                    map.remove(combinator);
                    for (k, v) in inner {
                        map.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
    if let Some(Value::Array(types)) = map.get("type") {
        let real: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if real.len() == 1 {
            map.insert("type".into(), real[0].clone());
        }
    }
    if let Some(value) = map.remove("const") {
        map.insert("enum".into(), json!([value]));
    }
    if let Some(target) = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        let renamed = format!("{}{}", flavour.ref_prefix(), k8s_name(target, served));
        map.insert("$ref".into(), Value::String(renamed));
        if flavour == Flavour::V3 && map.len() > 1 {
            if let Some(r) = map.remove("$ref") {
                map.insert("allOf".into(), json!([{"$ref": r}]));
            }
        }
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for property in properties.values_mut() {
            rewrite(property, flavour, served);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get_mut(key) {
            rewrite(inner, flavour, served);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            for inner in list {
                rewrite(inner, flavour, served);
            }
        }
    }
}
