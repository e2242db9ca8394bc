//! The one error type of skiff-chaos: a message for the operator.

/// Something that stops a chaos run (not an anomaly: those are verdicts).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("{0}")]
    Msg(String),
}

impl ChaosError {
    pub fn msg(message: impl Into<String>) -> ChaosError {
        ChaosError::Msg(message.into())
    }
}

impl From<crate::history::HistoryError> for ChaosError {
    fn from(e: crate::history::HistoryError) -> ChaosError {
        ChaosError::Msg(e.to_string())
    }
}
