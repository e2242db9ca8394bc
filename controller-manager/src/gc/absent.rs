//! Owners known to be gone, by UID, so the dependents of one deleted owner cost one lookup
//! instead of one each (Kubernetes' `absentOwnerCache`). A UID is never reused, so an owner
//! once read as absent stays absent; the set only bounds its memory, forgetting the oldest
//! UIDs first (a forgotten one costs a lookup again, nothing more). A FIFO of a few hundred
//! strings is all this needs, so no cache crate.

use std::collections::{HashSet, VecDeque};

use parking_lot::Mutex;

/// How many absent owners are remembered (Kubernetes keeps 500).
pub const CAPACITY: usize = 500;

#[derive(Default)]
pub struct AbsentOwners {
    inner: Mutex<Fifo>,
}

#[derive(Default)]
struct Fifo {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl AbsentOwners {
    pub fn contains(&self, uid: &str) -> bool {
        self.inner.lock().set.contains(uid)
    }

    /// Remembers `uid` as gone, forgetting the oldest beyond [`CAPACITY`].
    pub fn insert(&self, uid: &str) {
        if uid.is_empty() {
            return;
        }
        let mut fifo = self.inner.lock();
        if !fifo.set.insert(uid.to_string()) {
            return;
        }
        fifo.order.push_back(uid.to_string());
        while fifo.order.len() > CAPACITY {
            if let Some(oldest) = fifo.order.pop_front() {
                fifo.set.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_capacity_forgetting_the_oldest() {
        let absent = AbsentOwners::default();
        assert!(!absent.contains("u0"));
        for i in 0..=CAPACITY {
            absent.insert(&format!("u{i}"));
        }
        absent.insert("u1");
        assert!(!absent.contains("u0"), "the oldest is forgotten");
        assert!(absent.contains("u1") && absent.contains(&format!("u{CAPACITY}")));
        absent.insert("");
        assert!(!absent.contains(""));
    }
}
