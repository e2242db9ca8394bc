//! The CLI's errors and how they are printed: kubectl's wording, exit status 1.

use skiff_api::error::{ApiError, Reason};

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error the apiserver returned: printed as kubectl does
    /// (`Error from server (NotFound): pods "x" not found`).
    #[error("{}", kubectl_line(.0))]
    Api(#[from] ApiError),
    /// A problem found by the CLI itself: printed as `error: <message>`.
    #[error("error: {0}")]
    Msg(String),
    /// A message already in its final wording.
    #[error("{0}")]
    Raw(String),
    /// The details were printed while the command ran (one line per failed object, as kubectl
    /// does for several manifests); only the exit status is left to give.
    #[error("")]
    AlreadyReported,
    /// The command ran inside a container (`exec`) and exited with this status, which
    /// becomes skiff's own (kubectl prints `command terminated with exit code N`).
    #[error("command terminated with exit code {0}")]
    Exit(i32),
}

impl CliError {
    pub fn msg(message: impl Into<String>) -> CliError {
        CliError::Msg(message.into())
    }
}

/// kubectl's line for an API error; an apiserver that cannot be reached at all gets kubectl's
/// "connection refused" wording, with the client's detail after it.
pub fn kubectl_line(error: &ApiError) -> String {
    if error.reason == Reason::ServiceUnavailable
        && error.message.starts_with("no apiserver answered")
    {
        return format!(
            "The connection to the server was refused - did you specify the right host or port? ({})",
            error.message
        );
    }
    error.to_kubectl_string()
}

/// `error: the server doesn't have a resource type "foo"`: the kind registry's message is
/// longer (it lists the known types), kubectl's first sentence comes first.
pub fn unknown_resource(error: ApiError) -> CliError {
    CliError::Msg(error.message)
}

/// An API error about one object of a manifest file, worded as kubectl does:
/// `Error from server (AlreadyExists): error when creating "rc.yaml": replicationcontrollers "crane" already exists`.
/// Invalid objects keep kubectl's `The Pod "x" is invalid: ...` form, which names the field.
pub fn with_file_context(error: &ApiError, verb: &str, file: &str) -> String {
    match error.reason {
        Reason::Invalid if !error.details.causes.is_empty() => error.to_kubectl_string(),
        Reason::Unauthorized => error.to_kubectl_string(),
        reason => format!(
            "Error from server ({reason}): error when {verb} {file:?}: {}",
            error.message
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_read_like_kubectl() {
        let e = CliError::from(ApiError::not_found("pods", "x"));
        assert_eq!(
            e.to_string(),
            r#"Error from server (NotFound): pods "x" not found"#
        );
        assert_eq!(CliError::msg("boom").to_string(), "error: boom");
        let exists = ApiError::already_exists("replicationcontrollers", "crane");
        assert_eq!(
            with_file_context(&exists, "creating", "rc.yaml"),
            r#"Error from server (AlreadyExists): error when creating "rc.yaml": replicationcontrollers "crane" already exists"#
        );
        let invalid = ApiError::invalid(
            "Pod",
            "p",
            vec![skiff_api::error::Cause::required("spec.containers", "")],
        );
        assert_eq!(
            with_file_context(&invalid, "creating", "p.yaml"),
            r#"The Pod "p" is invalid: spec.containers: Required value"#
        );
    }
}
