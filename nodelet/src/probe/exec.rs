//! The exec probe: runs a command in the container's environment; exit 0 is success.

use std::process::Stdio;
use std::time::Duration;

use rustix::process::{kill_process_group, Pid, Signal};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{ExecAction, ProbeOutcome};

/// Output kept for the failure message (the kubelet caps it the same way).
const MAX_OUTPUT: usize = 10 * 1024;

pub(super) async fn probe(action: &ExecAction, timeout: Duration) -> ProbeOutcome {
    let Some(program) = action.command.first() else {
        return ProbeOutcome::Failure("exec probe has an empty command".into());
    };
    let shown = action.command.join(" ");
    let spawned = action
        .context
        .command(&action.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout kills everything the command started.
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !program.contains('/') => {
            return ProbeOutcome::Failure(format!(
                "exec: \"{program}\": executable file not found in $PATH"
            ))
        }
        Err(e) => return ProbeOutcome::Failure(format!("exec: \"{program}\": {e}")),
    };
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let run = async {
        let (out, err) = tokio::join!(capped(stdout), capped(stderr));
        let status = child.wait().await;
        (status, out, err)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok((Ok(status), out, err)) => {
            if status.success() {
                return ProbeOutcome::Success;
            }
            let mut output = out;
            output.extend_from_slice(&err);
            output.truncate(MAX_OUTPUT);
            let text = String::from_utf8_lossy(&output).trim_end().to_string();
            ProbeOutcome::Failure(if text.is_empty() {
                match status.code() {
                    Some(code) => format!("command \"{shown}\" exited with code {code}"),
                    None => format!("command \"{shown}\" was killed by a signal"),
                }
            } else {
                text
            })
        }
        Ok((Err(e), _, _)) => ProbeOutcome::Failure(format!("waiting for \"{shown}\": {e}")),
        Err(_) => {
            if let Some(group) = pid.and_then(|p| Pid::from_raw(p as i32)) {
                let _ = kill_process_group(group, Signal::KILL);
            }
            ProbeOutcome::Failure(format!("command \"{shown}\" timed out"))
        }
    }
}

/// Reads a pipe to its end, keeping only the first [`MAX_OUTPUT`] bytes.
async fn capped<R: AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else { return kept };
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}
