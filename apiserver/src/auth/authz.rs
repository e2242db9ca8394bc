//! Authorization: may this user do this verb on this resource? Node agents get object-level rules checked on the objects the request touches.
//!
//! A node agent (`system:node:<node>`) may read everything, and write only:
//! - its own Node object and its status (create, update, patch, delete);
//! - its Lease `kube-node-lease/<node>`;
//! - the status of pods bound to it, and the deletion (confirmation) of pods bound to it;
//! - events (create, update, patch).

use serde_json::Value;
use skiff_api::error::{Access, ApiError};
use skiff_api::kinds::KindInfo;

use super::{Role, User};

/// The namespace of node heartbeat leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// One request as authorization sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    /// Kubernetes' verbs: get, list, watch, create, update, patch, delete.
    pub verb: &'a str,
    pub info: &'a KindInfo,
    /// "", "status", "binding", "scale" or "log".
    pub subresource: &'a str,
    pub namespace: &'a str,
    /// Empty when not known before the body is read (create).
    pub name: &'a str,
}

/// A rule a node agent's request must satisfy on every object it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRule {
    OwnNode(String),
    OwnLease(String),
    PodOnNode(String),
}

impl ObjectRule {
    fn holds(&self, obj: &Value) -> bool {
        let meta = |f: &str| {
            obj.get("metadata")
                .and_then(|m| m.get(f))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        match self {
            ObjectRule::OwnNode(n) => meta("name") == n,
            ObjectRule::OwnLease(n) => {
                meta("namespace") == NODE_LEASE_NAMESPACE && meta("name") == n
            }
            ObjectRule::PodOnNode(n) => {
                obj.pointer("/spec/nodeName").and_then(Value::as_str) == Some(n.as_str())
            }
        }
    }

    fn explain(&self) -> String {
        match self {
            ObjectRule::OwnNode(n) => format!("a node may only change its own Node object {n:?}"),
            ObjectRule::OwnLease(n) => {
                format!("a node may only change its own Lease {NODE_LEASE_NAMESPACE}/{n}")
            }
            ObjectRule::PodOnNode(n) => {
                format!("a node may only change pods bound to it (spec.nodeName {n:?})")
            }
        }
    }
}

fn resource_name(a: &Attributes<'_>) -> String {
    if a.subresource.is_empty() {
        a.info.plural.to_string()
    } else {
        format!("{}/{}", a.info.plural, a.subresource)
    }
}

fn forbidden(user: &User, a: &Attributes<'_>, name: &str, why: Option<String>) -> ApiError {
    let resource = resource_name(a);
    let namespace = if a.info.namespaced { a.namespace } else { "" };
    let access = Access {
        user: &user.name,
        verb: a.verb,
        resource: &resource,
        group: a.info.group,
        namespace,
        name,
    };
    let mut e = ApiError::forbidden(&access);
    if let Some(why) = why {
        e.message.push_str(": ");
        e.message.push_str(&why);
    }
    e
}

const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

/// Decides a request: Ok(None) allows it, Ok(Some(rule)) allows it if every object it
/// touches satisfies the rule, Err is Forbidden.
pub fn authorize(user: &User, a: &Attributes<'_>) -> Result<Option<ObjectRule>, ApiError> {
    let read = READ_VERBS.contains(&a.verb);
    match user.role() {
        Role::Admin => Ok(None),
        Role::Viewer if read => Ok(None),
        Role::Node(node) => node_rule(user, &node, a),
        Role::Viewer | Role::None => Err(forbidden(user, a, a.name, None)),
    }
}

fn node_rule(user: &User, node: &str, a: &Attributes<'_>) -> Result<Option<ObjectRule>, ApiError> {
    let deny = |why: Option<String>| Err(forbidden(user, a, a.name, why));
    let read = READ_VERBS.contains(&a.verb);
    let write = matches!(a.verb, "create" | "update" | "patch" | "delete");
    match (a.info.plural, a.subresource) {
        (_, "log") | (_, "exec") => deny(None),
        (_, "") | (_, "status") | (_, "scale") if read => Ok(None),
        ("nodes", "" | "status") if write => {
            let rule = ObjectRule::OwnNode(node.to_string());
            if !a.name.is_empty() && a.name != node {
                return deny(Some(rule.explain()));
            }
            Ok(Some(rule))
        }
        ("leases", "") if write => {
            let rule = ObjectRule::OwnLease(node.to_string());
            // An empty namespace (a create naming it only in the object) is checked on the object.
            let other_namespace = !a.namespace.is_empty() && a.namespace != NODE_LEASE_NAMESPACE;
            if other_namespace || (!a.name.is_empty() && a.name != node) {
                return deny(Some(rule.explain()));
            }
            Ok(Some(rule))
        }
        ("pods", "status") if a.verb == "update" => {
            Ok(Some(ObjectRule::PodOnNode(node.to_string())))
        }
        ("pods", "") if a.verb == "delete" => Ok(Some(ObjectRule::PodOnNode(node.to_string()))),
        ("events", "") if matches!(a.verb, "create" | "update" | "patch") => Ok(None),
        _ => deny(None),
    }
}

/// Checks a node agent's rule on one object the request touches.
pub fn check_object(
    user: &User,
    a: &Attributes<'_>,
    rule: &ObjectRule,
    obj: &Value,
) -> Result<(), ApiError> {
    if rule.holds(obj) {
        return Ok(());
    }
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or(a.name);
    Err(forbidden(user, a, name, Some(rule.explain())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skiff_api::kinds::by_plural;

    fn user(name: &str, group: &str) -> User {
        User {
            name: name.into(),
            uid: "u".into(),
            groups: vec![group.into()],
        }
    }

    fn attrs<'a>(
        verb: &'a str,
        plural: &str,
        sub: &'a str,
        ns: &'a str,
        name: &'a str,
    ) -> Attributes<'a> {
        Attributes {
            verb,
            info: by_plural(plural).unwrap(),
            subresource: sub,
            namespace: ns,
            name,
        }
    }

    #[test]
    fn forbidden_wording_is_kubernetes() {
        let bob = user("bob", "skiff:viewers");
        let e = authorize(&bob, &attrs("delete", "pods", "", "default", "")).unwrap_err();
        assert_eq!(
            e.message,
            r#"pods is forbidden: User "bob" cannot delete resource "pods" in API group "" in the namespace "default""#
        );
        let e = authorize(
            &bob,
            &attrs("update", "replicasets", "scale", "default", "web"),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains(r#"cannot update resource "replicasets/scale" in API group "apps""#),
            "{}",
            e.message
        );
        let e = authorize(&bob, &attrs("create", "nodes", "", "", "")).unwrap_err();
        assert!(e.message.ends_with("at the cluster scope"), "{}", e.message);
    }

    #[test]
    fn matrix() {
        let admin = user("root", "system:masters");
        let viewer = user("v", "skiff:viewers");
        let node = user("system:node:n1", "system:nodes");
        let none = user("x", "devs");
        let table: &[(&User, Attributes<'_>, bool)] = &[
            (&admin, attrs("delete", "nodes", "", "", "n2"), true),
            (&viewer, attrs("list", "pods", "", "", ""), true),
            (&viewer, attrs("get", "pods", "log", "default", "p"), true),
            (&viewer, attrs("create", "pods", "", "default", ""), false),
            (&none, attrs("get", "pods", "", "default", "p"), false),
            (&node, attrs("watch", "pods", "", "", ""), true),
            (&node, attrs("update", "nodes", "status", "", "n1"), true),
            (&node, attrs("update", "nodes", "status", "", "n2"), false),
            (
                &node,
                attrs("update", "leases", "", "kube-node-lease", "n1"),
                true,
            ),
            (&node, attrs("update", "leases", "", "default", "n1"), false),
            (
                &node,
                attrs("update", "leases", "", "kube-node-lease", "n2"),
                false,
            ),
            (
                &node,
                attrs("update", "pods", "status", "default", "p"),
                true,
            ),
            (&node, attrs("update", "pods", "", "default", "p"), false),
            (&node, attrs("delete", "pods", "", "default", "p"), true),
            (&node, attrs("create", "pods", "", "default", ""), false),
            (&node, attrs("create", "events", "", "default", ""), true),
            (
                &node,
                attrs("delete", "replicasets", "", "default", "r"),
                false,
            ),
            (
                &node,
                attrs("create", "pods", "binding", "default", "p"),
                false,
            ),
            (&node, attrs("get", "pods", "log", "default", "p"), false),
        ];
        for (u, a, want) in table {
            assert_eq!(
                authorize(u, a).is_ok(),
                *want,
                "{} {} {}/{} {}",
                u.name,
                a.verb,
                a.info.plural,
                a.subresource,
                a.name
            );
        }
    }

    #[test]
    fn node_rules_check_the_objects() {
        let node = user("system:node:n1", "system:nodes");
        let a = attrs("update", "pods", "status", "default", "p");
        let rule = authorize(&node, &a).unwrap().unwrap();
        let mine = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}});
        let theirs = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n2"}});
        assert!(check_object(&node, &a, &rule, &mine).is_ok());
        let e = check_object(&node, &a, &rule, &theirs).unwrap_err();
        assert!(
            e.message
                .contains(r#"User "system:node:n1" cannot update resource "pods/status""#),
            "{}",
            e.message
        );
        assert!(e.message.contains("bound to it"), "{}", e.message);
    }
}
