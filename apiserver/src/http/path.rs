//! Kubernetes REST paths: `/api/v1/namespaces/{ns}/pods/{name}/{subresource}` and `/apis/{group}/{version}/...` resolved to a kind, namespace, name and subresource.

use skiff_api::error::{ApiError, Reason};
use skiff_api::kinds::{self, KindInfo};

/// What a path under `/api` or `/apis` names.
#[derive(Debug, PartialEq)]
pub enum Route {
    /// `/api/v1` or `/apis/apps/v1`: the resource list of one group version.
    GroupVersion(String),
    /// `/apis/apps`: one group.
    Group(String),
    Resource(Target),
}

/// One resource request's target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub info: &'static KindInfo,
    /// The group version the client asked in (`v1`, `apps/v1beta2`): objects are served in it.
    pub api_version: String,
    /// Empty for cluster-scoped kinds and for lists across all namespaces.
    pub namespace: String,
    /// Empty for the collection.
    pub name: String,
    /// "", "status", "scale", "log" or "binding".
    pub subresource: String,
}

/// Namespace subresources: `/api/v1/namespaces/{name}/status` is the namespace's status, not
/// a resource `status` inside the namespace.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

/// Kubernetes' 404 for a path it does not serve.
pub fn not_served() -> ApiError {
    ApiError::new(
        Reason::NotFound,
        "the server could not find the requested resource",
    )
}

/// Resolves the part of a path after `/api/` (`core == true`) or after `/apis/`.
pub fn parse(rest: &str, core: bool) -> Result<Route, ApiError> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (group_version, parts) = if core {
        match segments.split_first() {
            Some((version, parts)) => (version.to_string(), parts),
            None => return Err(not_served()),
        }
    } else {
        match segments.as_slice() {
            [group] => {
                return if kinds::KINDS.iter().any(|k| k.group == *group) {
                    Ok(Route::Group(group.to_string()))
                } else {
                    Err(not_served())
                }
            }
            [group, version, parts @ ..] => (format!("{group}/{version}"), parts),
            [] => return Err(not_served()),
        }
    };
    if !kinds::api_versions().contains(&group_version.as_str()) {
        return Err(not_served());
    }
    if parts.is_empty() {
        return Ok(Route::GroupVersion(group_version));
    }
    let mut namespace = "";
    let mut parts = parts;
    if parts[0] == "namespaces" && parts.len() > 1 {
        namespace = parts[1];
        if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
            parts = &parts[2..];
        }
    }
    let (resource, name, subresource) = match parts {
        [resource] => (*resource, "", ""),
        [resource, name] => (*resource, *name, ""),
        [resource, name, sub] => (*resource, *name, *sub),
        _ => return Err(not_served()),
    };
    let info = kinds::KINDS
        .iter()
        .find(|k| k.plural == resource && k.accepts_version(&group_version))
        .ok_or_else(not_served)?;
    let served = match subresource {
        "" => true,
        "status" => info.has_status,
        "scale" => info.has_scale,
        "log" | "binding" | "exec" => info.plural == "pods",
        _ => false,
    };
    if !served {
        return Err(not_served());
    }
    let namespace = if info.namespaced { namespace } else { "" };
    // A namespaced object (not a collection) is only addressed inside its namespace.
    if info.namespaced && namespace.is_empty() && !name.is_empty() {
        return Err(not_served());
    }
    Ok(Route::Resource(Target {
        info,
        api_version: group_version,
        namespace: namespace.to_string(),
        name: name.to_string(),
        subresource: subresource.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(rest: &str, core: bool) -> Target {
        match parse(rest, core).unwrap() {
            Route::Resource(t) => t,
            other => panic!("{rest}: {other:?}"),
        }
    }

    #[test]
    fn kubectl_paths_resolve() {
        let t = target("v1/namespaces/default/pods/kubia/log", true);
        assert_eq!(
            (
                t.info.plural,
                t.namespace.as_str(),
                t.name.as_str(),
                t.subresource.as_str()
            ),
            ("pods", "default", "kubia", "log")
        );
        let t = target("v1/pods", true);
        assert_eq!(
            (t.info.plural, t.namespace.as_str(), t.name.as_str()),
            ("pods", "", "")
        );
        let t = target("v1/namespaces/kube-system", true);
        assert_eq!(
            (t.info.plural, t.name.as_str()),
            ("namespaces", "kube-system")
        );
        let t = target("v1/namespaces/dev/status", true);
        assert_eq!(
            (t.info.plural, t.name.as_str(), t.subresource.as_str()),
            ("namespaces", "dev", "status")
        );
        let t = target("v1/nodes/n1/status", true);
        assert_eq!((t.info.plural, t.namespace.as_str()), ("nodes", ""));
        let t = target("apps/v1beta2/namespaces/x/replicasets/r/scale", false);
        assert_eq!(
            (t.info.kind, t.api_version.as_str(), t.subresource.as_str()),
            ("ReplicaSet", "apps/v1beta2", "scale")
        );
        let t = target("batch/v1beta1/namespaces/x/cronjobs", false);
        assert_eq!(t.info.kind, "CronJob");
        assert_eq!(
            parse("apps/v1", false).unwrap(),
            Route::GroupVersion("apps/v1".into())
        );
        assert_eq!(parse("v1", true).unwrap(), Route::GroupVersion("v1".into()));
        assert_eq!(parse("batch", false).unwrap(), Route::Group("batch".into()));
    }

    #[test]
    fn what_is_not_served_is_404() {
        for (rest, core) in [
            ("v2/pods", true),
            ("v1/widgets", true),
            ("batch/v1beta1/namespaces/x/jobs", false),
            ("apps/v1/namespaces/x/pods", false),
            ("v1/namespaces/x/pods/p/scale", true),
            ("v1/namespaces/x/replicationcontrollers/r/log", true),
            ("v1/pods/p", true),
            ("v1/namespaces/x/pods/p/log/extra", true),
            ("extensions", false),
        ] {
            let e = parse(rest, core).unwrap_err();
            assert_eq!(e.code, 404, "{rest}");
        }
    }
}
