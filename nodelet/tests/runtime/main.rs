//! Runtime-level scenarios with real processes: each module is one area of behaviour.
//! Every test kills what it started by PID when it ends (see `util::TestNode`).

mod exits;
mod logs;
mod probes;
mod recovery;
mod standins;
mod util;
