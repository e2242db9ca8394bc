//! Free loopback ports for servers that are started later by another process (`skiff up`,
//! the test harnesses, the benchmarks).
//!
//! A port handed out by `bind("127.0.0.1:0")` comes from the kernel's ephemeral range, the
//! same range every outgoing connection takes its source port from. Between choosing such a
//! port and the server binding it, any connection on the machine (a store member dialling a
//! peer, a client reaching the apiserver) may take it, and the server then fails with
//! "address in use". Ports below the ephemeral range are never handed out that way.
//!
//! Processes that choose ports side by side (the test harness runs each test in its own
//! process) could still choose the same free port before either server binds it, so each
//! choice is also claimed machine-wide: a file named after the port, created only if absent,
//! in a directory every such process shares. A claim older than [`CLAIM_LIFETIME`] is
//! stale (by then its server has bound the port, or never will) and may be taken again.

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use rand::Rng;

/// Where listening ports are chosen: below the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, read once), or above it when the range starts
/// too low.
pub fn listen_port_range() -> (u16, u16) {
    static RANGE: OnceLock<(u16, u16)> = OnceLock::new();
    *RANGE.get_or_init(|| {
        let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u16>().ok())
            })
            .unwrap_or(32768);
        if ephemeral_low > 12000 {
            (10000, ephemeral_low)
        } else {
            (61000, 65000)
        }
    })
}

/// A loopback port from [`listen_port_range`] that is free now and that this process has
/// not handed out before (so two servers of one test never get the same port, even before
/// either has bound it). `None` when no free port turns up in many tries.
pub fn free_loopback_port() -> Option<u16> {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let (low, high) = listen_port_range();
    let mut rng = rand::thread_rng();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..1000 {
        let candidate = rng.gen_range(low..high);
        if handed_out.contains(&candidate) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", candidate)).is_ok() && claim(&claims_dir(), candidate) {
            handed_out.insert(candidate);
            return Some(candidate);
        }
    }
    None
}

/// How long a claim keeps other processes off a port: far longer than any server takes to
/// start and bind it.
pub const CLAIM_LIFETIME: Duration = Duration::from_secs(120);

/// The directory of claims, shared by every process of this user on the machine.
fn claims_dir() -> PathBuf {
    std::env::temp_dir().join("skiff-port-claims")
}

/// Claims `port` in `dir`: true when no other claim younger than [`CLAIM_LIFETIME`] holds
/// it. Without a usable directory nothing is claimed and the port is taken anyway (the
/// bind check above still holds).
fn claim(dir: &Path, port: u16) -> bool {
    if std::fs::create_dir_all(dir).is_err() {
        return true;
    }
    let path = dir.join(port.to_string());
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match created {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let age = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok());
            match age {
                // Stale: renew it as ours. Two processes renewing one stale claim at the
                // same moment is as unlikely as the race this prevents, and still safe
                // while neither server has bound the port.
                Some(age) if age > CLAIM_LIFETIME => std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(SystemTime::now()))
                    .is_ok(),
                _ => false,
            }
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_free_and_outside_the_ephemeral_range() {
        let (low, high) = listen_port_range();
        let chosen: Vec<u16> = (0..50).map(|_| free_loopback_port().unwrap()).collect();
        let unique: HashSet<u16> = chosen.iter().copied().collect();
        assert_eq!(unique.len(), chosen.len(), "a port was handed out twice");
        assert!(chosen.iter().all(|p| (low..high).contains(p)));
        for port in chosen {
            TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }

    #[test]
    fn a_port_claimed_by_another_process_is_not_handed_out_until_the_claim_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        assert!(claim(dir.path(), 20001));
        assert!(!claim(dir.path(), 20001), "a live claim was taken twice");
        assert!(claim(dir.path(), 20002));
        let old = SystemTime::now() - CLAIM_LIFETIME - Duration::from_secs(1);
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join("20001"))
            .unwrap();
        file.set_modified(old).unwrap();
        assert!(claim(dir.path(), 20001), "a stale claim was not renewed");
        assert!(!claim(dir.path(), 20001), "the renewed claim is live again");
    }

    #[test]
    fn the_range_ends_where_the_kernels_ephemeral_range_begins() {
        let (_, high) = listen_port_range();
        let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
        if let Ok(text) = ephemeral {
            let low: u16 = text.split_whitespace().next().unwrap().parse().unwrap();
            if low > 12000 {
                assert_eq!(high, low);
            }
        }
    }
}
