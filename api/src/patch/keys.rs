//! How a strategic merge patch treats each list: Kubernetes' `patchStrategy` and
//! `patchMergeKey` struct tags for the kinds skiff serves (k8s.io/api's types.go).

/// What a strategic merge patch does with a list field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStrategy {
    /// No strategy: the patch's list replaces the original (tolerations, args, command,
    /// containerStatuses...).
    Replace,
    /// A list of objects merged element by element, matched by this key.
    MergeByKey(&'static str),
    /// A list of scalars merged as a set (metadata.finalizers).
    MergeScalars,
}

/// Lists identified by their field name and that of the object holding them: `("*", field)`
/// matches under any parent. The first match wins.
const STRATEGIES: &[(&str, &str, ListStrategy)] = &[
    // PodSpec
    ("spec", "containers", ListStrategy::MergeByKey("name")),
    ("spec", "initContainers", ListStrategy::MergeByKey("name")),
    (
        "spec",
        "ephemeralContainers",
        ListStrategy::MergeByKey("name"),
    ),
    ("spec", "volumes", ListStrategy::MergeByKey("name")),
    ("spec", "imagePullSecrets", ListStrategy::MergeByKey("name")),
    ("spec", "hostAliases", ListStrategy::MergeByKey("ip")),
    (
        "spec",
        "topologySpreadConstraints",
        ListStrategy::MergeByKey("topologyKey"),
    ),
    ("spec", "resourceClaims", ListStrategy::MergeByKey("name")),
    // Container
    (
        "containers",
        "ports",
        ListStrategy::MergeByKey("containerPort"),
    ),
    (
        "initContainers",
        "ports",
        ListStrategy::MergeByKey("containerPort"),
    ),
    ("containers", "env", ListStrategy::MergeByKey("name")),
    ("initContainers", "env", ListStrategy::MergeByKey("name")),
    (
        "containers",
        "volumeMounts",
        ListStrategy::MergeByKey("mountPath"),
    ),
    (
        "initContainers",
        "volumeMounts",
        ListStrategy::MergeByKey("mountPath"),
    ),
    (
        "containers",
        "volumeDevices",
        ListStrategy::MergeByKey("devicePath"),
    ),
    (
        "initContainers",
        "volumeDevices",
        ListStrategy::MergeByKey("devicePath"),
    ),
    (
        "containers",
        "resizePolicy",
        ListStrategy::MergeByKey("resourceName"),
    ),
    // Node
    ("status", "addresses", ListStrategy::MergeByKey("type")),
    ("spec", "podCIDRs", ListStrategy::MergeScalars),
    // Every status' conditions (Pod, Node, ReplicaSet, ReplicationController, Job...)
    ("status", "conditions", ListStrategy::MergeByKey("type")),
    // ObjectMeta
    (
        "metadata",
        "ownerReferences",
        ListStrategy::MergeByKey("uid"),
    ),
    ("metadata", "finalizers", ListStrategy::MergeScalars),
    // Pod status: one entry per IP.
    ("status", "podIPs", ListStrategy::MergeByKey("ip")),
    ("status", "hostIPs", ListStrategy::MergeByKey("ip")),
];

/// The strategy for the list at `path` (object field names from the root, list elements not
/// counted: `spec.template.spec.containers.ports` is `["spec", "template", "spec",
/// "containers", "ports"]`). `kind` is the top-level kind; the tags are the same wherever a
/// type is embedded (a PodSpec in a pod template), so only the path's last two names matter.
pub fn list_strategy(kind: &str, path: &[&str]) -> ListStrategy {
    let _ = kind;
    let Some((field, parents)) = path.split_last() else {
        return ListStrategy::Replace;
    };
    let parent = parents.last().copied().unwrap_or_default();
    // A Node's podCIDRs and addresses must not catch a pod's fields of the same name: both
    // are only under a Node's spec/status, where no pod field shares their names.
    STRATEGIES
        .iter()
        .find(|(p, f, _)| f == field && (*p == "*" || *p == parent))
        .map(|(_, _, s)| *s)
        .unwrap_or(ListStrategy::Replace)
}

/// Maps whose fields are replaced together (`patchStrategy:"retainKeys"`) need nothing
/// here: the `$retainKeys` directive a client sends carries the list itself.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_get_kubernetes_merge_keys() {
        let pod = |p: &str| list_strategy("Pod", &p.split('.').collect::<Vec<_>>());
        assert_eq!(pod("spec.containers"), ListStrategy::MergeByKey("name"));
        assert_eq!(
            pod("spec.containers.ports"),
            ListStrategy::MergeByKey("containerPort")
        );
        assert_eq!(pod("spec.containers.env"), ListStrategy::MergeByKey("name"));
        assert_eq!(
            pod("spec.containers.volumeMounts"),
            ListStrategy::MergeByKey("mountPath")
        );
        assert_eq!(pod("spec.containers.args"), ListStrategy::Replace);
        assert_eq!(pod("spec.tolerations"), ListStrategy::Replace);
        assert_eq!(pod("status.containerStatuses"), ListStrategy::Replace);
        assert_eq!(pod("status.conditions"), ListStrategy::MergeByKey("type"));
        assert_eq!(pod("metadata.finalizers"), ListStrategy::MergeScalars);
        assert_eq!(
            pod("metadata.ownerReferences"),
            ListStrategy::MergeByKey("uid")
        );
        let rc =
            |p: &str| list_strategy("ReplicationController", &p.split('.').collect::<Vec<_>>());
        assert_eq!(
            rc("spec.template.spec.containers"),
            ListStrategy::MergeByKey("name")
        );
        assert_eq!(
            rc("spec.template.spec.containers.ports"),
            ListStrategy::MergeByKey("containerPort")
        );
        assert_eq!(
            rc("spec.template.metadata.finalizers"),
            ListStrategy::MergeScalars
        );
        assert_eq!(list_strategy("Pod", &[]), ListStrategy::Replace);
    }
}
