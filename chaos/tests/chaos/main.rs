//! skiff-chaos end to end: the checker flags a store weakened on purpose (and passes the real one), and a whole chaos run under `skiff up` with kills and pauses of every component kind is green.

mod skiff_up;
mod weakened_store;

pub fn step(name: &str) {
    eprintln!("=== {name}");
}
