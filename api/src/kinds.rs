//! The registry of kinds skiff serves: names, API group, accepted apiVersions, scope and subresources.
//!
//! Every lookup by user input lives here, so that an unknown kind, resource name or apiVersion
//! always gets the same clear answer: what is known, and the nearest match.

use crate::decode::did_you_mean;
use crate::error::ApiError;

/// Everything the API machinery needs to know about one kind.
#[derive(Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// `ReplicaSet`
    pub kind: &'static str,
    /// `replicasets`: the resource name in storage keys and API paths.
    pub plural: &'static str,
    /// `replicaset`
    pub singular: &'static str,
    /// `rs`
    pub short_names: &'static [&'static str],
    /// `apps`; empty for the core group.
    pub group: &'static str,
    /// Every apiVersion accepted for this kind. The first is the storage version: objects sent
    /// in an older version (`apps/v1beta2`) are stored and served as the first.
    pub versions: &'static [&'static str],
    pub namespaced: bool,
    /// Has a `status` subresource: spec and status are written by separate requests.
    pub has_status: bool,
    /// Has a `scale` subresource (`skiff scale`); for a Job it scales `parallelism`.
    pub has_scale: bool,
}

impl KindInfo {
    /// The apiVersion objects of this kind are stored and served in.
    pub fn storage_version(&self) -> &'static str {
        self.versions[0]
    }

    /// The resource qualified by its group, as Kubernetes names it in messages
    /// (`pods`, `replicasets.apps`, `jobs.batch`).
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn accepts_version(&self, api_version: &str) -> bool {
        self.versions.contains(&api_version)
    }

    /// Every name the CLI accepts for this kind: plural, singular, short names.
    pub fn cli_names(&self) -> impl Iterator<Item = &'static str> {
        [self.plural, self.singular]
            .into_iter()
            .chain(self.short_names.iter().copied())
    }
}

/// The kinds skiff serves.
pub static KINDS: [KindInfo; 10] = [
    KindInfo {
        kind: "Namespace",
        plural: "namespaces",
        singular: "namespace",
        short_names: &["ns"],
        group: "",
        versions: &["v1"],
        namespaced: false,
        has_status: true,
        has_scale: false,
    },
    KindInfo {
        kind: "Node",
        plural: "nodes",
        singular: "node",
        short_names: &["no"],
        group: "",
        versions: &["v1"],
        namespaced: false,
        has_status: true,
        has_scale: false,
    },
    KindInfo {
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        short_names: &["po"],
        group: "",
        versions: &["v1"],
        namespaced: true,
        has_status: true,
        has_scale: false,
    },
    KindInfo {
        kind: "ReplicationController",
        plural: "replicationcontrollers",
        singular: "replicationcontroller",
        short_names: &["rc"],
        group: "",
        versions: &["v1"],
        namespaced: true,
        has_status: true,
        has_scale: true,
    },
    KindInfo {
        kind: "Event",
        plural: "events",
        singular: "event",
        short_names: &["ev"],
        group: "",
        versions: &["v1"],
        namespaced: true,
        has_status: false,
        has_scale: false,
    },
    KindInfo {
        kind: "ReplicaSet",
        plural: "replicasets",
        singular: "replicaset",
        short_names: &["rs"],
        group: "apps",
        versions: &["apps/v1", "apps/v1beta2"],
        namespaced: true,
        has_status: true,
        has_scale: true,
    },
    KindInfo {
        kind: "DaemonSet",
        plural: "daemonsets",
        singular: "daemonset",
        short_names: &["ds"],
        group: "apps",
        versions: &["apps/v1", "apps/v1beta2"],
        namespaced: true,
        has_status: true,
        has_scale: false,
    },
    KindInfo {
        kind: "Job",
        plural: "jobs",
        singular: "job",
        short_names: &[],
        group: "batch",
        versions: &["batch/v1"],
        namespaced: true,
        has_status: true,
        has_scale: true,
    },
    KindInfo {
        kind: "CronJob",
        plural: "cronjobs",
        singular: "cronjob",
        short_names: &["cj"],
        group: "batch",
        versions: &["batch/v1", "batch/v1beta1"],
        namespaced: true,
        has_status: true,
        has_scale: false,
    },
    KindInfo {
        kind: "Lease",
        plural: "leases",
        singular: "lease",
        short_names: &[],
        group: "coordination.k8s.io",
        versions: &["coordination.k8s.io/v1"],
        namespaced: true,
        has_status: false,
        has_scale: false,
    },
];

