//! Pod IP allocation: one distinct address per pod from the node's range, persisted so a
//! nodelet restart keeps every pod's IP.
//!
//! In a sandbox the range is the node's podCIDR and the address is the pod's `eth0`. As
//! plain processes pods get loopback addresses (a range inside 127.0.0.0/8, e.g.
//! `127.42.0.0/16`): Linux routes all of 127/8 to `lo`, so a process can bind any of them
//! with no setup, and two pods can both listen on port 8080.
//!
//! Saving is a group commit: an allocation is made in memory at once and its caller then
//! waits until a save that includes it is on disk (written and fsynced on a blocking
//! thread). When a hundred pods arrive together, one save covers all the allocations made
//! while the previous one was being written, instead of a hundred fsyncs in a row on the
//! nodelet's async threads (which stalled every other pod's work behind them). An address
//! is used only after its save, so a crash never leaves a pod with an IP the file lacks.

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
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    /// pod uid -> IP
    allocations: BTreeMap<String, Ipv4Addr>,
    /// The last address handed out; the next search starts after it, so a released IP is
    /// not reused at once (a late packet or probe then never reaches the wrong pod).
    last: Option<Ipv4Addr>,
}

/// The allocations in memory and how many changes they have seen.
#[derive(Debug, Default)]
struct Live {
    state: State,
    version: u64,
}

/// An address [`Ipam::assign`]ed to a pod, with the state version a save must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub ip: Ipv4Addr,
    version: u64,
}

/// Allocates pod IPs from one range and remembers them in a JSON file.
#[derive(Debug)]
pub struct Ipam {
    path: PathBuf,
    range: Ipv4Cidr,
    /// Addresses never handed to pods (the bridge's gateway address).
    reserved: Vec<Ipv4Addr>,
    /// Never held across an await or a write.
    live: Mutex<Live>,
    /// The version on disk; held while a save is written, so saves do not overlap.
    saved: tokio::sync::Mutex<u64>,
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
            live: Mutex::new(Live { state, version: 0 }),
            saved: tokio::sync::Mutex::new(0),
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

    /// The pod's IP, allocating one if it has none (idempotent); returns once the
    /// allocation is on disk.
    pub async fn allocate(&self, pod_uid: &str) -> Result<Ipv4Addr, IpamError> {
        let assigned = self.assign(pod_uid)?;
        self.saved(assigned).await?;
        Ok(assigned.ip)
    }

    /// The pod's IP, allocating one if it has none (idempotent), in memory only: the
    /// address must not be used (given to an interface) before [`Ipam::saved`] returns for
    /// it, or a nodelet restarted in between could hand it out twice. Other work (a pod's
    /// sandbox) goes on meanwhile.
    pub fn assign(&self, pod_uid: &str) -> Result<Assigned, IpamError> {
        let (ip, version) = self.allocate_in_memory(pod_uid)?;
        Ok(Assigned { ip, version })
    }

    /// Returns once the file holds the assignment (saving it if no save has yet). Also when
    /// the pod already had its IP: an earlier save of it may have failed.
    pub async fn saved(&self, assigned: Assigned) -> Result<(), IpamError> {
        self.saved_through(assigned.version).await
    }

    fn allocate_in_memory(&self, pod_uid: &str) -> Result<(Ipv4Addr, u64), IpamError> {
        let mut live = self.lock();
        if let Some(ip) = live.state.allocations.get(pod_uid) {
            return Ok((*ip, live.version));
        }
        let used: std::collections::HashSet<Ipv4Addr> =
            live.state.allocations.values().copied().collect();
        let (lo, hi) = self.range.usable();
        let count = hi - lo;
        let start = live
            .state
            .last
            .map(|last| u64::from(u32::from(last)))
            .filter(|last| (lo..hi).contains(last))
            .map_or(0, |last| last - lo + 1);
        let ip = (0..count)
            .map(|k| Ipv4Addr::from((lo + (start + k) % count) as u32))
            .find(|ip| !self.reserved.contains(ip) && !used.contains(ip))
            .ok_or(IpamError::Exhausted { range: self.range })?;
        live.state.allocations.insert(pod_uid.to_string(), ip);
        live.state.last = Some(ip);
        live.version += 1;
        Ok((ip, live.version))
    }

    pub fn get(&self, pod_uid: &str) -> Option<Ipv4Addr> {
        self.lock().state.allocations.get(pod_uid).copied()
    }

    /// Frees the pod's IP; returns it if it had one.
    pub async fn release(&self, pod_uid: &str) -> Result<Option<Ipv4Addr>, IpamError> {
        let (ip, version) = {
            let mut live = self.lock();
            let ip = live.state.allocations.remove(pod_uid);
            if ip.is_some() {
                live.version += 1;
            }
            (ip, live.version)
        };
        self.saved_through(version).await?;
        Ok(ip)
    }

