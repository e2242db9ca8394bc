//! The pod's holder process (Kubernetes' pause container): `skiff-nodelet-shim pause
//! --hostname NAME` makes the pod's network, UTS and IPC namespaces, sets the hostname,
//! answers `ready` on stdout and then sleeps until SIGTERM. Its containers join its
//! namespaces through `/proc/PID/ns/*`; when it ends, the kernel deletes the network
//! namespace and with it the pod's end of the veth pair (and so the host's end too).

use std::io::Write;
use std::process::ExitCode;

use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{SigSet, Signal};

/// Entry point of the hidden `pause` subcommand.
pub fn run(hostname: &str) -> ExitCode {
    // Detached from the nodelet's session: its death or a signal to its group must not
    // end the pod's namespaces.
    let _ = rustix::process::setsid();
    // Blocked before anything else, so a SIGTERM that arrives early waits for sigwait
    // below instead of killing the process half set up.
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    if let Err(e) = set.thread_block() {
        return fail(&format!("blocking signals: {e}"));
    }
    let flags = CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC;
    if let Err(e) = unshare(flags) {
        return fail(&format!("unshare(net, uts, ipc): {e}"));
    }
    disable_ipv6();
    if let Err(e) = nix::unistd::sethostname(hostname) {
        return fail(&format!("sethostname {hostname:?}: {e}"));
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready {}", std::process::id());
    let _ = out.flush();
    loop {
        match set.wait() {
            Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => return ExitCode::SUCCESS,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return fail(&format!("sigwait: {e}")),
        }
    }
}

/// The pod network is IPv4 only. With IPv6 on, every pod's `eth0` would announce itself
/// (duplicate address detection, MLD reports, router solicitations) to the node's bridge,
/// which floods those multicasts to every other pod, and each pod's stack would handle
/// every one: work that grows with the square of the pods on a node (a third of the CPU
/// while a hundred pods start). Writing `all` also sets `default`, so `eth0`, made later
/// in this namespace, starts without IPv6 as well. Only a cost, never a fault: a kernel
/// without IPv6 has nothing to turn off, and where `/proc/sys` is read-only (a container
/// that is not privileged) the pod keeps IPv6 and works as before.
fn disable_ipv6() {
    // /proc/sys/net shows the namespace of the process that opens it: this new one.
    let path = "/proc/sys/net/ipv6/conf/all/disable_ipv6";
    match std::fs::write(path, "1") {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => eprintln!("pause: IPv6 stays on in the pod: writing {path}: {e}"),
    }
}

fn fail(message: &str) -> ExitCode {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "failed {message}");
    let _ = out.flush();
    ExitCode::FAILURE
}
