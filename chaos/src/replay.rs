//! The files of a run's `--out DIR` and checking them again without a cluster (`skiff-chaos check --out DIR`).

use std::path::{Path, PathBuf};

use crate::check::{self, controllers::ControllerEvidence, Verdict};
use crate::history::{self, HistoryError};

/// The store clients' register history (`history::Event` lines).
pub const STORE_HISTORY: &str = "store-history.jsonl";
/// The store's own events of the watched kinds (`check::watch::StoreEvent` lines).
pub const WATCH_TRUTH: &str = "watch-truth.jsonl";
/// What every apiserver watcher saw (`check::watch::WatchRecord` lines).
pub const WATCHES: &str = "watches.jsonl";
/// Read-modify-write updates (`check::rmw::RmwOp` lines) and the objects read back after.
pub const RMW: &str = "rmw.jsonl";
pub const RMW_FINAL: &str = "rmw-final.jsonl";
/// The cluster after convergence plus what watches saw (`ControllerEvidence`, one JSON).
pub const CONTROLLERS: &str = "controllers.json";
/// Every fault injected (`faults::FaultRecord` lines).
pub const FAULTS: &str = "faults.jsonl";
/// The run's report (JSON).
pub const REPORT: &str = "report.json";

fn file(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = dir.join(name);
    path.exists().then_some(path)
}

/// Runs every checker whose histories are in `dir`. A directory holding none is an error.
pub fn check_dir(dir: &Path) -> Result<Vec<Verdict>, HistoryError> {
    let mut verdicts = Vec::new();
    if let Some(path) = file(dir, STORE_HISTORY) {
        let events: Vec<history::Event> = history::read_jsonl(&path)?;
        verdicts.push(check::register::check(&history::operations(&events)?));
    }
    if let (Some(truth), Some(watches)) = (file(dir, WATCH_TRUTH), file(dir, WATCHES)) {
        verdicts.push(check::watch::check(
            &history::read_jsonl(&truth)?,
            &history::read_jsonl(&watches)?,
        ));
    }
    if let (Some(ops), Some(finals)) = (file(dir, RMW), file(dir, RMW_FINAL)) {
        verdicts.push(check::rmw::check(
            &history::read_jsonl(&ops)?,
            &history::read_jsonl(&finals)?,
        ));
    }
    if let Some(path) = file(dir, CONTROLLERS) {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| HistoryError::Io(format!("cannot read {}: {e}", path.display())))?;
        let evidence: ControllerEvidence =
            serde_json::from_str(&text).map_err(|e| HistoryError::Parse {
                line: e.line(),
                message: format!("{}: {e}", path.display()),
            })?;
        verdicts.push(check::controllers::check(&evidence));
    }
    if verdicts.is_empty() {
        return Err(HistoryError::Io(format!(
            "{} holds no history ({STORE_HISTORY}, {WATCHES}, {RMW}, {CONTROLLERS})",
            dir.display()
        )));
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventType, Func};

    #[test]
    fn a_saved_stale_read_is_found_again_from_the_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            check_dir(dir.path()).is_err(),
            "an empty directory is an error"
        );
        let mut events = Vec::new();
        for (p, f, v, t) in [
            (1, Func::Write, "a", 0),
            (1, Func::Write, "b", 10),
            (2, Func::Read, "a", 20),
        ] {
            let mut inv = Event::invoke(p, f, "k", t);
            if f == Func::Write {
                inv.value = Some(v.into());
            }
            let mut ok = inv.complete(EventType::Ok, t + 5);
            ok.value = Some(v.into());
            events.extend([inv, ok]);
        }
        history::write_jsonl(&dir.path().join(STORE_HISTORY), &events).unwrap();
        let verdicts = check_dir(dir.path()).unwrap();
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].label(), "INVALID", "{verdicts:#?}");
        assert_eq!(verdicts[0].first[0].evidence.len(), 3, "{verdicts:#?}");
    }
}
