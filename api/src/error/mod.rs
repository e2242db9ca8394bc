//! API errors in Kubernetes' shape: reason, message, field causes, HTTP-like code.
//!
//! Every error the apiserver returns is an [`ApiError`]. Its wire forms are in `wire` (the
//! Kubernetes `Status` JSON and the line kubectl prints) and, with the `grpc` feature, in
//! `grpc` (the `tonic::Status` the apiserver sends and clients read back).

#[cfg(feature = "grpc")]
mod grpc;
mod wire;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a request failed; the names are Kubernetes' `StatusReason` values.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    NotFound,
    AlreadyExists,
    Conflict,
    Invalid,
    Forbidden,
    Unauthorized,
    BadRequest,
    RequestEntityTooLarge,
    /// The requested resourceVersion is older than the history still kept (HTTP 410 Gone):
    /// the client must list again.
    Expired,
    Timeout,
    InternalError,
    ServiceUnavailable,
    MethodNotAllowed,
    /// The request's Content-Type is not one this endpoint takes (a patch type it does not
    /// implement).
    UnsupportedMediaType,
    /// None of the media types the request's Accept names is served (a protobuf-only
    /// OpenAPI request; the client then asks for JSON).
    NotAcceptable,
}

/// Each reason with Kubernetes' HTTP status code for it.
const REASON_CODES: [(Reason, u16); 15] = [
    (Reason::NotFound, 404),
    (Reason::AlreadyExists, 409),
    (Reason::Conflict, 409),
    (Reason::Invalid, 422),
    (Reason::Forbidden, 403),
    (Reason::Unauthorized, 401),
    (Reason::BadRequest, 400),
    (Reason::RequestEntityTooLarge, 413),
    (Reason::Expired, 410),
    (Reason::Timeout, 504),
    (Reason::InternalError, 500),
    (Reason::ServiceUnavailable, 503),
    (Reason::MethodNotAllowed, 405),
    (Reason::UnsupportedMediaType, 415),
    (Reason::NotAcceptable, 406),
];

impl Reason {
    /// Every reason, in declaration order.
    pub fn all() -> impl Iterator<Item = Reason> {
        REASON_CODES.iter().map(|(r, _)| *r)
    }

    /// The HTTP status code Kubernetes uses for this reason.
    pub fn http_code(self) -> u16 {
        REASON_CODES
            .iter()
            .find(|(r, _)| *r == self)
            .map_or(500, |(_, http)| *http)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The class of one field problem; the names are Kubernetes' `CauseType` values, plus
/// `FieldValueUnknown` for a field the schema does not have.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CauseType {
    FieldValueNotFound,
    FieldValueRequired,
    FieldValueDuplicate,
    FieldValueInvalid,
    FieldValueNotSupported,
    FieldValueForbidden,
    FieldValueTooLong,
    FieldValueTooMany,
    FieldValueTypeInvalid,
    FieldValueUnknown,
    /// A cause type this version of skiff does not know (sent by a newer server).
    #[serde(other)]
    Other,
}

/// One problem with one field. `message` is the Kubernetes error body
/// (`Required value`, `Invalid value: 70000: must be between 1 and 65535, inclusive`), so
/// `field: message` reads exactly like a Kubernetes field error.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct Cause {
    pub reason: CauseType,
    pub message: String,
    pub field: String,
}

impl Default for Cause {
    fn default() -> Cause {
        Cause {
            reason: CauseType::Other,
            message: String::new(),
            field: String::new(),
        }
    }
}

/// Renders a value the way field errors quote it: strings in quotes, numbers bare, maps as JSON.
fn show(value: impl Serialize) -> String {
    serde_json::to_string(&value).unwrap_or_else(|_| "<unprintable>".to_string())
}