    /// Frees the IPs of every pod for which `keep` is false (pods deleted while the
    /// nodelet was down); returns what was freed.
    pub async fn retain(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, Ipv4Addr)>, IpamError> {
        let (gone, version) = {
            let mut live = self.lock();
            let gone: Vec<(String, Ipv4Addr)> = live
                .state
                .allocations
                .iter()
                .filter(|(uid, _)| !keep(uid))
                .map(|(uid, ip)| (uid.clone(), *ip))
                .collect();
            for (uid, _) in &gone {
                live.state.allocations.remove(uid);
            }
            if !gone.is_empty() {
                live.version += 1;
            }
            (gone, live.version)
        };
        self.saved_through(version).await?;
        Ok(gone)
    }

    /// All current allocations, pod uid -> IP.
    pub fn allocations(&self) -> BTreeMap<String, Ipv4Addr> {
        self.lock().state.allocations.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        // The state is replaced only whole, so a panic elsewhere cannot leave it torn.
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns once the file holds `version` or a later one, saving the newest state if
    /// it does not (one save covers every change made before it started).
    async fn saved_through(&self, version: u64) -> Result<(), IpamError> {
        let mut saved = self.saved.lock().await;
        if *saved >= version {
            return Ok(());
        }
        let (state, newest) = {
            let live = self.lock();
            (live.state.clone(), live.version)
        };
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || write_json_atomic(&path, &state))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        written.map_err(|source| IpamError::Save {
            path: self.path.clone(),
            source,
        })?;
        *saved = newest;
        Ok(())
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

    #[tokio::test]
    async fn allocations_are_distinct_stable_persisted_and_not_reused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ipam.json");
        let range: Ipv4Cidr = "127.42.0.0/30".parse().unwrap();
        let ipam = Ipam::open(&path, range).unwrap();
        let a = ipam.allocate("a").await.unwrap();
        let b = ipam.allocate("b").await.unwrap();
        assert_eq!(a, Ipv4Addr::new(127, 42, 0, 1));
        assert_eq!(b, Ipv4Addr::new(127, 42, 0, 2));
        assert_eq!(ipam.allocate("a").await.unwrap(), a);
        assert!(matches!(
            ipam.allocate("c").await,
            Err(IpamError::Exhausted { .. })
        ));

        // A restart keeps the allocations.
        drop(ipam);
        let ipam = Ipam::open(&path, range).unwrap();
        assert_eq!(ipam.get("a"), Some(a));
        assert_eq!(ipam.release("a").await.unwrap(), Some(a));
        assert_eq!(ipam.allocate("c").await.unwrap(), a);

        let freed = ipam.retain(|uid| uid == "c").await.unwrap();
        assert_eq!(freed, vec![("b".to_string(), b)]);
        assert_eq!(ipam.allocations().len(), 1);
    }

    #[tokio::test]
    async fn the_search_continues_after_the_last_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::open(
            dir.path().join("ipam.json"),
            "127.9.0.0/24".parse().unwrap(),
        )
        .unwrap();
        let a = ipam.allocate("a").await.unwrap();
        ipam.release("a").await.unwrap();
        let b = ipam.allocate("b").await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn never_hands_out_the_nodes_own_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let ipam =
            Ipam::open(dir.path().join("ipam.json"), "127.0.0.0/8".parse().unwrap()).unwrap();
        assert_eq!(
            ipam.allocate("a").await.unwrap(),
            Ipv4Addr::new(127, 0, 0, 2)
        );
    }

    #[tokio::test]
    async fn an_assignment_is_on_disk_only_once_saved_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ipam.json");
        let range: Ipv4Cidr = "10.42.0.0/24".parse().unwrap();
        let ipam = Ipam::open(&path, range).unwrap();
        let assigned = ipam.assign("a").unwrap();
        assert_eq!(ipam.assign("a").unwrap().ip, assigned.ip, "idempotent");
        assert_eq!(ipam.get("a"), Some(assigned.ip), "taken in memory at once");
        assert_eq!(
            Ipam::open(&path, range).unwrap().get("a"),
            None,
            "not yet on disk"
        );
        ipam.saved(assigned).await.unwrap();
        assert_eq!(
            Ipam::open(&path, range).unwrap().get("a"),
            Some(assigned.ip)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn allocations_made_together_are_all_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ipam.json");
        let range: Ipv4Cidr = "10.42.0.0/24".parse().unwrap();
        let ipam = std::sync::Arc::new(Ipam::open(&path, range).unwrap());
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let ipam = ipam.clone();
                tokio::spawn(async move { ipam.allocate(&format!("pod-{i}")).await.unwrap() })
            })
            .collect();
        let mut ips = Vec::new();
        for t in tasks {
            ips.push(t.await.unwrap());
        }
        // Every allocation had returned, so every one is in the file.
        let reopened = Ipam::open(&path, range).unwrap();
        let on_disk = reopened.allocations();
        assert_eq!(on_disk.len(), 100);
        for (i, ip) in ips.iter().enumerate() {
            assert_eq!(on_disk.get(&format!("pod-{i}")), Some(ip));
        }
        let distinct: std::collections::HashSet<_> = ips.iter().collect();
        assert_eq!(distinct.len(), 100);
    }
}
