//! The report: verdicts (with each checker's first counterexample), and for a run also faults by kind, operations by kind and outcome, and the convergence time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::Verdict;

/// What a run did and concluded (`report.json`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub seed: u64,
    pub duration_s: f64,
    /// Faults injected, by kind (`kill`, `pause`...) and by kind/role.
    pub faults: BTreeMap<String, usize>,
    /// Operations by workload/kind/outcome (`store read ok`).
    pub ops: BTreeMap<String, usize>,
    /// Seconds from the last fault healed until the controller invariants held.
    pub convergence_s: Option<f64>,
    pub verdicts: Vec<Verdict>,
}

impl Report {
    pub fn valid(&self) -> bool {
        self.verdicts.iter().all(Verdict::valid)
    }

    /// The report as text for a terminal.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.faults.is_empty() || !self.ops.is_empty() {
            out.push_str(&format!("seed {}, {:.0}s\n", self.seed, self.duration_s));
            out.push_str("faults:\n");
            for (k, n) in &self.faults {
                out.push_str(&format!("  {k:<40} {n}\n"));
            }
            out.push_str("operations:\n");
            for (k, n) in &self.ops {
                out.push_str(&format!("  {k:<40} {n}\n"));
            }
            match self.convergence_s {
                Some(s) => out.push_str(&format!("converged {s:.1}s after the last fault\n")),
                None => out.push_str("did not converge\n"),
            }
        }
        out.push_str(&render_verdicts(&self.verdicts));
        out
    }
}

pub fn render_verdicts(verdicts: &[Verdict]) -> String {
    let mut out = String::from("verdicts:\n");
    for v in verdicts {
        out.push_str(&format!(
            "  {:<40} {:<8} {} checked, {} anomalies\n",
            v.checker,
            v.label(),
            v.checked,
            v.anomalies
        ));
        // Every kept anomaly, not only the first: a run that did not converge names each
        // invariant that stayed off.
        for (i, a) in v.first.iter().enumerate() {
            let label = if i == 0 { "first" } else { "then" };
            out.push_str(&format!("    {label}: {}\n", a.what));
            for line in &a.evidence {
                out.push_str(&format!("      {line}\n"));
            }
        }
        if v.anomalies > v.first.len() {
            out.push_str(&format!(
                "    ... and {} more\n",
                v.anomalies - v.first.len()
            ));
        }
        for why in &v.unknown {
            out.push_str(&format!("    unknown: {why}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kept_anomaly_is_rendered_with_its_evidence_and_the_rest_counted() {
        let mut v = Verdict::new("convergence", 9);
        for i in 0..7 {
            v.anomaly(
                format!("still off: object {i}"),
                vec![format!("pod-{i} Pending on n1")],
            );
        }
        let text = render_verdicts(&[v]);
        assert!(text.contains("convergence"), "{text}");
        assert!(text.contains("INVALID  9 checked, 7 anomalies"), "{text}");
        assert!(text.contains("    first: still off: object 0\n      pod-0 Pending on n1\n"));
        assert!(text.contains("    then: still off: object 4\n      pod-4 Pending on n1\n"));
        assert!(!text.contains("object 5"), "{text}");
        assert!(text.contains("    ... and 2 more\n"), "{text}");
    }
}
