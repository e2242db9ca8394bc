//! `skiff down`: stops what `skiff up` started (SIGTERM, then SIGKILL), the supervisor first and the nodes' containers last, and with `--purge` deletes the cluster's files.

use std::path::Path;
use std::time::Duration;

use super::default_dir;
use super::lock::StateLock;
use super::procs;
use super::state::{state_path, ClusterState};
use crate::args::DownArgs;
use crate::config::{skiff_home, ClientFile};
use crate::ctx::{errln, outln};
use crate::error::CliError;

/// How long each group of components gets to stop after SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

/// Components stop in the reverse order of their start: nodes first (they still reach the
/// apiserver while stopping), the store last.
const ORDER: [&str; 5] = [
    "skiff-nodelet",
    "skiff-scheduler",
    "skiff-controller-manager",
    "skiff-apiserver",
    "skiff-store",
];

pub fn down(args: &DownArgs) -> Result<(), CliError> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => default_dir()?,
    };
    let nothing = |dir: &Path| {
        outln(&format!(
            "No skiff cluster in {}; nothing to stop.",
            dir.display()
        ));
        if args.purge {
            purge(dir)?;
        }
        Ok(())
    };
    if !dir.exists() {
        return nothing(&dir);
    }
    let dir = std::fs::canonicalize(&dir)
        .map_err(|e| CliError::msg(format!("cannot resolve {}: {e}", dir.display())))?;
    // No lock file is created where no cluster is.
    if !state_path(&dir).exists() {
        return nothing(&dir);
    }
    // Held to the end: the supervisor cannot restart anything meanwhile, nor can a
    // `skiff up` start anything.
    let _lock = StateLock::acquire(&dir, || {
        errln(&format!(
            "waiting for another skiff command working on {}...",
            dir.display()
        ))
    })?;
    let Some(mut state) = ClusterState::load(&dir)? else {
        return nothing(&dir);
    };
    // The supervisor first, so that it does not start again what is being stopped.
    let supervisor = state.supervisor.filter(procs::supervisor_running);
    let mut stuck = Vec::new();
    if let Some(s) = supervisor {
        stuck.extend(procs::terminate(&[(s.pid, s.start_time)], GRACE));
    }
    let running: Vec<(String, u32, u64)> = state
        .components
        .iter()
        .filter(|c| procs::is_running(c))
        .filter_map(|c| Some((c.name.clone(), c.pid?, c.start_time?)))
        .collect();
    let sessions: Vec<i32> = running
        .iter()
        .map(|(_, pid, _)| pid)
        .chain(supervisor.as_ref().map(|s| &s.pid))
        .filter_map(|pid| i32::try_from(*pid).ok())
        .collect();
    for program in ORDER {
        let group: Vec<(u32, u64)> = state
            .components
            .iter()
            .filter(|c| c.program == program)
            .filter_map(|c| running.iter().find(|(n, _, _)| *n == c.name))
            .map(|(_, pid, start)| (*pid, *start))
            .collect();
        stuck.extend(procs::terminate(&group, GRACE));
    }
    // Containers outlive their nodelet on purpose (a restarted nodelet adopts them); here the
    // whole cluster goes, so they go too, with anything else left in the components' sessions.
    let left = procs::leftovers(&dir.join("data"), &sessions);
    let containers = left.len();
    stuck.extend(procs::terminate(&left, Duration::from_secs(2)));
    // Then what the nodes' pod sandboxes made: veths, bridges, routes, rules, cgroups.
    teardown_sandboxes(&dir.join("data"));
    state.clear_processes();
    state.save()?;
    if !stuck.is_empty() {
        return Err(CliError::msg(format!(
            "could not stop these processes: {:?}",
            stuck
        )));
    }
    if running.is_empty() && supervisor.is_none() {
        outln(&format!(
            "The skiff cluster in {} was not running.",
            dir.display()
        ));
    } else {
        let list: Vec<String> = running
            .iter()
            .map(|(n, pid, _)| format!("{n} (pid {pid})"))
            .chain(supervisor.map(|s| format!("supervisor (pid {})", s.pid)))
            .collect();
        outln(&format!("Stopped {}", list.join(", ")));
        if containers > 0 {
            outln(&format!(
                "Stopped {containers} container process(es) left by the nodes"
            ));
        }
    }
    if args.purge {
        purge(&dir)?;
        outln(&format!("Deleted the cluster's data in {}", dir.display()));
    } else {
        outln(&format!(
            "The data stays in {} for the next `skiff up`; `skiff down --purge` deletes it.",
            dir.display()
        ));
    }
    Ok(())
}

/// Runs `skiff-nodelet teardown` for every node's data dir that has sandboxes.
fn teardown_sandboxes(data: &Path) {
    let Ok(bin_dir) = procs::binary_dir() else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(data) else {
        return;
    };
    for entry in entries.flatten() {
        let node_dir = entry.path();
        if !node_dir.join("sandboxes").is_dir() {
            continue;
        }
        let status = std::process::Command::new(bin_dir.join("skiff-nodelet"))
            .arg("teardown")
            .arg("--data-dir")
            .arg(&node_dir)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            errln(&format!(
                "could not remove the pod network of {}: {status:?}",
                node_dir.display()
            ));
        }
    }
}

/// Deletes what `skiff up` wrote in `dir`, and `~/.skiff/config` if it points at this cluster.
fn purge(dir: &Path) -> Result<(), CliError> {
    let remove = |path: std::path::PathBuf| -> Result<(), CliError> {
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CliError::msg(format!(
                "cannot delete {}: {e}",
                path.display()
            ))),
        }
    };
    let home_config = skiff_home()?.join("config");
    if let Ok(file) = ClientFile::load(&home_config) {
        if file.cluster_dir.as_deref() == Some(dir) {
            remove(home_config)?;
        }
    }
    for name in [
        "data",
        "logs",
        "tokens.csv",
        "pki",
        "config",
        "pki",
        "kubeconfig",
        "state.json",
        "state.lock",
    ] {
        remove(dir.join(name))?;
    }
    // A writer killed between writing and renaming its new state leaves its temporary file.
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".state.json.") && name.ends_with(".tmp") {
            remove(entry.path())?;
        }
    }
    // The directory itself goes if nothing else was put in it.
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none()) {
        let _ = std::fs::remove_dir(dir);
    }
    if let Some(stale) = std::fs::read_dir(dir).ok().and_then(|mut d| d.next()) {
        errln(&format!(
            "note: {} was kept: it holds files skiff did not write (such as {:?})",
            dir.display(),
            stale.ok().map(|e| e.file_name()).unwrap_or_default()
        ));
    }
    Ok(())
}
