//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/{group}` and the APIResourceList of each group version, built from the kinds registry.
//!
//! kubectl 1.37 first asks for aggregated discovery (`Accept: ...;g=apidiscovery.k8s.io;v=v2`);
//! it accepts the plain documents as an answer and then reads each group version's list,
//! so skiff serves only the plain forms.

use serde_json::{json, Value};
use skiff_api::kinds::{KindInfo, KINDS};

/// The Kubernetes version skiff's API corresponds to (kubectl warns beyond one minor apart).
pub const KUBERNETES_MAJOR: &str = "1";
pub const KUBERNETES_MINOR: &str = "37";

pub fn version() -> Value {
    json!({
        "major": KUBERNETES_MAJOR,
        "minor": KUBERNETES_MINOR,
        "gitVersion": format!("v{KUBERNETES_MAJOR}.{KUBERNETES_MINOR}.0-skiff.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, goarch()),
    })
}

fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `/api`: the core group's versions.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// The named groups, each with its versions, the preferred (storage) one first.
fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for k in KINDS.iter().filter(|k| !k.group.is_empty()) {
        let entry = match out.iter_mut().find(|(g, _)| *g == k.group) {
            Some(e) => e,
            None => {
                out.push((k.group, Vec::new()));
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        for v in k.versions {
            if !entry.1.contains(v) {
                entry.1.push(v);
            }
        }
    }
    out
}

fn group_json(name: &str, versions: &[&str]) -> Value {
    let version = |gv: &str| json!({"groupVersion": gv, "version": gv.split_once('/').map_or(gv, |(_, v)| v)});
    json!({
        "name": name,
        "versions": versions.iter().map(|v| version(v)).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(|v| version(v)),
    })
}

/// `/apis`
pub fn group_list() -> Value {
    let groups: Vec<Value> = groups()
        .iter()
        .map(|(name, versions)| group_json(name, versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`
pub fn group(name: &str) -> Option<Value> {
    let (name, versions) = groups().into_iter().find(|(g, _)| *g == name)?;
    let mut g = group_json(name, &versions);
    if let Some(map) = g.as_object_mut() {
        map.insert("kind".into(), json!("APIGroup"));
        map.insert("apiVersion".into(), json!("v1"));
    }
    Some(g)
}

const ALL_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Kinds `kubectl get all` shows (Kubernetes puts its workloads in category `all`).
fn in_category_all(info: &KindInfo) -> bool {
    matches!(
        info.plural,
        "pods" | "replicationcontrollers" | "replicasets" | "daemonsets" | "jobs" | "cronjobs"
    )
}

fn resources_of(info: &KindInfo) -> Vec<Value> {
    let mut main = json!({
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": ALL_VERBS,
    });
    if let Some(map) = main.as_object_mut() {
        if !info.short_names.is_empty() {
            map.insert("shortNames".into(), json!(info.short_names));
        }
        if in_category_all(info) {
            map.insert("categories".into(), json!(["all"]));
        }
    }
    let sub = |name: &str, kind: &str, verbs: &[&str]| {
        json!({"name": format!("{}/{name}", info.plural), "singularName": "", "namespaced": info.namespaced,
               "kind": kind, "verbs": verbs})
    };
    let mut out = vec![main];
    if info.has_status {
        out.push(sub("status", info.kind, &["get", "patch", "update"]));
    }
    if info.has_scale {
        let mut scale = sub("scale", "Scale", &["get", "patch", "update"]);
        if let Some(map) = scale.as_object_mut() {
            map.insert("group".into(), json!("autoscaling"));
            map.insert("version".into(), json!("v1"));
        }
        out.push(scale);
    }
    if info.plural == "pods" {
        out.push(sub("log", "Pod", &["get"]));
        out.push(sub("binding", "Binding", &["create"]));
        out.push(sub("exec", "PodExecOptions", &["create", "get"]));
    }
    out
}

/// `/api/v1` or `/apis/{group}/{version}`: every resource served in that group version.
pub fn resource_list(group_version: &str) -> Value {
    let resources: Vec<Value> = KINDS
        .iter()
        .filter(|k| k.accepts_version(group_version))
        .flat_map(resources_of)
        .collect();
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_list_their_versions_preferred_first() {
        let list = group_list();
        let apps = list["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "apps")
            .unwrap();
        assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
        assert_eq!(apps["versions"][1]["version"], "v1beta2");
        assert!(group("widgets").is_none());
    }

    #[test]
    fn resource_lists_carry_what_kubectl_reads() {
        let core = resource_list("v1");
        let find = |name: &str| {
            core["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        let pods = find("pods");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(pods["namespaced"], true);
        assert_eq!(find("nodes")["namespaced"], false);
        assert!(find("nodes").get("categories").is_none());
        assert_eq!(find("replicationcontrollers/scale")["group"], "autoscaling");
        assert_eq!(find("pods/log")["verbs"], json!(["get"]));
        let cron = resource_list("batch/v1beta1");
        assert_eq!(cron["resources"][0]["kind"], "CronJob");
        assert_eq!(
            cron["resources"].as_array().unwrap().len(),
            2,
            "cronjobs and cronjobs/status"
        );
    }
}
