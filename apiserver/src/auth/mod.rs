//! Authentication by bearer tokens from a static token file, and authorization by role.
//!
//! Roles come from groups:
//! - `system:masters`: **admin**, everything;
//! - `system:nodes` with user `system:node:<node>`: **node**, a node agent (see [`authz`]);
//! - `skiff:viewers`: **viewer**, get, list and watch (and logs) of everything.
//!
//! A user with none of these groups is authenticated but may do nothing but WhoAmI.

pub mod authz;
pub mod tokens;

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use skiff_api::error::ApiError;

use authz::{Attributes, ObjectRule};

/// The group of administrators (Kubernetes' name).
pub const ADMIN_GROUP: &str = "system:masters";
/// The group of read-only users.
pub const VIEWER_GROUP: &str = "skiff:viewers";
/// The group of node agents (Kubernetes' name); their user is `system:node:<node>`.
pub const NODE_GROUP: &str = "system:nodes";
pub const NODE_USER_PREFIX: &str = "system:node:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    Viewer,
    /// A node agent, with its node's name.
    Node(String),
    None,
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
            Role::Node(_) => "node",
            Role::None => "none",
        }
    }
}

impl User {
    /// The strongest role the user's groups give.
    pub fn role(&self) -> Role {
        let has = |g: &str| self.groups.iter().any(|x| x == g);
        if has(ADMIN_GROUP) {
            return Role::Admin;
        }
        if has(NODE_GROUP) {
            if let Some(node) = self
                .name
                .strip_prefix(NODE_USER_PREFIX)
                .filter(|n| !n.is_empty())
            {
                return Role::Node(node.to_string());
            }
        }
        if has(VIEWER_GROUP) {
            return Role::Viewer;
        }
        Role::None
    }
}

/// Token -> user, loaded once at start.
pub struct Authenticator {
    users: HashMap<String, User>,
}

impl Authenticator {
    pub fn load(path: &Path) -> Result<Authenticator, tokens::TokenFileError> {
        Ok(Authenticator {
            users: tokens::load(path)?,
        })
    }

    pub fn from_users(users: HashMap<String, User>) -> Authenticator {
        Authenticator { users }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The user of an `authorization: Bearer <token>` header value.
    pub fn authenticate(&self, header: Option<&str>) -> Result<&User, ApiError> {
        let Some(header) = header else {
            return Err(ApiError::unauthorized(
                "Unauthorized: no bearer token in the request",
            ));
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "Unauthorized: the authorization header is not \"Bearer <token>\"",
                )
            })?;
        self.users
            .get(token)
            .ok_or_else(|| ApiError::unauthorized("Unauthorized: invalid bearer token"))
    }
}

/// Who is calling, and under which object rule: what both wire forms (gRPC and HTTP) learn
/// from a request's token before they call the registry.
pub struct Caller {
    pub user: User,
    pub rule: Option<ObjectRule>,
}

impl Authenticator {
    /// Authenticates the `authorization` header and authorizes the request's attributes.
    pub fn caller(&self, header: Option<&str>, a: &Attributes<'_>) -> Result<Caller, ApiError> {
        let user = self.authenticate(header)?.clone();
        let rule = authz::authorize(&user, a)?;
        Ok(Caller { user, rule })
    }
}

impl Caller {
    /// The guard the registry applies to each object the request touches.
    pub fn guard<'a>(
        &'a self,
        a: &'a Attributes<'a>,
    ) -> impl Fn(&Value) -> Result<(), ApiError> + Send + Sync + 'a {
        move |obj: &Value| match &self.rule {
            None => Ok(()),
            Some(rule) => authz::check_object(&self.user, a, rule, obj),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> User {
        User {
            name: name.into(),
            uid: "1".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn roles_from_groups() {
        assert_eq!(
            user("a", &["system:masters", "skiff:viewers"]).role(),
            Role::Admin
        );
        assert_eq!(user("v", &["skiff:viewers"]).role(), Role::Viewer);
        assert_eq!(
            user("system:node:n1", &["system:nodes"]).role(),
            Role::Node("n1".into())
        );
        // The node group without a node user name is no node.
        assert_eq!(user("bob", &["system:nodes"]).role(), Role::None);
        assert_eq!(user("system:node:", &["system:nodes"]).role(), Role::None);
        assert_eq!(user("x", &[]).role(), Role::None);
    }

    #[test]
    fn bearer_tokens() {
        let users = HashMap::from([("secret".to_string(), user("a", &[]))]);
        let auth = Authenticator::from_users(users);
        assert_eq!(auth.authenticate(Some("Bearer secret")).unwrap().name, "a");
        for bad in [None, Some("Bearer nope"), Some("secret"), Some("Bearer ")] {
            let e = auth.authenticate(bad).unwrap_err();
            assert_eq!(e.reason, skiff_api::error::Reason::Unauthorized, "{bad:?}");
        }
    }
}
