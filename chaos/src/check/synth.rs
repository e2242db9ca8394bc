//! Linearizable register histories made up from a seed, with real concurrency and unknown outcomes, for the checker's benchmark and tests.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::history::{Func, Operation};

/// `count` operations on `keys` keys from `clients` clients, each taking effect at a point
/// inside its span; about 2% of the writes and cas have an unknown outcome (half of those
/// took effect).
pub fn history(count: usize, keys: usize, clients: u64, seed: u64) -> Vec<Operation> {
    let shape = Shape {
        keys,
        clients,
        unknown_one_in: 50,
        unknown_delay: 0,
        outage: None,
    };
    history_with(count, &shape, seed)
}

/// How [`history_with`] makes a history up.
pub struct Shape {
    pub keys: usize,
    /// Clients at a time, each with one operation open.
    pub clients: u64,
    /// About one write or cas in this many has an unknown outcome; half of those took effect.
    pub unknown_one_in: u32,
    /// An unknown operation that took effect did so up to this long after its call (a client
    /// timed out while the store had not yet committed it); 0: inside the span it would have
    /// had.
    pub unknown_delay: u64,
    /// Unknown outcomes only while the store is out (a partition, a killed leader), so they
    /// come in bunches; `None`: at any time.
    pub outage: Option<Outage>,
}

/// The store is out for `lasting` at the start of every `every`.
#[derive(Clone, Copy)]
pub struct Outage {
    pub every: u64,
    pub lasting: u64,
}

/// `count` operations of `shape`.
pub fn history_with(count: usize, shape: &Shape, seed: u64) -> Vec<Operation> {
    let Shape {
        keys,
        clients,
        unknown_one_in,
        unknown_delay,
        outage,
    } = *shape;
    let mut rng = StdRng::seed_from_u64(seed);
    // (linearization point, operation): results are filled in in that order.
    let mut planned: Vec<(u64, bool, Operation)> = Vec::with_capacity(count);
    let mut free_at = vec![0u64; clients as usize];
    for i in 0..count {
        let p = i % clients as usize;
        let call = free_at[p] + rng.gen_range(0..1_000);
        let point = call + rng.gen_range(1..5_000);
        let ret = point + rng.gen_range(1..5_000);
        free_at[p] = ret;
        let f = match rng.gen_range(0..10) {
            0..=3 => Func::Read,
            4..=6 => Func::Write,
            _ => Func::Cas,
        };
        let out = outage.is_none_or(|o| call % o.every < o.lasting);
        let unknown = f != Func::Read && out && rng.gen_range(0..unknown_one_in) == 0;
        let applied = !unknown || rng.gen_bool(0.5);
        let point = if unknown && unknown_delay > 0 {
            call + rng.gen_range(1..=unknown_delay)
        } else {
            point
        };
        planned.push((
            if applied { point } else { u64::MAX },
            applied,
            Operation {
                process: p as u64,
                f,
                key: format!("key-{}", rng.gen_range(0..keys)),
                value: (f != Func::Read).then(|| format!("v{i}")),
                from: None,
                call,
                ret: (!unknown).then_some(ret),
                succeeded: None,
            },
        ));
    }
    planned.sort_by_key(|(point, _, op)| (*point, op.call));
    let mut state: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut ops = Vec::with_capacity(count);
    for (_, applied, mut op) in planned {
        let current = state.entry(op.key.clone()).or_default();
        match op.f {
            Func::Read => op.value = current.clone(),
            Func::Write if applied => *current = op.value.clone(),
            Func::Write => {}
            Func::Cas => {
                // Compare against the current value most of the time, so most succeed.
                op.from = if rng.gen_range(0..4) == 0 || current.is_none() {
                    Some(format!("nope{}", op.call))
                } else {
                    current.clone()
                };
                let holds = op.from == *current;
                if applied && holds {
                    *current = op.value.clone();
                }
                if op.ret.is_some() {
                    op.succeeded = Some(holds);
                }
            }
        }
        ops.push(op);
    }
    ops.sort_by_key(|op| op.call);
    ops
}
