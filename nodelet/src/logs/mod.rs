//! Container log files: the capped writer a supervisor uses, and reading them whole, by
//! tail, or following new output.
//!
//! Every container instance has its own log (`log`, plus `log.1` after rotation) in its
//! state directory; the runtime keeps the current and the previous instance of each
//! container, which is what `logs` and `logs --previous` read. Every line is stored after
//! the time it was written (`stamp`), which readers drop unless asked for it.

mod follow;
mod reader;
mod stamp;
mod writer;

pub use follow::LogFollower;
pub use reader::{read_log, tail_lines};
pub use stamp::{Unstamp, STAMP_LEN};
pub use writer::{rotated_path, LogWriter};

/// Which log of a container to read, and how much of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Read the instance before the current one (`logs --previous`).
    pub previous: bool,
    /// Only the last N lines (`logs --tail N`).
    pub tail_lines: Option<usize>,
    /// Keep each line's write time in front of it (`logs --timestamps`).
    pub timestamps: bool,
}
