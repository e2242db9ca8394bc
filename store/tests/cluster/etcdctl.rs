//! The real etcd client (etcdctl, API v3) against skiff-store.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::util::*;

pub fn etcdctl(endpoints: &str, args: &[&str]) -> Output {
    Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(["--command-timeout=10s", "--dial-timeout=3s"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("etcdctl must be installed (Debian package etcd-client)")
}

pub fn ok(endpoints: &str, args: &[&str]) -> String {
    let out = etcdctl(endpoints, args);
    assert!(
        out.status.success(),
        "etcdctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcdctl_works_against_skiff_store() {
    let cluster = start(3, &[]).await;
    let ep = cluster.members()[1].client_url();
    let all = cluster
        .members()
        .iter()
        .map(|m| m.client_url())
        .collect::<Vec<_>>()
        .join(",");

    step("put, get --prefix, del");
    assert_eq!(ok(&ep, &["put", "/app/a", "1"]), "OK\n");
    assert_eq!(ok(&ep, &["put", "/app/b", "2"]), "OK\n");
    assert_eq!(
        ok(&ep, &["get", "--prefix", "/app/"]),
        "/app/a\n1\n/app/b\n2\n"
    );
    assert_eq!(
        ok(&ep, &["get", "--prefix", "--keys-only", "/app/"]),
        "/app/a\n\n/app/b\n\n"
    );
    assert_eq!(ok(&ep, &["del", "/app/a"]), "1\n");
    assert_eq!(ok(&ep, &["get", "/app/a"]), "");

    step("txn");
    let mut child = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={ep}"))
        .args(["txn"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etcdctl");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"value(\"/app/b\") = \"2\"\n\nput /app/c 3\n\nput /app/c 4\n\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "SUCCESS\n\nOK\n");
    assert_eq!(ok(&ep, &["get", "/app/c", "--print-value-only"]), "3\n");

    step("watch sees a put made through another member");
    let watcher = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={ep}"))
        .args(["watch", "/app/w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("etcdctl watch");
    let watcher = KillOnDrop(watcher);
    tokio::time::sleep(Duration::from_millis(700)).await;
    ok(
        &cluster.members()[2].client_url(),
        &["put", "/app/w", "hello"],
    );
    let out = read_some(watcher, 3, Duration::from_secs(5));
    assert_eq!(out, "PUT\n/app/w\nhello\n");

    step("lease grant, put --lease, keep-alive --once, timetolive, revoke");
    let granted = ok(&ep, &["lease", "grant", "30"]);
    let id = granted
        .split_whitespace()
        .nth(1)
        .expect("lease id")
        .to_string();
    assert!(granted.ends_with("granted with TTL(30s)\n"), "{granted}");
    assert_eq!(
        ok(&ep, &["put", "--lease", &id, "/app/leased", "v"]),
        "OK\n"
    );
    let kept = ok(
        &cluster.members()[0].client_url(),
        &["lease", "keep-alive", "--once", &id],
    );
    assert_eq!(kept, format!("lease {id} keepalived with TTL(30)\n"));
    let ttl = ok(&ep, &["lease", "timetolive", "--keys", &id]);
    assert!(
        ttl.contains("granted with TTL(30s)") && ttl.contains("attached keys([/app/leased])"),
        "{ttl}"
    );
    assert!(ok(&ep, &["lease", "list"]).contains(&id));
    assert_eq!(
        ok(&ep, &["lease", "revoke", &id]),
        format!("lease {id} revoked\n")
    );
    assert_eq!(ok(&ep, &["get", "/app/leased"]), "");

    step("member list and endpoint status");
    let members = ok(&ep, &["member", "list"]);
    for m in cluster.members() {
        assert!(
            members.contains(&format!(
                ", started, {}, http://127.0.0.1:{}, {},",
                m.name,
                m.peer_port,
                m.client_url()
            )),
            "{members}"
        );
    }
    let status = ok(&all, &["endpoint", "status"]);
    assert_eq!(status.lines().count(), 3, "{status}");
    assert_eq!(
        status.matches(", true, false,").count(),
        1,
        "exactly one leader expected:\n{status}"
    );
    let health = etcdctl(&all, &["endpoint", "health"]);
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_deletes_its_keys() {
    let cluster = start(3, &[]).await;
    let ep = cluster.members()[0].client_url();
    let granted = ok(&ep, &["lease", "grant", "2"]);
    let id = granted
        .split_whitespace()
        .nth(1)
        .expect("lease id")
        .to_string();
    ok(&ep, &["put", "--lease", &id, "/exp/a", "1"]);
    ok(&ep, &["put", "--lease", &id, "/exp/b", "2"]);
    assert_eq!(
        ok(&ep, &["get", "--prefix", "--keys-only", "/exp/"]),
        "/exp/a\n\n/exp/b\n\n"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    while !ok(&ep, &["get", "--prefix", "/exp/"]).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "leased keys still there 8 s after a 2 s lease"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok(&ep, &["lease", "timetolive", &id]).contains("already expired"));
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads `lines` lines of the child's stdout within `within`, then kills it.
fn read_some(mut child: KillOnDrop, lines: usize, within: Duration) -> String {
    use std::io::BufRead;
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut out = String::new();
        for _ in 0..lines {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            out.push_str(&line);
        }
        let _ = tx.send(out);
    });
    let out = rx.recv_timeout(within).unwrap_or_default();
    drop(child);
    out
}
