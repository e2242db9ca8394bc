//! A cluster started by the real `skiff up` in a temporary directory, with HOME in another
//! one so the machine's `~/.skiff` and `~/.kube` are never touched; `skiff down` and a kill
//! of every PID it recorded when dropped, even when the test failed. The CLI's, kubectl's
//! and the store operations' end-to-end tests all start their clusters here.
//!
//! - [`tool`]: a command-line program run against the cluster, and how its runs end.

pub mod tool;

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use skiff_cli::up::procs;
use skiff_cli::up::state::ClusterState;

use crate::step;
pub use tool::{poll, Run, Streaming, Tool};

/// How long `skiff up` may take before the test fails: a cold 2-core machine running
/// several clusters at once is slow.
const UP_TIMEOUT: &str = "120s";

/// A `skiff up` cluster. Dereferences to its `skiff` [`Tool`], so `cluster.ok(&["get",
/// "pods"])` runs `skiff get pods` against it.
pub struct UpCluster {
    pub dir: PathBuf,
    pub home: tempfile::TempDir,
    /// For files a test writes (manifests, editor scripts).
    pub scratch: tempfile::TempDir,
    /// What `skiff up` printed.
    pub up_output: String,
    skiff: Tool,
    _root: tempfile::TempDir,
}

impl UpCluster {
    /// `skiff up --dir <temp> --timeout 120s EXTRA...`; commands get
    /// `SKIFF_CONFIG=<dir>/config`.
    pub fn up(extra: &[&str]) -> UpCluster {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("cluster");
        let mut cluster = UpCluster::new(dir.clone(), root);
        cluster.skiff = cluster
            .skiff
            .clone()
            .env("SKIFF_CONFIG", dir.join("config"));
        step("skiff up");
        let dir_arg = dir.display().to_string();
        let mut args = vec!["up", "--dir", &dir_arg, "--timeout", UP_TIMEOUT];
        args.extend_from_slice(extra);
        cluster.start(&args);
        cluster
    }

    /// `skiff up` with no `--dir`: the cluster goes to `~/.skiff/local` (HOME being a
    /// temporary directory) and its config to `~/.skiff/config`, which commands then read.
    pub fn up_default(extra: &[&str]) -> UpCluster {
        let root = tempfile::tempdir().expect("temp dir");
        let home = tempfile::tempdir().expect("temp home");
        let dir = home.path().join(".skiff/local");
        let mut cluster = UpCluster::new_in(dir, root, home);
        cluster.skiff = cluster.skiff.clone().env_remove("SKIFF_CONFIG");
        step("skiff up (default directory)");
        let mut args = vec!["up", "--timeout", UP_TIMEOUT];
        args.extend_from_slice(extra);
        cluster.start(&args);
        cluster.dir = std::fs::canonicalize(&cluster.dir).expect("cluster dir");
        cluster
    }

    fn new(dir: PathBuf, root: tempfile::TempDir) -> UpCluster {
        UpCluster::new_in(dir, root, tempfile::tempdir().expect("temp home"))
    }

    fn new_in(dir: PathBuf, root: tempfile::TempDir, home: tempfile::TempDir) -> UpCluster {
        let skiff = Tool::new(crate::binary::binary("skiff")).env("HOME", home.path());
        UpCluster {
            dir,
            home,
            scratch: tempfile::tempdir().expect("scratch dir"),
            up_output: String::new(),
            skiff,
            _root: root,
        }
    }

    fn start(&mut self, args: &[&str]) {
        let run = self.skiff.run(args);
        assert_eq!(
            run.status, 0,
            "skiff up failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        self.up_output = run.stdout;
    }

    /// The `skiff` command line pointed at this cluster.
    pub fn skiff(&self) -> &Tool {
        &self.skiff
    }

    pub fn state(&self) -> ClusterState {
        ClusterState::load(&self.dir)
            .expect("state")
            .expect("state.json")
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("config")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The cluster's certificates (`skiff up` runs TLS unless told otherwise).
    pub fn pki(&self) -> PathBuf {
        self.state().pki.expect("a TLS cluster")
    }

    /// A component's log, empty if it has none yet.
    pub fn log(&self, component: &str) -> String {
        std::fs::read_to_string(self.dir.join("logs").join(format!("{component}.log")))
            .unwrap_or_default()
    }

    /// `DIR/data/COMPONENT`.
    pub fn data_dir(&self, component: &str) -> PathBuf {
        self.dir.join("data").join(component)
    }

    /// Every PID `skiff up` recorded, with its start time.
    pub fn pids(&self) -> Vec<(u32, u64)> {
        self.state()
            .components
            .iter()
            .filter_map(|c| Some((c.pid?, c.start_time?)))
            .collect()
    }

    /// SIGTERMs the component whose name starts with `prefix` (SIGKILL after `grace`);
    /// `skiff up`'s supervisor starts it again with the same flags.
    pub fn kill_component(&self, prefix: &str, grace: Duration) {
        let process = self.process_of(&format!("{prefix}*"), |name| name.starts_with(prefix));
        procs::terminate(&[process], grace);
    }

    /// The (PID, start time) `state.json` records for the first component whose name
    /// `matches`; `what` names it in the panic when there is none.
    fn process_of(&self, what: &str, matches: impl Fn(&str) -> bool) -> (u32, u64) {
        let state = self.state();
        let component = state
            .components
            .iter()
            .find(|c| matches(&c.name))
            .unwrap_or_else(|| panic!("no component {what} in state.json"));
        (
            component.pid.expect("pid"),
            component.start_time.expect("start time"),
        )
    }

    /// SIGKILLs the component named `name` (`store-2`, `apiserver`), as a crash would;
    /// `skiff up`'s supervisor starts it again. Returns the PID it had.
    pub fn sigkill_component(&self, name: &str) -> u32 {
        let (pid, start) = self.process_of(name, |n| n == name);
        assert!(alive(pid, start), "{name} (pid {pid}) is not running");
        let target = rustix::process::Pid::from_raw(pid as i32).expect("a valid pid");
        rustix::process::kill_process(target, rustix::process::Signal::KILL).expect("SIGKILL");
        pid
    }

    /// A file in the scratch directory; its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.scratch.path().join(name);
        std::fs::write(&path, text).expect("write scratch file");
        path.display().to_string()
    }
}

impl Deref for UpCluster {
    type Target = Tool;

    fn deref(&self) -> &Tool {
        &self.skiff
    }
}

impl Drop for UpCluster {
    fn drop(&mut self) {
        let dir = self.dir.display().to_string();
        procs::tear_down(&self.dir, || {
            let _ = self.skiff.run(&["down", "--dir", &dir]);
        });
    }
}

/// True while a process with this PID and start time runs (a zombie has stopped running).
pub fn alive(pid: u32, start_time: u64) -> bool {
    procs::proc_info(pid).is_some_and(|i| i.state != 'Z' && i.start_time == start_time)
}

/// A seed manifest's path (`fixtures/seed/NAME`).
pub fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/seed")
        .join(name)
        .display()
        .to_string()
}
