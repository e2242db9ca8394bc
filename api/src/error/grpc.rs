//! The gRPC form of an [`ApiError`] (feature `grpc`): the one mapping the apiserver, the
//! nodelet's log service and the client all use.
//!
//! On the wire an error is a `tonic::Status` whose message is the error message and whose
//! `details` bytes hold the Kubernetes `Status` object as JSON, so clients get the reason
//! and field causes back exactly.
//!
//! gRPC codes by reason: NotFound -> NOT_FOUND, AlreadyExists -> ALREADY_EXISTS,
//! Conflict -> ABORTED (gRPC's code for "retry at a higher level", which is what a stale
//! resourceVersion asks for), Invalid and BadRequest -> INVALID_ARGUMENT, Forbidden ->
//! PERMISSION_DENIED, Unauthorized -> UNAUTHENTICATED, RequestEntityTooLarge ->
//! RESOURCE_EXHAUSTED (the code gRPC itself uses for an oversized message), Expired ->
//! OUT_OF_RANGE (the resourceVersion is outside the window still kept), Timeout ->
//! DEADLINE_EXCEEDED, ServiceUnavailable -> UNAVAILABLE, MethodNotAllowed -> UNIMPLEMENTED,
//! InternalError -> INTERNAL.

use tonic::Code;

use super::wire::WireStatus;
use super::{ApiError, Reason};

impl Reason {
    /// The gRPC code this reason travels as (see the module doc for the choices).
    pub fn grpc_code(self) -> Code {
        match self {
            Reason::NotFound => Code::NotFound,
            Reason::AlreadyExists => Code::AlreadyExists,
            Reason::Conflict => Code::Aborted,
            Reason::Invalid
            | Reason::BadRequest
            | Reason::UnsupportedMediaType
            | Reason::NotAcceptable => Code::InvalidArgument,
            Reason::Forbidden => Code::PermissionDenied,
            Reason::Unauthorized => Code::Unauthenticated,
            Reason::RequestEntityTooLarge => Code::ResourceExhausted,
            Reason::Expired => Code::OutOfRange,
            Reason::Timeout => Code::DeadlineExceeded,
            Reason::InternalError => Code::Internal,
            Reason::ServiceUnavailable => Code::Unavailable,
            Reason::MethodNotAllowed => Code::Unimplemented,
        }
    }

    /// The reason for a gRPC status that carries no Kubernetes details (for example one made by
    /// the transport when the server is down).
    pub fn from_grpc_code(code: Code) -> Reason {
        match code {
            Code::NotFound => Reason::NotFound,
            Code::AlreadyExists => Reason::AlreadyExists,
            Code::Aborted | Code::FailedPrecondition => Reason::Conflict,
            Code::InvalidArgument => Reason::BadRequest,
            Code::PermissionDenied => Reason::Forbidden,
            Code::Unauthenticated => Reason::Unauthorized,
            Code::ResourceExhausted => Reason::RequestEntityTooLarge,
            Code::OutOfRange => Reason::Expired,
            Code::DeadlineExceeded => Reason::Timeout,
            Code::Unavailable | Code::Cancelled => Reason::ServiceUnavailable,
            Code::Unimplemented => Reason::MethodNotAllowed,
            _ => Reason::InternalError,
        }
    }
}

impl ApiError {
    /// The gRPC status carrying this error: message as is, Status JSON in `details`.
    pub fn to_status(&self) -> tonic::Status {
        let details = serde_json::to_vec(&self.to_status_json()).unwrap_or_default();
        tonic::Status::with_details(
            self.reason.grpc_code(),
            self.message.clone(),
            details.into(),
        )
    }

    /// Reads an error back from a gRPC status. A status from a skiff apiserver carries the
    /// Status JSON; any other (a dead server, a timeout in the transport) is classified by its
    /// gRPC code.
    pub fn from_status(status: &tonic::Status) -> ApiError {
        if let Ok(wire) = serde_json::from_slice::<WireStatus>(status.details()) {
            if wire.kind == "Status" {
                return ApiError {
                    reason: wire.reason,
                    message: wire.message,
                    details: Box::new(wire.details),
                    code: wire.code,
                };
            }
        }
        let reason = Reason::from_grpc_code(status.code());
        let message = if status.message().is_empty() {
            status.code().description().to_string()
        } else {
            status.message().to_string()
        };
        ApiError::new(reason, message)
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> tonic::Status {
        e.to_status()
    }
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> ApiError {
        ApiError::from_status(&s)
    }
}
