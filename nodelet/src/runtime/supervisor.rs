//! The per-container supervisor process (the role containerd-shim plays): it owns the
//! container's main process, copies its output into the log file and records its exit.
//!
//! It runs as `skiff-nodelet supervise --state-dir DIR`, in a session of its own so that
//! neither a signal to the nodelet's process group nor the nodelet's death touches it. It
//! is deliberately plain blocking code with two threads (no async runtime) to stay small:
//! one supervisor lives for every running container.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use chrono::Utc;
use rustix::process::{kill_process_group, Pid, Signal};

use super::layout::{read_json, write_json_atomic, InstanceDir};
use super::procfs::identity_of;
use super::types::{ChildRecord, ExitRecord, StoredSpec};
use crate::logs::LogWriter;

/// How long the output of a finished container may still be draining before its exit is
/// recorded anyway (only a process that escaped the container's group can hold it open).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Entry point of the hidden `supervise` subcommand.
pub fn run(state_dir: &Path) -> ExitCode {
    // A new session detaches from the nodelet's process group and terminal. This cannot
    // fail for a process spawned normally (it is not a group leader); if it does, keep
    // going: supervising matters more than detaching.
    if let Err(e) = rustix::process::setsid() {
        eprintln!("supervisor: setsid: {e}");
    }
    match supervise(state_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("supervisor: {message}");
            ExitCode::FAILURE
        }
    }
}

fn supervise(state_dir: &Path) -> Result<(), String> {
    let dir = InstanceDir::new(state_dir.to_path_buf());
    let stored: StoredSpec = read_json(&dir.spec())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} is missing", dir.spec().display()))?;
    let me = identity_of(std::process::id()).map_err(|e| format!("own identity: {e}"))?;
    write_json_atomic(&dir.supervisor(), &me).map_err(|e| format!("supervisor.json: {e}"))?;
    let mut log = LogWriter::create(&dir.log(), stored.log_max_bytes)
        .map_err(|e| format!("creating {}: {e}", dir.log().display()))?;

    let Some((program, args)) = stored.spec.argv.split_first() else {
        return Err("empty command line".into());
    };
    // One pipe for stdout and stderr keeps the two interleaved as the container wrote them.
    let (reader, writer) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let writer2 = writer.try_clone().map_err(|e| format!("pipe: {e}"))?;
    // The copier thread starts first: once this process has a PID namespace for its
    // children (a sandboxed container), it can no longer start threads.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let copier = thread::Builder::new()
        .name("log-copier".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            copy_output(reader, &mut log);
            let _ = done_tx.send(());
        })
        .map_err(|e| format!("log thread: {e}"))?;
    // A start failure is logged through the pipe too, then the copier sees EOF.
    let fail_start = |mut writer: std::io::PipeWriter, message: String| {
        let _ = writeln!(writer, "{message}");
        drop(writer);
        let _ = done_rx.recv_timeout(DRAIN_TIMEOUT);
        start_failed(&dir, message)
    };
    let isolation = stored.spec.isolation.as_ref();
    let cgroup = isolation.and_then(|i| {
        i.cgroup(
            &stored.spec.pod_uid,
            &stored.spec.container_name,
            stored.spec.instance,
        )
    });
    let (mut command, failed_step) = match isolation {
        None => {
            let mut command = Command::new(program);
            command.args(args).current_dir(&stored.working_dir);
            (command, None)
        }
        Some(isolation) => {
            let launch = super::isolation::prepare(isolation, cgroup.as_ref()).and_then(|()| {
                super::isolation::container_command(
                    isolation,
                    cgroup.as_ref(),
                    &stored.spec.argv,
                    &stored.working_dir,
                )
            });
            match launch {
                Ok((command, failed_step)) => (command, Some(failed_step)),
                Err(message) => {
                    drop(writer2);
                    if let Some(cgroup) = &cgroup {
                        remove_cgroup(cgroup);
                    }
                    return fail_start(writer, message);
                }
            }
        }
    };
    command
        .env_clear()
        .envs(stored.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(writer.try_clone().map_err(|e| format!("pipe: {e}"))?)
        .stderr(writer2)
        // Its own process group, so stop/kill reach every process of the container.
        .process_group(0);
    let spawned = command.spawn();
    // Drop our copies of the pipe's write end: the reader then sees EOF exactly when the
    // container's processes are gone.
    drop(command);

    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let message = match failed_step {
                Some(failed_step) => failed_step.message(program, &e),
                None => start_error_message(program, &e),
            };
            // The child that could not exec has been reaped: its cgroup is empty.
            if let Some(cgroup) = &cgroup {
                remove_cgroup(cgroup);
            }
            return fail_start(writer, message);
        }
    };
    drop(writer);
    let started_at = Utc::now();
    let pid = child.id();
    // The child is ours and unreaped: its /proc entry exists even if it already exited.
    let setup = identity_of(pid)
        .map_err(|e| format!("child identity: {e}"))
        .and_then(|process| {
            let record = ChildRecord {
                process,
                started_at,
            };
            write_json_atomic(&dir.child(), &record).map_err(|e| format!("child.json: {e}"))
        });
    if let Err(message) = setup {
        // Nobody could ever stop or observe this container: do not leave it running.
        kill_group(pid);
        let _ = child.wait();
        return Err(message);
    }
    handshake(&format!("started {pid}"));

    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    let finished_at = Utc::now();
    // A container ends with its main process: whatever it left behind in its group goes too.
    kill_group(pid);
    if done_rx.recv_timeout(DRAIN_TIMEOUT).is_ok() {
        let _ = copier.join();
    }

    let mut record = exit_record(status, started_at, finished_at);
    if let Some(cgroup) = &cgroup {
        // The kernel's OOM killer sends SIGKILL; a shell whose child it killed exits 137.
        if record.exit_code == 137 && cgroup.oom_kills() > 0 {
            record.reason = "OOMKilled".into();
        }
        remove_cgroup(cgroup);
    }
    write_json_atomic(&dir.exit(), &record).map_err(|e| format!("exit.json: {e}"))?;
    Ok(())
}

