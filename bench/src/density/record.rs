//! One density run as a JSON line, so runs at several sizes (and on both stores) can be
//! collected in one file and drawn by `skiff-bench density-plot`.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::BenchError;

/// The figures of one run that the plot and BENCHMARKS.md compare across sizes.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// When the run ended, RFC 3339.
    pub finished: String,
    pub store: String,
    pub pods: usize,
    pub nodes: usize,
    pub rate: f64,
    pub all_running_s: f64,
    pub startup_p50_ms: f64,
    pub startup_p90_ms: f64,
    pub startup_p99_ms: f64,
    /// API call -> p99 in milliseconds.
    pub api_p99_ms: std::collections::BTreeMap<String, f64>,
    /// Component -> resident memory in MB when every pod ran.
    pub rss_mb: std::collections::BTreeMap<String, f64>,
    /// Store members, apiserver, controller-manager and scheduler together.
    pub control_plane_mb: f64,
    pub db_mb: Option<f64>,
    pub gc_s: f64,
}

/// Appends `record` to the JSON-lines file at `path`.
pub fn append(path: &Path, record: &RunRecord) -> Result<(), BenchError> {
    let line = serde_json::to_string(record)
        .map_err(|e| BenchError::Invalid(format!("encoding the run record: {e}")))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| BenchError::Invalid(format!("{}: {e}", path.display())))?;
    writeln!(file, "{line}").map_err(|e| BenchError::Invalid(format!("{}: {e}", path.display())))
}

/// Every record of a JSON-lines file; a bad line is an error naming its line number.
pub fn read_all(path: &Path) -> Result<Vec<RunRecord>, BenchError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BenchError::Invalid(format!("{}: {e}", path.display())))?;
    parse_lines(&text).map_err(|e| BenchError::Invalid(format!("{}:{e}", path.display())))
}

fn parse_lines(text: &str) -> Result<Vec<RunRecord>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("{}: {e}", i + 1)))
        .collect()
}

/// A run with every figure set, for tests of what reads records.
#[cfg(test)]
pub fn sample(store: &str, pods: usize, finished: &str, startup_p99_ms: f64) -> RunRecord {
    RunRecord {
        finished: finished.into(),
        store: store.into(),
        pods,
        nodes: pods / 100,
        rate: 100.0,
        all_running_s: 10.0,
        startup_p50_ms: 120.0,
        startup_p90_ms: 300.0,
        startup_p99_ms,
        api_p99_ms: [("create rc".to_string(), 11.3)].into(),
        rss_mb: [("apiserver".to_string(), 39.0)].into(),
        control_plane_mb: pods as f64 / 10.0,
        db_mb: Some(26.8),
        gc_s: 5.2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pods: usize) -> RunRecord {
        super::sample("skiff", pods, "2026-12-04T15:00:00Z", 480.0)
    }

    #[test]
    fn records_round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.jsonl");
        append(&path, &sample(1000)).unwrap();
        append(&path, &sample(3000)).unwrap();
        assert_eq!(read_all(&path).unwrap(), vec![sample(1000), sample(3000)]);
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let good = serde_json::to_string(&sample(1000)).unwrap();
        let err = parse_lines(&format!("{good}\n\n{{\"pods\": 3}}\n")).unwrap_err();
        assert!(err.starts_with("3: missing field"), "{err}");
    }
}
