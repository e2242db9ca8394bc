//! The wire forms of an [`ApiError`] that need no transport: the Kubernetes `Status` JSON
//! (what an HTTP API answers, and what the gRPC form carries in its details) and the line
//! kubectl prints.

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

/// The Kubernetes `Status` object as it travels (as JSON, also inside gRPC details).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireStatus {
    pub(super) kind: String,
    api_version: String,
    status: String,
    pub(super) message: String,
    pub(super) reason: Reason,
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    pub(super) details: StatusDetails,
    pub(super) code: u16,
}
