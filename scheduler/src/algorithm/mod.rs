//! The scheduling decision, free of I/O: given a pod and the nodes with what is already bound to them, pick a node or say why none fits.
//!
//! One pass over the nodes runs the [`filter`]s and computes each feasible node's
//! least-allocated score and its count of the pod's siblings; a second pass over the feasible
//! nodes adds the spreading score. Both are O(nodes), with each node's usage precomputed in its
//! [`NodeInfo`].

pub mod filter;
pub mod info;
pub mod message;
pub mod score;
#[cfg(test)]
mod tests;

use filter::{filter, Reason, Reasons};
use info::{NodeInfo, PodInfo};
use score::{least_allocated, spread, LEAST_ALLOCATED_WEIGHT, SPREAD_WEIGHT};

/// No node can take the pod.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unschedulable {
    /// Kubernetes-style: `0/3 nodes are available: 3 node(s) didn't match Pod's node selector.`
    pub message: String,
    /// How many nodes failed for each reason (reasons no node failed for are left out).
    pub reasons: Vec<(Reason, usize)>,
    /// The nodes considered.
    pub nodes: usize,
}

/// How many scored and filtered-out nodes a decision names (the first ones; the rest are
/// counted), so its event stays short on a large cluster.
const EXPLAINED_NODES: usize = 3;

/// The node chosen and why: the best scores and the nodes filtered out, with their reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement<'a> {
    pub node: &'a str,
    /// The highest scores, best first (the chosen node's first).
    pub scores: Vec<(&'a str, i64)>,
    pub feasible: usize,
    /// The first nodes filtered out, with why.
    pub filtered: Vec<(&'a str, Reasons)>,
    pub filtered_count: usize,
}

impl Placement<'_> {
    /// `scores: n1=180 n2=150; filtered out: n3 (node(s) didn't match Pod's node selector)`
    pub fn explanation(&self) -> String {
        let scores: Vec<String> = self
            .scores
            .iter()
            .map(|(node, score)| format!("{node}={score}"))
            .collect();
        let mut text = format!("scores: {}", scores.join(" "));
        if self.feasible > self.scores.len() {
            text.push_str(&format!(" (+{} more)", self.feasible - self.scores.len()));
        }
        if self.filtered_count > 0 {
            let filtered: Vec<String> = self
                .filtered
                .iter()
                .map(|(node, reasons)| {
                    let why: Vec<&str> = reasons.iter().map(Reason::message).collect();
                    format!("{node} ({})", why.join(", "))
                })
                .collect();
            text.push_str(&format!("; filtered out: {}", filtered.join(", ")));
            if self.filtered_count > self.filtered.len() {
                text.push_str(&format!(
                    " (+{} more)",
                    self.filtered_count - self.filtered.len()
                ));
            }
        }
        text
    }
}

struct Candidate<'a> {
    node: &'a NodeInfo,
    least_allocated: i64,
    siblings: u32,
}

impl Candidate<'_> {
    /// Higher score first, then the node with fewer pods, then the name: the same inputs
    /// always give the same node.
    fn better_than(&self, score: i64, other: &Candidate<'_>, other_score: i64) -> bool {
        (
            score,
            -self.node.pod_count(),
            std::cmp::Reverse(&self.node.name),
        ) > (
            other_score,
            -other.node.pod_count(),
            std::cmp::Reverse(&other.node.name),
        )
    }
}

/// Picks the node for `pod` among `nodes` (nodes whose object is unknown are skipped), or
/// explains why none fits.
pub fn schedule<'a>(
    pod: &PodInfo,
    nodes: impl IntoIterator<Item = &'a NodeInfo>,
) -> Result<&'a str, Unschedulable> {
    place(pod, nodes).map(|p| p.node)
}

/// [`schedule`], with the scores and the filtered-out nodes behind the choice.
pub fn place<'a>(
    pod: &PodInfo,
    nodes: impl IntoIterator<Item = &'a NodeInfo>,
) -> Result<Placement<'a>, Unschedulable> {
    let mut considered = 0usize;
    let mut filtered: Vec<(&'a str, Reasons)> = Vec::new();
    let mut failures = [0usize; Reason::ALL.len()];
    let mut candidates: Vec<Candidate<'a>> = Vec::new();
    let mut max_siblings = 0u32;
    for node in nodes.into_iter().filter(|n| n.exists()) {
        considered += 1;
        let reasons = filter(pod, node);
        if !reasons.fits() {
            for reason in reasons.iter() {
                failures[reason as usize] += 1;
            }
            if filtered.len() < EXPLAINED_NODES {
                filtered.push((node.name.as_str(), reasons));
            }
            continue;
        }
        let siblings = pod.owner.as_deref().map_or(0, |owner| node.owned_by(owner));
        max_siblings = max_siblings.max(siblings);
        candidates.push(Candidate {
            node,
            least_allocated: least_allocated(pod, node),
            siblings,
        });
    }
    let total = |c: &Candidate<'_>| {
        let spread_score = if pod.owner.is_some() {
            spread(c.siblings, max_siblings)
        } else {
            0
        };
        LEAST_ALLOCATED_WEIGHT * c.least_allocated + SPREAD_WEIGHT * spread_score
    };
    let mut best: Option<(&Candidate<'a>, i64)> = None;
    let mut top: Vec<(&'a str, i64)> = Vec::with_capacity(EXPLAINED_NODES + 1);
    for candidate in &candidates {
        let score = total(candidate);
        match best {
            Some((current, current_score))
                if !candidate.better_than(score, current, current_score) => {}
            _ => best = Some((candidate, score)),
        }
        top.push((candidate.node.name.as_str(), score));
        if top.len() > EXPLAINED_NODES {
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            top.truncate(EXPLAINED_NODES);
        }
    }
    if let Some((chosen, chosen_score)) = best {
        let node = chosen.node.name.as_str();
        // The chosen node first (ties are broken by pod count and name, not by score alone).
        top.retain(|(n, _)| *n != node);
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        top.insert(0, (node, chosen_score));
        top.truncate(EXPLAINED_NODES);
        return Ok(Placement {
            node,
            scores: top,
            feasible: candidates.len(),
            filtered_count: considered - candidates.len(),
            filtered,
        });
    }
    let reasons: Vec<(Reason, usize)> = Reason::ALL
        .into_iter()
        .zip(failures)
        .filter(|(_, count)| *count > 0)
        .collect();
    Err(Unschedulable {
        message: message::unschedulable_message(considered, &reasons),
        reasons,
        nodes: considered,
    })
}
