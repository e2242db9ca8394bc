//! The supervisor of a `skiff up` cluster (`skiff __supervise --dir DIR`): about once a second it starts again every component whose process is gone, with a back-off, as systemd or a kubelet would.
//!
//! It runs detached in a session of its own and is recorded in `state.json` like the
//! components. Each round it takes the [`StateLock`], reads `state.json`, and stops when the
//! file is gone or names another supervisor (`skiff down` stops it first, under the same
//! lock, so it never restarts what `skiff down` stops). A component it restarts gets the same
//! command line, log (appended), ports and data directory; its new PID, start time and
//! restart count are written back before the lock is released. What it does goes to
//! `DIR/logs/supervisor.log`.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::backoff::Backoff;
use super::lock::StateLock;
use super::procs;
use super::state::{ClusterState, SupervisorRecord};
use crate::ctx::errln;
use crate::error::CliError;

/// How often every component is checked.
pub const TICK: Duration = Duration::from_secs(1);

/// `DIR/logs/supervisor.log`.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("logs").join("supervisor.log")
}

/// Starts the supervisor of the cluster in `dir`, detached; the caller records the result in
/// `state.json`.
pub fn start(dir: &Path) -> Result<SupervisorRecord, CliError> {
    // The child is never waited for: `skiff up` exits and the supervisor lives on.
    let child = procs::spawn_supervisor(dir, &log_path(dir))?;
    let pid = child.id();
    match procs::proc_info(pid) {
        Some(info) if info.state != 'Z' => Ok(SupervisorRecord {
            pid,
            start_time: info.start_time,
        }),
        _ => Err(CliError::msg(format!(
            "the supervisor (pid {pid}) exited at once; see {}",
            log_path(dir).display()
        ))),
    }
}

/// An error's message, without the `error: ` the CLI prints before it.
fn plain(e: &CliError) -> String {
    match e {
        CliError::Msg(message) => message.clone(),
        other => other.to_string(),
    }
}

fn log(message: &str) {
    errln(&format!(
        "{} {message}",
        Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
    ));
}

/// What the supervisor knows of one component between rounds.
struct Watch {
    backoff: Backoff,
    /// When a dead component is due to start again.
    due: Option<Instant>,
}

/// Why an exit happened, when the supervisor is the parent and saw it.
fn exit_detail(status: Option<&ExitStatus>) -> String {
    match status {
        Some(s) => match (s.signal(), s.code()) {
            (Some(signal), _) => format!(" (killed by signal {signal})"),
            (None, Some(code)) => format!(" (status {code})"),
            (None, None) => String::new(),
        },
        None => String::new(),
    }
}

/// The supervisor's memory: its identity, every component's back-off, and the processes it
/// started (its children, reaped each round so none stays a zombie).
pub struct Supervisor {
    dir: PathBuf,
    me: SupervisorRecord,
    watches: BTreeMap<String, Watch>,
    children: BTreeMap<u32, Child>,
}

/// Whether the supervisor goes on.
enum Round {
    /// Sleep until this instant, then check again.
    Next(Instant),
    /// Stop, for this reason.
    Stop(String),
}

impl Supervisor {
    fn new(dir: &Path) -> Result<Supervisor, CliError> {
        let pid = std::process::id();
        let start_time = procs::proc_info(pid)
            .map(|i| i.start_time)
            .ok_or_else(|| CliError::msg("cannot read /proc/self/stat"))?;
        Ok(Supervisor {
            dir: dir.to_path_buf(),
            me: SupervisorRecord { pid, start_time },
            watches: BTreeMap::new(),
            children: BTreeMap::new(),
        })
    }

