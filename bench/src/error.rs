//! The errors a benchmark run can end with.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid endpoint {url:?}: {reason}")]
    Endpoint { url: String, reason: String },
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("{what} failed: {status}")]
    Rpc {
        what: String,
        #[source]
        status: Box<tonic::Status>,
    },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("member {name} exited ({status}); last log lines:\n{log_tail}")]
    MemberExited {
        name: String,
        status: String,
        log_tail: String,
    },
    #[error("timed out after {secs:.1} s waiting for {what}")]
    Timeout { what: String, secs: f64 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("no free loopback port below the kernel's ephemeral range")]
    NoFreePort,
    #[error(transparent)]
    Apiserver(#[from] crate::apiserver::ApiserverBenchError),
    #[error(transparent)]
    Rest(#[from] crate::rest::RestBenchError),
    #[error(transparent)]
    Scheduler(#[from] crate::scheduler::SchedulerBenchError),
    #[error("apiserver: {0}")]
    Api(#[from] skiff_api::error::ApiError),
}

impl BenchError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BenchError::Io {
            context: context.into(),
            source,
        }
    }

    pub fn rpc(what: impl Into<String>, status: tonic::Status) -> Self {
        BenchError::Rpc {
            what: what.into(),
            status: Box::new(status),
        }
    }

    pub fn timeout(what: impl Into<String>, after: std::time::Duration) -> Self {
        BenchError::Timeout {
            what: what.into(),
            secs: after.as_secs_f64(),
        }
    }
}

impl From<skiff_testkit::LaunchError> for BenchError {
    fn from(e: skiff_testkit::LaunchError) -> Self {
        use skiff_testkit::LaunchError as L;
        match e {
            L::Spawn { program, source } => BenchError::Spawn {
                binary: program,
                source,
            },
            L::Io { what, source } => BenchError::Io {
                context: what,
                source,
            },
            L::NoFreePort => BenchError::NoFreePort,
            L::Exited {
                name,
                status,
                log_tail,
            } => BenchError::MemberExited {
                name,
                status,
                log_tail,
            },
            L::Timeout { what, within } => BenchError::timeout(what, within),
            L::Invalid(why) => BenchError::Invalid(why),
        }
    }
}
