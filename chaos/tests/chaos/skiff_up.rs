//! CI's chaos run: `skiff up` (TLS, its default) in a temporary directory, then `skiff-chaos run` for 75s with kills and pauses of every component kind (store leader and follower, apiserver, controller-manager, scheduler, nodelet, container supervisor); every checker must be green.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skiff_chaos::faults::FaultRecord;
use skiff_chaos::history::read_jsonl;
use skiff_chaos::report::Report;
use skiff_cli::up::procs;
use skiff_cli::up::state::ClusterState;

use crate::step;

/// A `skiff up` cluster in a temporary directory; stopped (and every recorded PID killed)
/// when dropped, even when the test fails.
struct Up {
    dir: PathBuf,
    home: tempfile::TempDir,
    _root: tempfile::TempDir,
}

fn skiff() -> PathBuf {
    skiff_testkit::binary::binary("skiff")
}

impl Up {
    fn start() -> Up {
        let root = tempfile::tempdir().expect("temp dir");
        let home = tempfile::tempdir().expect("temp home");
        let dir = root.path().join("cluster");
        let up = Up {
            dir: dir.clone(),
            home,
            _root: root,
        };
        let out = Command::new(skiff())
            .args([
                "up",
                "--dir",
                &dir.display().to_string(),
                "--timeout",
                "120s",
            ])
            .env("HOME", up.home.path())
            .stdin(Stdio::null())
            .output()
            .expect("run skiff up");
        assert!(
            out.status.success(),
            "skiff up failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        up
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new(skiff())
            .args(["down", "--dir", &self.dir.display().to_string()])
            .env("HOME", self.home.path())
            .stdin(Stdio::null())
            .output();
        // Whatever skiff down missed (it stops what state.json records).
        if let Ok(Some(state)) = ClusterState::load(&self.dir) {
            let left: Vec<(u32, u64)> = state
                .components
                .iter()
                .filter_map(|c| Some((c.pid?, c.start_time?)))
                .collect();
            procs::terminate(&left, Duration::from_secs(2));
        }
    }
}

fn dump_logs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir.join("logs")) {
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            eprintln!("--- {}", e.path().display());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

#[test]
fn a_75s_run_with_kills_and_pauses_of_every_component_is_green() {
    step("skiff up");
    let up = Up::start();
    let out = up.dir.join("chaos-out");
    step("skiff-chaos run: 75s of kills and pauses");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_skiff-chaos"))
        .args(["run", "--dir", &up.dir.display().to_string()])
        .args([
            "--duration",
            "75s",
            "--seed",
            "11",
            "--faults",
            "kill,pause",
        ])
        .args([
            "--interval",
            "4s",
            "--max-hold",
            "1500ms",
            "--converge-within",
            "120s",
        ])
        .args(["--out", &out.display().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run skiff-chaos");
    let deadline = started + Duration::from_secs(480);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for skiff-chaos") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            dump_logs(&up.dir);
            panic!("skiff-chaos did not finish within 8 minutes");
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stdout);
    }
    eprintln!("{stdout}");
    let report: Report = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("a report");
    if !status.success() {
        dump_logs(&up.dir);
    }
    assert!(
        status.success(),
        "anomalies or an error: {status:?}\n{stdout}"
    );
    assert!(report.valid());
    let checkers: Vec<&str> = report.verdicts.iter().map(|v| v.checker.as_str()).collect();
    assert_eq!(
        checkers,
        [
            "linearizability (store registers)",
            "watches (gaps, repeats, order)",
            "read-modify-write (lost updates)",
            "controller invariants",
            "convergence",
        ],
        "every checker gave a verdict: {report:#?}"
    );

    step("every kind of component was killed and paused");
    let log: Vec<FaultRecord> = read_jsonl(&out.join("faults.jsonl")).expect("faults.jsonl");
    let hit: BTreeSet<String> = log
        .iter()
        .filter(|f| f.action == "inject" && !f.detail.starts_with("failed"))
        .map(|f| format!("{:?} {:?}", f.kind, f.role))
        .collect();
    for kind in ["Kill", "Pause"] {
        for role in [
            "StoreLeader",
            "StoreFollower",
            "Apiserver",
            "ControllerManagerLeader",
            "SchedulerLeader",
            "Nodelet",
            "ContainerSupervisor",
        ] {
            assert!(
                hit.contains(&format!("{kind} {role}")),
                "no {kind} of {role}: {hit:#?}"
            );
        }
    }
    assert!(
        report.ops.get("store read ok").copied().unwrap_or(0) > 100,
        "{report:#?}"
    );
    assert!(
        report.ops.get("rmw update ok").copied().unwrap_or(0) > 10,
        "{report:#?}"
    );

    step("the saved histories check again, alone");
    let replay = Command::new(env!("CARGO_BIN_EXE_skiff-chaos"))
        .args(["check", "--out", &out.display().to_string()])
        .output()
        .expect("run skiff-chaos check");
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stdout)
    );
}
