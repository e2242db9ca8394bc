//! One child process with its log file, stopped by PID: SIGKILL on drop, whatever path the
//! caller leaves by, so a failing test or an interrupted benchmark leaves nothing running.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::LaunchError;

/// A program to run (again and again, with the same command line and log) and the
/// process running it, if any.
#[derive(Debug)]
pub struct Process {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub envs: Vec<(String, String)>,
    /// stdout and stderr, appended across restarts.
    pub log: PathBuf,
    /// Its own process group, so a Ctrl-C at the terminal reaches only the parent (which
    /// then stops it itself); off by default, so a test killed by Ctrl-C takes its
    /// children with it.
    pub own_process_group: bool,
    child: Option<Child>,
}

impl Process {
    pub fn new(name: &str, program: &Path, args: Vec<String>, log: PathBuf) -> Process {
        Process {
            name: name.to_string(),
            program: program.to_path_buf(),
            args,
            envs: Vec::new(),
            log,
            own_process_group: false,
            child: None,
        }
    }

    /// Starts it, its output appended to the log after a `=== starting` marker.
    pub fn try_start(&mut self) -> Result<(), LaunchError> {
        if self.child.is_some() {
            return Err(LaunchError::Invalid(format!(
                "{} is already running",
                self.name
            )));
        }
        let io = |e| LaunchError::io(format!("opening {}", self.log.display()), e);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io)?;
        let _ = writeln!(log, "=== starting {}", self.name);
        let err = log.try_clone().map_err(io)?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        if self.own_process_group {
            command.process_group(0);
        }
        let child = command.spawn().map_err(|source| LaunchError::Spawn {
            program: self.program.clone(),
            source,
        })?;
        self.child = Some(child);
        Ok(())
    }

    /// [`Process::try_start`], for tests: panics with the reason.
    pub fn start(&mut self) {
        self.try_start()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Started and not exited.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The exit status, once it has exited (the process is then forgotten).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    /// SIGKILL, then reap, so the PID cannot linger as a zombie.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (SIGTERM, SIGSTOP, ...) without waiting.
    pub fn signal(&self, signal: rustix::process::Signal) {
        if let Some(pid) = self
            .pid()
            .and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`; the exit status when it
    /// exited by itself.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.signal(rustix::process::Signal::TERM);
        let deadline = Instant::now() + grace;
        while self.child.is_some() && Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log, n)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `n` lines of a log file (or why it could not be read).
pub fn log_tail(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_kills_and_reaps_and_stop_reports_a_clean_exit() {
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = Process::new(
            "sleeper",
            Path::new("sleep"),
            vec!["30".into()],
            dir.path().join("sleep.log"),
        );
        sleeper.start();
        let pid = sleeper.pid().unwrap();
        assert!(sleeper.is_running());
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        drop(sleeper);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "not even a zombie"
        );

        let mut shell = Process::new(
            "shell",
            Path::new("sh"),
            vec![
                "-c".into(),
                "trap 'exit 0' TERM; echo up; while :; do sleep 0.05; done".into(),
            ],
            dir.path().join("sh.log"),
        );
        shell.start();
        std::thread::sleep(Duration::from_millis(300));
        let status = shell
            .stop(Duration::from_secs(5))
            .expect("exits on SIGTERM");
        assert!(status.success());
        assert!(
            shell.log_text().starts_with("=== starting shell\nup\n"),
            "{}",
            shell.log_text()
        );
        assert!(matches!(
            Process::new(
                "x",
                Path::new("/no/such/program"),
                vec![],
                dir.path().join("x")
            )
            .try_start(),
            Err(LaunchError::Spawn { .. })
        ));
    }
}
