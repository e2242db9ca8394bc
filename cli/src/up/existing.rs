//! A second `skiff up` on a cluster that already has a `state.json`: leave a running cluster alone, start its supervisor again if that died, or start a stopped cluster afresh from its state.

use std::path::Path;

use super::procs;
use super::state::ClusterState;
use super::supervise;
use crate::ctx::{errln, outln};
use crate::error::CliError;

fn down_flag(dir: &Path, is_default: bool) -> String {
    if is_default {
        String::new()
    } else {
        format!(" --dir {}", dir.display())
    }
}

/// Decides what a second `skiff up` does with `existing` (called under the state lock).
/// `None`: the cluster runs (nothing else to do); `Some(state)`: none of its processes runs,
/// and `state` (with no PIDs) is to be started.
pub fn resume(
    mut existing: ClusterState,
    is_default: bool,
    nodes: usize,
) -> Result<Option<ClusterState>, CliError> {
    let dir = existing.dir.clone();
    let stop_with = down_flag(&dir, is_default);
    let started: Vec<&str> = existing
        .components
        .iter()
        .filter(|c| c.pid.is_some())
        .map(|c| c.name.as_str())
        .collect();
    let stopped: Vec<&str> = existing
        .components
        .iter()
        .filter(|c| c.pid.is_some() && !procs::is_running(c))
        .map(|c| c.name.as_str())
        .collect();
    let running = started.len() - stopped.len();
    let supervisor = existing.supervisor.filter(procs::supervisor_running);
    if let Some(supervisor) = supervisor.filter(|_| !started.is_empty()) {
        if stopped.is_empty() {
            outln(&format!(
                "A skiff cluster is already running in {} ({running} processes, supervisor pid {}); nothing changed.\nStop it with: skiff down{stop_with}",
                dir.display(),
                supervisor.pid
            ));
        } else {
            outln(&format!(
                "A skiff cluster is already running in {}; its supervisor (pid {}) is starting again: {}. Nothing changed; see {}",
                dir.display(),
                supervisor.pid,
                stopped.join(", "),
                supervise::log_path(&dir).display()
            ));
        }
        return Ok(None);
    }
    if running > 0 {
        // The components run (or some do) but nothing would restart them: the supervisor
        // goes back to work, and it restarts the stopped ones.
        let record = supervise::start(&dir)?;
        existing.supervisor = Some(record);
        existing.save()?;
        let what = if stopped.is_empty() {
            format!("({running} processes)")
        } else {
            format!(
                "({running} processes; stopped, to be started again by the supervisor: {})",
                stopped.join(", ")
            )
        };
        outln(&format!(
            "A skiff cluster is already running in {} {what}.\nIts supervisor was not running: started it again (pid {}).\nStop it with: skiff down{stop_with}",
            dir.display(),
            record.pid
        ));
        return Ok(None);
    }
    if existing.nodes.len() != nodes {
        errln(&format!(
            "warning: restarting the existing cluster in {} with its {} node(s); `skiff down --purge` starts afresh with --nodes",
            dir.display(),
            existing.nodes.len()
        ));
    }
    // A supervisor left alone with nothing to supervise stops by itself once `skiff up`
    // records the new one.
    existing.clear_processes();
    Ok(Some(existing))
}
