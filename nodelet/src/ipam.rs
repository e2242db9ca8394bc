//! Pod IP allocation: one distinct address per pod from the node's range, persisted so a
//! nodelet restart keeps every pod's IP.
//!
//! Pods get loopback addresses (a range inside 127.0.0.0/8, e.g. `127.42.0.0/16`): Linux
//! routes all of 127/8 to `lo`, so a process can bind any of them with no setup, and two
//! pods can both listen on port 8080. Network namespaces would isolate pods further but
//! need privileges the nodelet may not have, so skiff does not use them; the price is that
//! pods can reach each other's (and the node's) loopback ports. A range outside 127/8
//! works only if its addresses are already configured on the node.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::runtime::layout::{read_json, write_json_atomic};

/// An IPv4 range such as `127.42.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, IpamError> {
        if prefix > 32 {
            return Err(IpamError::InvalidRange {
                value: format!("{addr}/{prefix}"),
                reason: "the prefix length must be at most 32",
            });
        }
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        Ok(Ipv4Cidr {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    /// A range from any address and prefix length (a length over 32 counts as 32).
    pub fn masked(addr: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        Ipv4Cidr {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The first usable address: the node's own address on its pod bridge (the pods'
    /// gateway) when pods have network namespaces.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.usable().0 as u32)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        Ipv4Cidr::new(ip, self.prefix).is_ok_and(|c| c.network == self.network)
    }

    /// The addresses handed to pods, as `[lo, hi)`: all but the range's first and last
    /// (the network and broadcast addresses, by habit). 127.0.0.1, which the node itself
    /// uses, is skipped separately.
    fn usable(&self) -> (u64, u64) {
        let first = u64::from(u32::from(self.network));
        let size = 1u64 << (32 - u32::from(self.prefix));
        if size <= 2 {
            (first, first + size)
        } else {
            (first + 1, first + size - 1)
        }
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = IpamError;
    fn from_str(s: &str) -> Result<Self, IpamError> {
        let invalid = |reason| IpamError::InvalidRange {
            value: s.to_string(),
            reason,
        };
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| invalid("expected ADDRESS/PREFIX, e.g. 127.42.0.0/16"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| invalid("not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| invalid("the prefix length is not a number"))?;
        Ipv4Cidr::new(addr, prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error("invalid IP range {value:?}: {reason}")]
    InvalidRange { value: String, reason: &'static str },
    #[error("no free pod IP left in {range}")]
    Exhausted { range: Ipv4Cidr },
    #[error("pod IP allocations: {0}")]
    Store(#[from] crate::runtime::RuntimeError),
    #[error("saving pod IP allocations to {}: {source}", .path.display())]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The persisted allocations.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// pod uid -> IP
    allocations: BTreeMap<String, Ipv4Addr>,
    /// The last address handed out; the next search starts after it, so a released IP is
    /// not reused at once (a late packet or probe then never reaches the wrong pod).
    last: Option<Ipv4Addr>,
}

/// Allocates pod IPs from one range and remembers them in a JSON file.
#[derive(Debug)]
pub struct Ipam {
    path: PathBuf,
    range: Ipv4Cidr,
    /// Addresses never handed to pods (the bridge's gateway address).
    reserved: Vec<Ipv4Addr>,
    state: Mutex<State>,
}

impl Ipam {
    /// Loads the allocations kept in `path` (a file in the nodelet's data dir), or starts
    /// empty. Allocations outside `range` (the range changed) are kept: those pods still
    /// use them.
    pub fn open(path: impl Into<PathBuf>, range: Ipv4Cidr) -> Result<Self, IpamError> {
        let path = path.into();
        let state = read_json::<State>(&path)?.unwrap_or_default();
        Ok(Ipam {
            path,
            range,
            reserved: vec![Ipv4Addr::LOCALHOST],
            state: Mutex::new(state),
        })
    }

    /// Keeps `ip` from ever being handed to a pod.
    pub fn reserve(mut self, ip: Ipv4Addr) -> Self {
        self.reserved.push(ip);
        self
    }

    pub fn range(&self) -> Ipv4Cidr {
        self.range
    }

    /// The pod's IP, allocating one if it has none (idempotent).
    pub fn allocate(&self, pod_uid: &str) -> Result<Ipv4Addr, IpamError> {
        let mut state = self.lock();
        if let Some(ip) = state.allocations.get(pod_uid) {
            return Ok(*ip);
        }
        let used: std::collections::HashSet<Ipv4Addr> =
            state.allocations.values().copied().collect();
        let (lo, hi) = self.range.usable();
        let count = hi - lo;
        let start = state
            .last
            .map(|last| u64::from(u32::from(last)))
            .filter(|last| (lo..hi).contains(last))
            .map_or(0, |last| last - lo + 1);
        let ip = (0..count)
            .map(|k| Ipv4Addr::from((lo + (start + k) % count) as u32))
            .find(|ip| !self.reserved.contains(ip) && !used.contains(ip))
            .ok_or(IpamError::Exhausted { range: self.range })?;
        state.allocations.insert(pod_uid.to_string(), ip);
        state.last = Some(ip);
        self.save(&state)?;
        Ok(ip)
    }

    pub fn get(&self, pod_uid: &str) -> Option<Ipv4Addr> {
        self.lock().allocations.get(pod_uid).copied()
    }

    /// Frees the pod's IP; returns it if it had one.
    pub fn release(&self, pod_uid: &str) -> Result<Option<Ipv4Addr>, IpamError> {
        let mut state = self.lock();
        let ip = state.allocations.remove(pod_uid);
        if ip.is_some() {
            self.save(&state)?;
        }
        Ok(ip)
    }

    /// Frees the IPs of every pod for which `keep` is false (pods deleted while the
    /// nodelet was down); returns what was freed.
    pub fn retain(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, Ipv4Addr)>, IpamError> {
        let mut state = self.lock();
        let gone: Vec<(String, Ipv4Addr)> = state
            .allocations
            .iter()
            .filter(|(uid, _)| !keep(uid))
            .map(|(uid, ip)| (uid.clone(), *ip))
            .collect();
        for (uid, _) in &gone {
            state.allocations.remove(uid);
        }
        if !gone.is_empty() {
            self.save(&state)?;
        }
        Ok(gone)
    }

    /// All current allocations, pod uid -> IP.
    pub fn allocations(&self) -> BTreeMap<String, Ipv4Addr> {
        self.lock().allocations.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is replaced only whole, so a panic elsewhere cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn save(&self, state: &State) -> Result<(), IpamError> {
        write_json_atomic(&self.path, state).map_err(|source| IpamError::Save {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        let r: Ipv4Cidr = "127.42.3.9/16".parse().unwrap();
        assert_eq!(r.to_string(), "127.42.0.0/16");
        assert!(r.contains("127.42.255.1".parse().unwrap()));
        assert!(!r.contains("127.43.0.1".parse().unwrap()));
        for bad in ["127.0.0.0", "127.0.0.0/33", "x/8", "127.0.0.0/x"] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn allocations_are_distinct_stable_persisted_and_not_reused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ipam.json");
        let range: Ipv4Cidr = "127.42.0.0/30".parse().unwrap();
        let ipam = Ipam::open(&path, range).unwrap();
        let a = ipam.allocate("a").unwrap();
        let b = ipam.allocate("b").unwrap();
        assert_eq!(a, Ipv4Addr::new(127, 42, 0, 1));
        assert_eq!(b, Ipv4Addr::new(127, 42, 0, 2));
        assert_eq!(ipam.allocate("a").unwrap(), a);
        assert!(matches!(
            ipam.allocate("c"),
            Err(IpamError::Exhausted { .. })
        ));

        // A restart keeps the allocations.
        drop(ipam);
        let ipam = Ipam::open(&path, range).unwrap();
        assert_eq!(ipam.get("a"), Some(a));
        assert_eq!(ipam.release("a").unwrap(), Some(a));
        assert_eq!(ipam.allocate("c").unwrap(), a);

        let freed = ipam.retain(|uid| uid == "c").unwrap();
        assert_eq!(freed, vec![("b".to_string(), b)]);
        assert_eq!(ipam.allocations().len(), 1);
    }

    #[test]
    fn the_search_continues_after_the_last_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(
            dir.path().join("ipam.json"),
            "127.9.0.0/24".parse().unwrap(),
        )
        .unwrap();
        let a = ipam.allocate("a").unwrap();
        ipam.release("a").unwrap();
        let b = ipam.allocate("b").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn never_hands_out_the_nodes_own_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let ipam =
            Ipam::open(dir.path().join("ipam.json"), "127.0.0.0/8".parse().unwrap()).unwrap();
        assert_eq!(ipam.allocate("a").unwrap(), Ipv4Addr::new(127, 0, 0, 2));
    }
}
