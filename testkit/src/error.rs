//! Why a process or a cluster could not be started.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot start {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("no free loopback port")]
    NoFreePort,
    #[error("{name} exited ({status}); the end of its log:\n{log_tail}")]
    Exited {
        name: String,
        status: String,
        log_tail: String,
    },
    #[error("timed out after {within:?} waiting for {what}")]
    Timeout { what: String, within: Duration },
    #[error("{0}")]
    Invalid(String),
}

impl LaunchError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> LaunchError {
        LaunchError::Io {
            what: what.into(),
            source,
        }
    }
}

/// A free loopback port outside the kernel's ephemeral range (`skiff_common::ports`).
pub fn free_port() -> Result<u16, LaunchError> {
    skiff_common::ports::free_loopback_port().ok_or(LaunchError::NoFreePort)
}
