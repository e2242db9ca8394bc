//! Free loopback ports for the components, and a free `127.X` range for the nodes' pods.

use rand::Rng;
use skiff_common::ports::{free_loopback_port, listen_port_range};

use crate::error::CliError;

/// Hands out free ports ([`free_loopback_port`]: below the kernel's ephemeral range, never
/// the same one twice), so a plan can be written in one go and its failure reported after.
#[derive(Default)]
pub struct Allocator {
    exhausted: bool,
}

impl Allocator {
    /// A free port (0 once none can be found; [`Allocator::finish`] then reports it).
    pub fn next(&mut self) -> u16 {
        free_loopback_port().unwrap_or_else(|| {
            self.exhausted = true;
            0
        })
    }

    pub fn finish(self) -> Result<(), CliError> {
        if self.exhausted {
            let (low, high) = listen_port_range();
            return Err(CliError::msg(format!(
                "cannot find free loopback ports between {low} and {high}"
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
    fn pod_ranges_avoid_busy_loopback_nets() {
        let busy: Vec<u8> = (60..=200).filter(|b| *b != 150 && *b != 151).collect();
        let mut rng = rand::thread_rng();
        for _ in 0..20 {
            assert_eq!(base_avoiding(&busy, 2, &mut rng), 150);
        }
        // Its own listener: other tests' sockets come and go.
        let _listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(
            busy_loopback_nets().contains(&0),
            "a 127.0.0.1 listener is seen"
        );
    }
}