/// `"a", "b", "c"`: the list form Kubernetes uses for supported values.
pub(crate) fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Cause {
    fn new(reason: CauseType, field: &str, message: String) -> Cause {
        Cause {
            reason,
            field: field.to_string(),
            message,
        }
    }

    /// `field: Required value` (with `: detail` when a detail is given).
    pub fn required(field: &str, detail: &str) -> Cause {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Cause::new(CauseType::FieldValueRequired, field, message)
    }

    /// `field: Invalid value: <value>: detail`.
    pub fn invalid(field: &str, value: impl Serialize, detail: &str) -> Cause {
        let mut message = format!("Invalid value: {}", show(value));
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        Cause::new(CauseType::FieldValueInvalid, field, message)
    }

    /// `field: Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: &str, value: impl Serialize, supported: &[&str]) -> Cause {
        let message = format!(
            "Unsupported value: {}: supported values: {}",
            show(value),
            quoted_list(supported)
        );
        Cause::new(CauseType::FieldValueNotSupported, field, message)
    }

    /// `field: Forbidden: detail`.
    pub fn forbidden(field: &str, detail: &str) -> Cause {
        Cause::new(
            CauseType::FieldValueForbidden,
            field,
            format!("Forbidden: {detail}"),
        )
    }

    /// `field: Duplicate value: <value>`.
    pub fn duplicate(field: &str, value: impl Serialize) -> Cause {
        Cause::new(
            CauseType::FieldValueDuplicate,
            field,
            format!("Duplicate value: {}", show(value)),
        )
    }

    /// `field: Too long: may not be more than <max> bytes`.
    pub fn too_long(field: &str, max: usize) -> Cause {
        Cause::new(
            CauseType::FieldValueTooLong,
            field,
            format!("Too long: may not be more than {max} bytes"),
        )
    }

    /// A field the schema does not have; `message` says which and suggests the nearest.
    pub fn unknown_field(field: &str, message: String) -> Cause {
        Cause::new(CauseType::FieldValueUnknown, field, message)
    }

    /// A value of the wrong JSON type (`expected an integer, got a string`).
    pub fn type_invalid(field: &str, message: String) -> Cause {
        Cause::new(CauseType::FieldValueTypeInvalid, field, message)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Extra information about a failure: which object, and for Invalid which fields.
/// For NotFound/AlreadyExists/Conflict `kind` holds the resource (`pods`), as in Kubernetes;
/// for Invalid it holds the kind (`Pod`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusDetails {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
}

/// An error from the API, with Kubernetes' reason, wording and field causes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub reason: Reason,
    pub message: String,
    /// Boxed to keep `Result<_, ApiError>` small; most errors have no details.
    pub details: Box<StatusDetails>,
    /// HTTP-like status code (404, 409, 422, ...).
    pub code: u16,
}

/// Who tried to do what; Forbidden errors name all of it.
#[derive(Clone, Debug, Default)]
pub struct Access<'a> {
    pub user: &'a str,
    pub verb: &'a str,
    /// Plural resource, with the subresource if any: `pods`, `pods/status`.
    pub resource: &'a str,
    /// API group; empty for the core group.
    pub group: &'a str,
    /// Empty for cluster-scoped resources.
    pub namespace: &'a str,
    /// Empty for requests on a collection (list, create, watch).
    pub name: &'a str,
}

/// Splits `replicasets.apps` into (`replicasets`, `apps`); core resources have no group.
fn split_resource(qualified: &str) -> (&str, &str) {
    qualified.split_once('.').unwrap_or((qualified, ""))
}

impl ApiError {
    /// An error with no details.
    pub fn new(reason: Reason, message: impl Into<String>) -> ApiError {
        ApiError {
            reason,
            message: message.into(),
            details: Box::default(),
            code: reason.http_code(),
        }
    }

    /// An error about a named object of a resource such as `pods` or `replicasets.apps`.
    fn about(reason: Reason, resource: &str, name: &str, message: String) -> ApiError {
        let (plural, group) = split_resource(resource);
        let details = StatusDetails {
            name: name.to_string(),
            group: group.to_string(),
            kind: plural.to_string(),
            causes: vec![],
        };
        ApiError {
            details: Box::new(details),
            ..ApiError::new(reason, message)
        }
    }

