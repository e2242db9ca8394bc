//! A full cluster for the history and trace scenarios, and the `skiff` command line run against it.

use std::process::{Command, Stdio};
use std::time::Duration;

use skiff_api::types::Pod;
use skiff_client::{Client, ListOptions};
use skiff_testkit::cluster::{ADMIN_TOKEN, FAST_LEADER_ELECTION};
use skiff_testkit::{step, wait_for, ClusterSpec, NodeletSpec, TestCluster};

pub const WITHIN: Duration = Duration::from_secs(60);

/// Store x3, apiserver, scheduler, controller-manager, nodes n1 and n2 (real processes).
pub async fn cluster() -> (TestCluster, Client) {
    let fast: Vec<String> = FAST_LEADER_ELECTION.iter().map(|s| s.to_string()).collect();
    let spec = ClusterSpec {
        schedulers: 1,
        controller_managers: 1,
        nodelets: vec![NodeletSpec::new("n1"), NodeletSpec::new("n2")],
        scheduler_args: fast.clone(),
        controller_manager_args: fast,
        nodelet_args: vec!["--heartbeat-interval".into(), "1s".into()],
        ..ClusterSpec::default()
    };
    step("start a cluster: store x3, apiserver, scheduler, controller-manager, n1, n2");
    let tc = TestCluster::start(spec).await;
    let admin = tc.admin_client();
    (tc, admin)
}

/// What one `skiff` run printed.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `skiff ARGS` as the admin against the cluster's apiserver.
pub fn skiff(tc: &TestCluster, args: &[&str]) -> Run {
    let home = tc.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home dir");
    let mut command = Command::new(skiff_testkit::binary::binary("skiff"));
    command
        .args(args)
        .args([
            "--server",
            &tc.apiserver_endpoints()[0],
            "--token",
            ADMIN_TOKEN,
        ])
        .env_remove("SKIFF_CONFIG")
        .env("HOME", &home)
        .stdin(Stdio::null());
    if let Some(pki) = tc.pki() {
        command.arg("--certificate-authority").arg(pki.ca_cert());
    }
    let out = command.output().expect("run skiff");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// `skiff ARGS`, which must succeed; its stdout.
pub fn skiff_ok(tc: &TestCluster, args: &[&str]) -> String {
    let run = skiff(tc, args);
    assert!(
        run.ok,
        "skiff {args:?} failed: {}{}",
        run.stdout, run.stderr
    );
    run.stdout
}

/// The running pods of `default` with label app=`app`, once there are `count` of them.
pub async fn running(admin: &Client, app: &str, count: usize) -> Vec<Pod> {
    wait_for(&format!("{count} running {app} pods"), WITHIN, || async {
        let pods = admin
            .list::<Pod>(Some("default"), &ListOptions::labels(format!("app={app}")))
            .await
            .ok()?
            .items;
        let up: Vec<Pod> = pods
            .into_iter()
            .filter(|p| p.status.phase == "Running" && p.metadata.deletion_timestamp.is_none())
            .collect();
        (up.len() == count).then_some(up)
    })
    .await
}

/// One revision of `skiff history`'s output: its row, split in columns, and its diff lines.
#[derive(Debug)]
pub struct Block {
    pub revision: i64,
    pub writer: String,
    pub change: String,
    pub diffs: Vec<String>,
}

/// Parses `skiff history` output (the header and a compaction note are skipped).
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in text.lines() {
        if let Some(diff) = line.strip_prefix("    ") {
            out.last_mut()
                .expect("a diff line after a revision row")
                .diffs
                .push(diff.to_string());
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some(revision) = cols.first().and_then(|c| c.parse().ok()) else {
            continue;
        };
        out.push(Block {
            revision,
            writer: cols.get(2).unwrap_or(&"").to_string(),
            change: cols[3.min(cols.len())..].join(" "),
            diffs: Vec::new(),
        });
    }
    out
}