/// The kind with exactly this name (`Pod`).
pub fn by_kind(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// The kind stored under this plural resource name (`pods`).
pub fn by_plural(plural: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.plural == plural)
}

/// Every apiVersion skiff accepts, each once, in registry order.
pub fn api_versions() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for v in KINDS.iter().flat_map(|k| k.versions.iter().copied()) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The kinds accepted in one apiVersion.
pub fn kinds_in(api_version: &str) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.accepts_version(api_version))
        .map(|k| k.kind)
        .collect()
}

/// Resolves a resource name typed on the command line: plural, singular or short name, any
/// case, optionally qualified by group (`pods`, `pod`, `po`, `Pod`, `replicasets.apps`).
pub fn lookup_cli(name: &str) -> Result<&'static KindInfo, ApiError> {
    let lower = name.to_ascii_lowercase();
    let (bare, group) = match lower.split_once('.') {
        Some((bare, group)) => (bare.to_string(), Some(group.to_string())),
        None => (lower.clone(), None),
    };
    let found = KINDS.iter().find(|k| {
        group.as_deref().is_none_or(|g| g == k.group) && k.cli_names().any(|n| n == bare)
    });
    if let Some(info) = found {
        return Ok(info);
    }
    let candidates: Vec<&str> = KINDS.iter().flat_map(KindInfo::cli_names).collect();
    let mut message = format!("the server doesn't have a resource type {name:?}");
    if let Some(near) = did_you_mean(&bare, candidates.iter().copied()) {
        message.push_str(&format!("; did you mean {near:?}?"));
    }
    let plurals: Vec<&str> = KINDS.iter().map(|k| k.plural).collect();
    message.push_str(&format!(" (known resource types: {})", plurals.join(", ")));
    Err(ApiError::new(crate::error::Reason::NotFound, message))
}

/// Resolves the `apiVersion` and `kind` of a manifest. Errors name the known kinds or
/// apiVersions and the nearest one.
pub fn lookup(api_version: &str, kind: &str) -> Result<&'static KindInfo, ApiError> {
    if let Some(info) = KINDS
        .iter()
        .find(|k| k.kind == kind && k.accepts_version(api_version))
    {
        return Ok(info);
    }
    Err(ApiError::bad_request(unknown_type_message(
        api_version,
        kind,
    )))
}

fn unknown_type_message(api_version: &str, kind: &str) -> String {
    let versions = api_versions();
    // The kind exists but is served under another apiVersion (`apiVersion: v1, kind: Job`).
    let same_kind =
        by_kind(kind).or_else(|| KINDS.iter().find(|k| k.kind.eq_ignore_ascii_case(kind)));
    if !versions.contains(&api_version) {
        let mut m = format!("no matches for kind {kind:?} in version {api_version:?}: apiVersion {api_version:?} is not known");
        match same_kind {
            Some(info) => {
                m.push_str(&format!("; {} is served as {}", info.kind, served_as(info)));
                if let Some(near) = did_you_mean(api_version, info.versions.iter().copied()) {
                    m.push_str(&format!("; did you mean {near:?}?"));
                }
            }
            None => {
                if let Some(near) = did_you_mean(api_version, versions.iter().copied()) {
                    m.push_str(&format!("; did you mean {near:?}?"));
                }
                m.push_str(&format!(" (known apiVersions: {})", versions.join(", ")));
            }
        }
        return m;
    }
    let mut m = format!("no kind {kind:?} is registered for version {api_version:?}");
    let here = kinds_in(api_version);
    if let Some(near) = here.iter().find(|k| k.eq_ignore_ascii_case(kind)) {
        // Kinds are case-sensitive: `pod` is not `Pod`.
        m.push_str(&format!("; did you mean {near:?}?"));
    } else if let Some(info) = same_kind {
        m.push_str(&format!("; {} is served as {}", info.kind, served_as(info)));
    } else if let Some(near) = did_you_mean(kind, here.iter().copied()) {
        m.push_str(&format!("; did you mean {near:?}?"));
    } else if let Some(near) = did_you_mean(kind, KINDS.iter().map(|k| k.kind)) {
        let info = by_kind(near).map(served_as).unwrap_or_default();
        m.push_str(&format!("; did you mean {near:?} (served as {info})?"));
    }
    m.push_str(&format!(
        " (known kinds in {api_version}: {})",
        here.join(", ")
    ));
    m
}

