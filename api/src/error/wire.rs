//! The wire forms of an [`ApiError`]: the Kubernetes `Status` JSON carried in gRPC
//! details, the `tonic::Status` itself, and the line kubectl prints.

use serde::{Deserialize, Serialize};

use super::{ApiError, Reason, StatusDetails};

impl ApiError {
    /// The Kubernetes `Status` object for this error, as JSON.
    pub fn to_status_json(&self) -> serde_json::Value {
        let wire = WireStatus {
            kind: "Status".to_string(),
            api_version: "v1".to_string(),
            status: "Failure".to_string(),
            message: self.message.clone(),
            reason: self.reason,
            details: (*self.details).clone(),
            code: self.code,
        };
        serde_json::to_value(&wire).unwrap_or_default()
    }

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

    /// The line kubectl prints for this error:
    /// `Error from server (NotFound): pods "x" not found`,
    /// `The Pod "x" is invalid: spec.containers[0].image: Required value`, or for several
    /// causes the header followed by one `* cause` line each.
    pub fn to_kubectl_string(&self) -> String {
        match self.reason {
            Reason::Invalid if !self.details.causes.is_empty() => {
                let d = &self.details;
                let header = if d.kind.is_empty() && d.name.is_empty() {
                    "The request is invalid".to_string()
                } else {
                    format!("The {} {:?} is invalid", d.kind, d.name)
                };
                match d.causes.as_slice() {
                    [one] => format!("{header}: {one}"),
                    many => {
                        let lines: Vec<String> = many.iter().map(|c| format!("* {c}")).collect();
                        format!("{header}: \n{}", lines.join("\n"))
                    }
                }
            }
            Reason::Unauthorized => format!(
                "error: You must be logged in to the server ({})",
                self.message
            ),
            reason => format!("Error from server ({reason}): {}", self.message),
        }
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

/// The Kubernetes `Status` object as it travels in gRPC details.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStatus {
    kind: String,
    api_version: String,
    status: String,
    message: String,
    reason: Reason,
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    details: StatusDetails,
    code: u16,
}
