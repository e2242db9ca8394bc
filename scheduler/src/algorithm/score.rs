//! Scores for the nodes a pod fits on: the emptiest node wins, and pods of one controller
//! spread out. Integer arithmetic, as in kube-scheduler, so a decision is reproducible.

use super::info::{NodeInfo, PodInfo};

/// The best a single scoring rule can give a node.
pub const MAX_NODE_SCORE: i64 = 100;
/// Weight of [`least_allocated`] (NodeResourcesFit's weight in kube-scheduler's defaults).
pub const LEAST_ALLOCATED_WEIGHT: i64 = 1;
/// Weight of [`spread`] (PodTopologySpread's weight in kube-scheduler's defaults), so that
/// spreading a controller's pods outweighs a difference in free resources.
pub const SPREAD_WEIGHT: i64 = 2;

/// NodeResourcesFit's LeastAllocated: the share of cpu and of memory left free once the pod
/// is placed, averaged, 0..=100. Pods without requests count with the default requests.
pub fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let allocatable = node.view().allocatable;
    let used = node.non_zero_requested();
    let cpu = free_share(
        used.milli_cpu
            .saturating_add(pod.non_zero_requests.milli_cpu),
        allocatable.milli_cpu,
    );
    let memory = free_share(
        used.memory.saturating_add(pod.non_zero_requests.memory),
        allocatable.memory,
    );
    (cpu + memory) / 2
}

fn free_share(requested: i64, capacity: i64) -> i64 {
    if capacity <= 0 || requested > capacity {
        return 0;
    }
    let free = i128::from(capacity - requested) * i128::from(MAX_NODE_SCORE);
    // free <= capacity * 100 and capacity fits an i64, so the quotient is at most 100.
    (free / i128::from(capacity)) as i64
}

/// SelectorSpread's normalisation: a node with `same_owner` of the pod's siblings scores
/// 100 * (max - same_owner) / max, where `max` is the most siblings on any candidate node;
/// every node scores 100 while no candidate holds a sibling.
pub fn spread(same_owner: u32, max: u32) -> i64 {
    if max == 0 {
        return MAX_NODE_SCORE;
    }
    MAX_NODE_SCORE * i64::from(max - same_owner.min(max)) / i64::from(max)
}