/// Records a container whose program never ran (exit code 128, reason StartError).
fn start_failed(dir: &InstanceDir, message: String) -> Result<(), String> {
    let record = start_error_record(message.clone());
    write_json_atomic(&dir.exit(), &record).map_err(|e| format!("exit.json: {e}"))?;
    handshake(&format!("failed {message}"));
    Ok(())
}

fn start_error_record(message: String) -> ExitRecord {
    ExitRecord {
        exit_code: 128,
        signal: None,
        reason: "StartError".into(),
        message: Some(message),
        started_at: None,
        finished_at: Utc::now(),
    }
}

/// Removes the container's cgroup once the kernel has finished off the processes of its
/// PID namespace (which takes a moment after PID 1 ends).
fn remove_cgroup(cgroup: &super::cgroup::Cgroup) {
    let deadline = std::time::Instant::now() + DRAIN_TIMEOUT;
    loop {
        match cgroup.remove() {
            Ok(()) => return,
            Err(e) if std::time::Instant::now() >= deadline => {
                eprintln!("supervisor: removing the cgroup: {e}");
                return;
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn kill_group(pid: u32) {
    if let Some(group) = Pid::from_raw(pid as i32) {
        let _ = kill_process_group(group, Signal::KILL);
    }
}

/// Tells the runtime waiting in `start` that the state files are in place. The runtime
/// may already be gone (it closed the pipe): nothing else is ever written to stdout.
fn handshake(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn copy_output(mut reader: std::io::PipeReader, log: &mut LogWriter) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut reported = false;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                // Keep draining even if the log cannot be written: a full pipe would
                // block the container.
                if let Err(e) = log.write(&buf[..n]) {
                    if !reported {
                        eprintln!("supervisor: writing log: {e}");
                        reported = true;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("supervisor: reading output: {e}");
                return;
            }
        }
    }
}

/// Exit code and reason as Kubernetes reports them: 128+signal for a killed process.
pub(crate) fn exit_record(
    status: ExitStatus,
    started_at: chrono::DateTime<Utc>,
    finished_at: chrono::DateTime<Utc>,
) -> ExitRecord {
    let (exit_code, signal) = match (status.code(), status.signal()) {
        (Some(code), _) => (code, None),
        (None, Some(sig)) => (128 + sig, Some(sig)),
        (None, None) => (128, None),
    };
    ExitRecord {
        exit_code,
        signal,
        reason: if exit_code == 0 { "Completed" } else { "Error" }.into(),
        message: None,
        started_at: Some(started_at),
        finished_at,
    }
}

pub(crate) fn start_error_message(program: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound && !program.contains('/') {
        format!("exec: \"{program}\": executable file not found in $PATH")
    } else {
        format!("exec: \"{program}\": {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_kubernetes() {
        let now = Utc::now();
        let cases = [
            (ExitStatus::from_raw(0), 0, None, "Completed"),
            (ExitStatus::from_raw(1 << 8), 1, None, "Error"),
            (ExitStatus::from_raw(9), 137, Some(9), "Error"),
            (ExitStatus::from_raw(15), 143, Some(15), "Error"),
        ];
        for (status, code, signal, reason) in cases {
            let r = exit_record(status, now, now);
            assert_eq!(
                (r.exit_code, r.signal, r.reason.as_str()),
                (code, signal, reason)
            );
        }
    }
}
