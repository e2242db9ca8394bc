//! A command-line program run against a test cluster (`skiff`, kubectl, etcdctl): its path
//! and environment, how a run ends, and long-running commands read line by line.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often [`Tool::wait_for`] runs its command again.
const POLL: Duration = Duration::from_millis(300);

/// A finished command.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Run {
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A program and the environment every run of it gets. Editors are always removed from the
/// environment, so a test never waits on one it did not set itself.
#[derive(Clone, Debug)]
pub struct Tool {
    name: String,
    program: PathBuf,
    env: Vec<(String, OsString)>,
    removed: Vec<String>,
}

impl Tool {
    pub fn new(program: impl Into<PathBuf>) -> Tool {
        let program = program.into();
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.display().to_string());
        Tool {
            name,
            program,
            env: Vec::new(),
            removed: vec!["KUBE_EDITOR".into(), "EDITOR".into()],
        }
    }

    /// Every run gets `key=value`.
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Tool {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// Every run has `key` removed from its environment.
    pub fn env_remove(mut self, key: &str) -> Tool {
        self.removed.push(key.to_string());
        self
    }

    /// The command for `ARGS`, stdin closed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command.args(args);
        for key in &self.removed {
            command.env_remove(key);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command.stdin(Stdio::null());
        command
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        Run::from(output)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.status, 0,
            "{} {args:?} failed:\nstdout: {}\nstderr: {}",
            self.name, run.stdout, run.stderr
        );
        run.stdout
    }

    /// Runs and expects exit status 1; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.status, 1,
            "{} {args:?} should fail:\nstdout: {}\nstderr: {}",
            self.name, run.stdout, run.stderr
        );
        run.stderr
    }

    /// Runs with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        Run::from(child.wait_with_output().expect("wait"))
    }

    /// Runs with `input` on stdin and expects success; returns stdout.
    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let run = self.run_stdin(args, input);
        assert_eq!(
            run.status, 0,
            "{} {args:?} failed: {}",
            self.name, run.stderr
        );
        run.stdout
    }

    /// A long-running command (`get -w`, `logs -f`) whose stdout lines arrive on a channel.
    pub fn stream(&self, args: &[&str]) -> Streaming {
        Streaming::spawn(self.command(args))
    }

    /// Runs `ARGS` until `check` accepts its stdout; panics after `within` with the last
    /// output.
    pub fn wait_for(
        &self,
        what: &str,
        within: Duration,
        args: &[&str],
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let run = self.run(args);
            if run.status == 0 && check(&run.stdout) {
                return run.stdout;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; last `{} {args:?}`:\n{}{}",
                    self.name, run.stdout, run.stderr
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

/// A running command whose stdout is read line by line; killed when dropped.
pub struct Streaming {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Streaming {
    pub fn spawn(mut command: Command) -> Streaming {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn a long-running command");
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

/// Polls `probe` until it gives a value, or panics after `within` with its last failure
/// (the blocking sibling of [`crate::wait_for`], for tests that drive command lines).
pub fn poll<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
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
