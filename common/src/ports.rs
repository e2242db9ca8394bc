//! Free loopback ports for servers that are started later by another process (`skiff up`,
//! the test harnesses, the benchmarks).
//!
//! A port handed out by `bind("127.0.0.1:0")` comes from the kernel's ephemeral range, the
//! same range every outgoing connection takes its source port from. Between choosing such a
//! port and the server binding it, any connection on the machine (a store member dialling a
//! peer, a client reaching the apiserver) may take it, and the server then fails with
//! "address in use". Ports below the ephemeral range are never handed out that way.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

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
        if TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
            handed_out.insert(candidate);
            return Some(candidate);
        }
    }
    None
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