/// `apiVersion: apps/v1` (or `apps/v1beta2`).
fn served_as(info: &KindInfo) -> String {
    let mut s = format!("apiVersion: {}", info.storage_version());
    if info.versions.len() > 1 {
        s.push_str(&format!(" (or {})", info.versions[1..].join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_names_resolve() {
        for (name, kind) in [
            ("po", "Pod"),
            ("pods", "Pod"),
            ("Pod", "Pod"),
            ("rc", "ReplicationController"),
            ("replicationcontroller", "ReplicationController"),
            ("rs", "ReplicaSet"),
            ("replicasets.apps", "ReplicaSet"),
            ("ds", "DaemonSet"),
            ("job", "Job"),
            ("jobs.batch", "Job"),
            ("cj", "CronJob"),
            ("no", "Node"),
            ("ev", "Event"),
            ("ns", "Namespace"),
            ("lease", "Lease"),
        ] {
            assert_eq!(lookup_cli(name).unwrap().kind, kind, "{name}");
        }
        let err = lookup_cli("pdos").unwrap_err();
        assert!(
            err.message
                .contains(r#"doesn't have a resource type "pdos"; did you mean "pods"?"#),
            "{err}"
        );
        assert!(lookup_cli("pods.apps").is_err());
    }

    #[test]
    fn versions_and_storage() {
        let rs = lookup("apps/v1beta2", "ReplicaSet").unwrap();
        assert_eq!(rs.storage_version(), "apps/v1");
        assert_eq!(rs.qualified_resource(), "replicasets.apps");
        assert_eq!(
            lookup("batch/v1beta1", "CronJob")
                .unwrap()
                .storage_version(),
            "batch/v1"
        );
        assert_eq!(
            lookup("coordination.k8s.io/v1", "Lease").unwrap().plural,
            "leases"
        );
        assert!(lookup("batch/v1beta1", "Job").is_err());
    }

    #[test]
    fn unknown_kinds_and_versions_name_the_nearest() {
        let table = [
            ("apps/v1beta2", "DemonSet", r#"no kind "DemonSet" is registered for version "apps/v1beta2"; did you mean "DaemonSet"?"#),
            ("v1", "pod", r#"no kind "pod" is registered for version "v1"; did you mean "Pod"?"#),
            ("v1", "ReplicaSet", r#"ReplicaSet is served as apiVersion: apps/v1 (or apps/v1beta2)"#),
            ("apps/v1", "Foo", "known kinds in apps/v1: ReplicaSet, DaemonSet"),
            ("apps/v2", "Widget", r#"apiVersion "apps/v2" is not known; did you mean "apps/v1"?"#),
            ("apps/v2", "Widget", "known apiVersions: v1, apps/v1, apps/v1beta2, batch/v1, batch/v1beta1, coordination.k8s.io/v1"),
            ("extensions/v1beta1", "DaemonSet", "DaemonSet is served as apiVersion: apps/v1"),
        ];
        for (version, kind, want) in table {
            let err = lookup(version, kind).unwrap_err();
            assert_eq!(err.reason, crate::error::Reason::BadRequest);
            assert!(
                err.message.contains(want),
                "{version} {kind}: {}",
                err.message
            );
        }
    }
}
