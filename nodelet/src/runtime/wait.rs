//! Waiting for a process that is not necessarily our child (a re-adopted supervisor) to
//! exit, without busy polling: a pidfd becomes readable when its process exits.

use std::time::Duration;

use rustix::process::{pidfd_open, Pid, PidfdFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::procfs::is_alive;
use super::types::ProcessIdentity;

/// Poll interval when pidfds are unavailable (kernels before 5.3, restrictive seccomp).
const FALLBACK_POLL: Duration = Duration::from_millis(200);

/// Returns once the process named by `who` has exited (at once if it already has, or if
/// its PID now belongs to another process).
pub(crate) async fn process_exit(who: &ProcessIdentity) {
    let Some(pid) = Pid::from_raw(who.pid as i32) else {
        return;
    };
    // Open first, then check the identity: if the check passes, the pidfd refers to the
    // process we mean, because that process held the PID before the pidfd was opened.
    let pidfd = pidfd_open(pid, PidfdFlags::empty());
    if !is_alive(who) {
        return;
    }
    // `with_interest` is deprecated because a generic `T` could hand tokio a different fd
    // later; an `OwnedFd` cannot, and the replacement (`register_with_interest`) is
    // `unsafe`, which this crate forbids.
    #[allow(deprecated)]
    let async_fd = pidfd
        .ok()
        .and_then(|fd| AsyncFd::with_interest(fd, Interest::READABLE).ok());
    match async_fd {
        Some(fd) => {
            // Readable means exited; an error means the fd is unusable: fall back.
            if fd.readable().await.is_ok() {
                return;
            }
            poll_until_gone(who).await
        }
        None => poll_until_gone(who).await,
    }
}

async fn poll_until_gone(who: &ProcessIdentity) {
    while is_alive(who) {
        tokio::time::sleep(FALLBACK_POLL).await;
    }
}
