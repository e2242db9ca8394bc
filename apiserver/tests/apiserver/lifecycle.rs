//! Process lifecycle: SIGTERM drains (open watches end, the process exits cleanly); flags and the token file are checked at start.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_watches_and_exits_cleanly() {
    let mut cluster = Cluster::start(1, &[]).await;
    let mut c = cluster.apiservers[0].client(ADMIN).await;
    let mut w = watch(&mut c, "pods", "", "", "", false).await;
    step("SIGTERM with an open watch");
    cluster.signal_apiserver(0, rustix::process::Signal::TERM);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match w.message().await {
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch ends on shutdown");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = cluster.try_wait_apiserver(0) {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the apiserver exits after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(cluster.apiservers[0]
        .log()
        .contains("skiff-apiserver stopped"));
}

#[test]
fn bad_flags_and_token_files_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "t1,alice,1,\"system:masters\"\nt2,bob\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_skiff-apiserver"))
        .args(["--listen", "127.0.0.1:0", "--token-file"])
        .arg(&tokens)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2: must have at least 3 columns"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_skiff-apiserver"))
        .args([
            "--token-file",
            "/nonexistent/tokens.csv",
            "--log-format",
            "xml",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-format must be text or json"));
    let help = Command::new(env!("CARGO_BIN_EXE_skiff-apiserver"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--store-endpoints",
        "--token-file",
        "--metrics-listen",
        "--event-ttl",
        "--log-format",
    ] {
        assert!(help.contains(flag), "--help documents {flag}");
    }
}
