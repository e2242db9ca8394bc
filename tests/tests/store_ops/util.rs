//! A cluster started by the real `skiff up` (TLS, the default) in a temporary directory,
//! `skiff` and etcdctl pointed at it, and `skiff down` plus a kill of every recorded PID when
//! it is dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use skiff_cli::up::procs;
use skiff_cli::up::state::ClusterState;

pub fn step(name: &str) {
    eprintln!("=== {name}");
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A `skiff up` cluster.
pub struct UpCluster {
    pub dir: PathBuf,
    home: tempfile::TempDir,
    _root: tempfile::TempDir,
}

impl UpCluster {
    pub fn up() -> UpCluster {
        let root = tempfile::tempdir().expect("temp dir");
        let cluster = UpCluster {
            dir: root.path().join("cluster"),
            home: tempfile::tempdir().expect("temp home"),
            _root: root,
        };
        step("skiff up");
        let dir = cluster.dir.display().to_string();
        cluster.skiff_ok(&["up", "--dir", &dir, "--timeout", "120s"]);
        cluster
    }

    pub fn state(&self) -> ClusterState {
        ClusterState::load(&self.dir)
            .expect("state")
            .expect("state.json")
    }

    pub fn pki(&self) -> PathBuf {
        self.state().pki.expect("TLS is skiff up's default")
    }

    /// The real `skiff` against this cluster.
    pub fn skiff(&self, args: &[&str]) -> Output {
        Command::new(skiff_testkit::binary::binary("skiff"))
            .args(args)
            .env("HOME", self.home.path())
            .env("SKIFF_CONFIG", self.dir.join("config"))
            .stdin(Stdio::null())
            .output()
            .expect("run skiff")
    }

    pub fn skiff_ok(&self, args: &[&str]) -> String {
        let output = self.skiff(args);
        assert!(
            output.status.success(),
            "skiff {args:?} failed:\n{}",
            text(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// etcdctl with the cluster CA and the `etcd-client` certificate, as the README shows.
    pub fn etcdctl(&self, endpoints: &str, args: &[&str]) -> Output {
        let pki = self.pki();
        Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .arg(format!("--cacert={}", pki.join("ca.crt").display()))
            .arg(format!("--cert={}", pki.join("etcd-client.crt").display()))
            .arg(format!("--key={}", pki.join("etcd-client.key").display()))
            .args(["--command-timeout=10s", "--dial-timeout=3s"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("etcdctl must be installed (Debian package etcd-client)")
    }

    pub fn etcdctl_ok(&self, endpoints: &str, args: &[&str]) -> String {
        let output = self.etcdctl(endpoints, args);
        assert!(
            output.status.success(),
            "etcdctl {args:?} failed:\n{}",
            text(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// etcdctl ARGS `-w json`, parsed.
    pub fn etcdctl_json(&self, endpoints: &str, args: &[&str]) -> serde_json::Value {
        let mut with = args.to_vec();
        with.extend(["-w", "json"]);
        let out = self.etcdctl_ok(endpoints, &with);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("etcdctl {args:?}: {e}:\n{out}"))
    }

    /// A shell command line (`sh -c`), expected to succeed; its stdout.
    pub fn shell(&self, script: &str) -> String {
        let output = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .output()
            .expect("run sh");
        assert!(
            output.status.success(),
            "`{script}` failed:\n{}",
            text(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn log(&self, component: &str) -> String {
        std::fs::read_to_string(self.dir.join("logs").join(format!("{component}.log")))
            .unwrap_or_default()
    }
}

/// Polls `probe` until it gives a value, or panics after `within` with the last failure.
pub fn wait_for<T>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out after {within:?} waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

impl Drop for UpCluster {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        procs::tear_down(&self.dir, || {
            let _ = self.skiff(&["down", "--dir", &dir]);
        });
    }
}

/// `DIR/data/NAME`.
pub fn data_dir(dir: &Path, component: &str) -> PathBuf {
    dir.join("data").join(component)
}
