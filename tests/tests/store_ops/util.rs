//! A cluster started by the real `skiff up` (TLS, the default) in a temporary directory
//! (the test kit's [`UpCluster`]), with etcdctl pointed at it as the README shows.

use std::ops::Deref;
use std::process::{Command, Output, Stdio};

pub use skiff_testkit::step;
pub use skiff_testkit::up::poll as wait_for;
use skiff_testkit::up::UpCluster;

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A `skiff up` cluster with etcdctl beside `skiff`; dereferences to the test kit's
/// [`UpCluster`] (and through it to `skiff`).
pub struct StoreCluster {
    up: UpCluster,
}

impl StoreCluster {
    pub fn up() -> StoreCluster {
        StoreCluster {
            up: UpCluster::up(&[]),
        }
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
}

impl Deref for StoreCluster {
    type Target = UpCluster;

    fn deref(&self) -> &UpCluster {
        &self.up
    }
}
