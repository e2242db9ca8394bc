//! Linearizable register histories made up from a seed, with real concurrency and unknown outcomes, for the checker's benchmark and tests.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::history::{Func, Operation};

/// `count` operations on `keys` keys from `clients` clients, each taking effect at a point
/// inside its span; about 2% have an unknown outcome (half of those took effect).
pub fn history(count: usize, keys: usize, clients: u64, seed: u64) -> Vec<Operation> {
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
        let unknown = f != Func::Read && rng.gen_range(0..50) == 0;
        let applied = !unknown || rng.gen_bool(0.5);
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