    /// `pods "x" not found`. `resource` is the plural, qualified by its group outside the core
    /// group (`replicasets.apps`).
    pub fn not_found(resource: &str, name: &str) -> ApiError {
        ApiError::about(
            Reason::NotFound,
            resource,
            name,
            format!("{resource} {name:?} not found"),
        )
    }

    /// `pods "x" already exists`.
    pub fn already_exists(resource: &str, name: &str) -> ApiError {
        ApiError::about(
            Reason::AlreadyExists,
            resource,
            name,
            format!("{resource} {name:?} already exists"),
        )
    }

    /// `Operation cannot be fulfilled on pods "x": <why>`.
    pub fn conflict(resource: &str, name: &str, why: &str) -> ApiError {
        let message = format!("Operation cannot be fulfilled on {resource} {name:?}: {why}");
        ApiError::about(Reason::Conflict, resource, name, message)
    }

    /// The Conflict for an update based on a stale resourceVersion.
    pub fn conflict_modified(resource: &str, name: &str) -> ApiError {
        ApiError::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `Pod "x" is invalid: spec.containers[0].image: Required value`; several causes are
    /// joined as `[cause1, cause2]`, as Kubernetes does.
    pub fn invalid(kind: &str, name: &str, causes: Vec<Cause>) -> ApiError {
        let joined = match causes.as_slice() {
            [one] => one.to_string(),
            many => format!(
                "[{}]",
                many.iter()
                    .map(Cause::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let details = StatusDetails {
            name: name.to_string(),
            group: String::new(),
            kind: kind.to_string(),
            causes,
        };
        ApiError {
            details: Box::new(details),
            ..ApiError::new(
                Reason::Invalid,
                format!("{kind} {name:?} is invalid: {joined}"),
            )
        }
    }

    /// `pods "x" is forbidden: User "bob" cannot delete resource "pods" in API group "" in the
    /// namespace "default"` (Kubernetes' RBAC wording).
    pub fn forbidden(access: &Access<'_>) -> ApiError {
        let (plural, _) = access
            .resource
            .split_once('/')
            .unwrap_or((access.resource, ""));
        let qualified = if access.group.is_empty() {
            plural.to_string()
        } else {
            format!("{plural}.{}", access.group)
        };
        let subject = if access.name.is_empty() {
            qualified.clone()
        } else {
            format!("{qualified} {:?}", access.name)
        };
        let scope = if access.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace {:?}", access.namespace)
        };
        let message = format!(
            "{subject} is forbidden: User {:?} cannot {} resource {:?} in API group {:?} {scope}",
            access.user, access.verb, access.resource, access.group
        );
        ApiError::about(Reason::Forbidden, &qualified, access.name, message)
    }

    /// A request without valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::Unauthorized, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::BadRequest, message)
    }

    /// `Request entity too large: limit is 3145728` style.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::RequestEntityTooLarge, message)
    }

    /// The requested resourceVersion is no longer kept; the client must relist.
    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::Expired, message)
    }

    pub fn timeout(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::Timeout, message)
    }

    /// `Internal error occurred: <message>`.
    pub fn internal(message: impl fmt::Display) -> ApiError {
        ApiError::new(
            Reason::InternalError,
            format!("Internal error occurred: {message}"),
        )
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::ServiceUnavailable, message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::MethodNotAllowed, message)
    }

    pub fn is_not_found(&self) -> bool {
        self.reason == Reason::NotFound
    }

    pub fn is_conflict(&self) -> bool {
        self.reason == Reason::Conflict
    }

    pub fn is_already_exists(&self) -> bool {
        self.reason == Reason::AlreadyExists
    }

    pub fn is_expired(&self) -> bool {
        self.reason == Reason::Expired
    }
}