    /// Reaps the children that exited: their statuses, by PID.
    fn reap(&mut self) -> BTreeMap<u32, ExitStatus> {
        let mut exited = BTreeMap::new();
        self.children.retain(|pid, child| match child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                exited.insert(*pid, status);
                false
            }
            Err(_) => false,
        });
        exited
    }

    /// One round: check every component, start again those that are due.
    fn round(&mut self) -> Result<Round, CliError> {
        let exited = self.reap();
        let Some(_lock) = StateLock::acquire_existing(&self.dir)? else {
            return Ok(Round::Stop("the cluster's files are gone".into()));
        };
        // After the lock: waiting for it is not time a component spent waiting for its restart.
        let now = Instant::now();
        let Some(mut state) = ClusterState::load(&self.dir)? else {
            return Ok(Round::Stop("the cluster's state.json is gone".into()));
        };
        if state.supervisor != Some(self.me) {
            return Ok(Round::Stop(
                "state.json names another supervisor or none (the cluster was stopped)".into(),
            ));
        }
        let mut next = now + TICK;
        let mut started: Vec<(u32, u64)> = Vec::new();
        for c in &mut state.components {
            let (Some(pid), Some(path)) = (c.pid, c.path.clone()) else {
                // Never started (its binary was not built) or stopped: not ours to run.
                continue;
            };
            let watch = self.watches.entry(c.name.clone()).or_insert(Watch {
                backoff: Backoff::new(now),
                due: None,
            });
            // A child of ours not reaped above has not exited, even if it does not yet show
            // the component's command line (it took longer than `spawn` waits).
            if self.children.contains_key(&pid) || procs::is_running(c) {
                watch.due = None;
                continue;
            }
            let due = match watch.due {
                Some(due) => due,
                None => {
                    let delay = watch.backoff.exited(now);
                    log(&format!(
                        "{} (pid {pid}) exited{}; restarting in {}s",
                        c.name,
                        exit_detail(exited.get(&pid)),
                        delay.as_secs()
                    ));
                    *watch.due.insert(now + delay)
                }
            };
            if due > now {
                next = next.min(due);
                continue;
            }
            match procs::spawn(c, &path, &self.dir) {
                Ok(child) => {
                    let new_pid = child.id();
                    let start_time = procs::proc_info(new_pid).map(|i| i.start_time);
                    self.children.insert(new_pid, child);
                    c.pid = Some(new_pid);
                    c.start_time = start_time;
                    c.restarts = c.restarts.saturating_add(1);
                    watch.backoff.started(now);
                    watch.due = None;
                    if let Some(start_time) = start_time {
                        started.push((new_pid, start_time));
                    }
                    log(&format!(
                        "started {} again (pid {new_pid}, restart {})",
                        c.name, c.restarts
                    ));
                }
                Err(e) => {
                    let delay = watch.backoff.exited(now);
                    watch.due = Some(now + delay);
                    next = next.min(now + delay);
                    log(&format!(
                        "{}; trying again in {}s",
                        plain(&e),
                        delay.as_secs()
                    ));
                }
            }
        }
        if !started.is_empty() {
            if let Err(e) = state.save() {
                // An unrecorded process could never be stopped by `skiff down`: stop it now
                // and try again after its back-off.
                log(&format!("{}; stopping what was just started", plain(&e)));
                procs::terminate(&started, Duration::from_secs(5));
                self.reap();
            }
        }
        Ok(Round::Next(next))
    }
}

/// `skiff __supervise --dir DIR`: supervises until the cluster is stopped.
pub fn run(dir: &Path) -> Result<(), CliError> {
    let mut supervisor = Supervisor::new(dir)?;
    log(&format!(
        "supervising the skiff cluster in {} (pid {})",
        dir.display(),
        supervisor.me.pid
    ));
    loop {
        match supervisor.round() {
            Ok(Round::Next(next)) => {
                std::thread::sleep(next.saturating_duration_since(Instant::now()))
            }
            Ok(Round::Stop(why)) => {
                log(&format!("stopping: {why}"));
                return Ok(());
            }
            Err(e) => {
                // A damaged or unreadable state.json may be fixed by the next `skiff up`.
                log(&plain(&e));
                std::thread::sleep(TICK);
            }
        }
    }
}
