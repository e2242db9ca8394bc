//! Free loopback ports for the components, and a free `127.X` range for the nodes' pods.

use rand::Rng;
use skiff_common::ports::listen_port_range;

use crate::error::CliError;

/// Hands out free ports from [`listen_port_range`] (below the kernel's ephemeral range: see
/// [`skiff_common::ports`]). Each port stays bound until [`Allocator::finish`], so none is handed
/// out twice.
pub struct Allocator {
    low: u16,
    high: u16,
    held: Vec<std::net::TcpListener>,
    exhausted: bool,
}

impl Allocator {
    pub fn new() -> Allocator {
        let (low, high) = listen_port_range();
        Allocator {
            low,
            high,
            held: Vec::new(),
            exhausted: false,
        }
    }

    /// A free port (0 once none can be found; [`Allocator::finish`] then reports it).
    pub fn next(&mut self) -> u16 {
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let candidate = rng.gen_range(self.low..self.high);
            if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", candidate)) {
                self.held.push(listener);
                return candidate;
            }
        }
        self.exhausted = true;
        0
    }

    /// Releases the ports for the components to take.
    pub fn finish(self) -> Result<(), CliError> {
        if self.exhausted {
            return Err(CliError::msg(format!(
                "cannot find free loopback ports between {} and {}",
                self.low, self.high
            )));
        }
        Ok(())
    }
}

/// Second octets of the loopback addresses (`127.X.*.*`) something listens on now.
fn busy_loopback_nets() -> Vec<u8> {
    let mut busy = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/udp"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let Some(local) = line.split_whitespace().nth(1) else {
                continue;
            };
            let Some((address, _)) = local.split_once(':') else {
                continue;
            };
            // The kernel prints the address as a native-endian number.
            if let Ok(raw) = u32::from_str_radix(address, 16) {
                let [a, b, _, _] = raw.to_le_bytes();
                if a == 127 && !busy.contains(&b) {
                    busy.push(b);
                }
            }
        }
    }
    busy
}

/// A random `127.X.0.0/16` base for the nodes' pod addresses whose ranges (one per node) no
/// running program uses, so pods of two clusters on one machine do not share addresses.
pub fn pod_net_base(nodes: usize) -> u8 {
    base_avoiding(&busy_loopback_nets(), nodes, &mut rand::thread_rng())
}

fn base_avoiding(busy: &[u8], nodes: usize, rng: &mut impl Rng) -> u8 {
    const FIRST: u16 = 60;
    const COUNT: u16 = 141;
    let span = u16::try_from(nodes.max(1)).unwrap_or(u16::MAX);
    let start: u16 = rng.gen_range(0..COUNT);
    let free =
        |base: u16| (base..base + span).all(|b| u8::try_from(b).is_ok_and(|b| !busy.contains(&b)));
    (0..COUNT)
        .map(|k| FIRST + (start + k) % COUNT)
        .find(|base| free(*base))
        .and_then(|base| u8::try_from(base).ok())
        .unwrap_or(FIRST as u8 + start as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_free_and_outside_the_ephemeral_range() {
        let (low, high) = listen_port_range();
        let mut ports = Allocator::new();
        let chosen: Vec<u16> = (0..20).map(|_| ports.next()).collect();
        ports.finish().unwrap();
        let mut unique = chosen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 20);
        assert!(chosen.iter().all(|p| (low..high).contains(p)));
        for port in chosen {
            std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }

    #[test]
    fn pod_ranges_avoid_busy_loopback_nets() {
        let busy: Vec<u8> = (60..=200).filter(|b| *b != 150 && *b != 151).collect();
        let mut rng = rand::thread_rng();
        for _ in 0..20 {
            assert_eq!(base_avoiding(&busy, 2, &mut rng), 150);
        }
        assert!(
            busy_loopback_nets().contains(&0),
            "127.0.0.1 listeners exist while tests run"
        );
    }
}
