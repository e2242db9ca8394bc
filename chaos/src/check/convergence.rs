//! Convergence after the last fault: the controller invariants are read again and again until they hold; if they never do within the bound, the verdict names exactly what was still off at the end (each failing invariant with its object, wanted and seen, and the pods behind it) and since when it had been off without a break, or why the cluster could not be read.

use std::time::Duration;

use super::{Anomaly, Verdict};

/// What the reads of the cluster after the last fault found, read by read.
#[derive(Clone, Debug, Default)]
pub struct Convergence {
    reads: usize,
    /// The latest read's anomalies, each with when (since the last fault) the same anomaly
    /// was first seen in an unbroken run of reads.
    failing: Vec<(Anomaly, Duration)>,
    /// The latest read failed: why, and since when reads kept failing.
    unreadable: Option<(String, Duration)>,
    converged_at: Option<Duration>,
}

impl Convergence {
    /// One read, `at` after the last fault: the controller checker's verdict on the cluster,
    /// or why the cluster could not be read.
    pub fn observe(&mut self, at: Duration, read: Result<&Verdict, &str>) {
        self.reads += 1;
        match read {
            Err(why) => {
                let since = self.unreadable.as_ref().map_or(at, |(_, since)| *since);
                self.unreadable = Some((why.to_string(), since));
            }
            Ok(verdict) => {
                self.unreadable = None;
                if verdict.valid() {
                    self.converged_at.get_or_insert(at);
                }
                // An anomaly seen in the previous read too keeps its start.
                self.failing = verdict
                    .first
                    .iter()
                    .map(|a| {
                        let since = self
                            .failing
                            .iter()
                            .find(|(old, _)| old.what == a.what)
                            .map_or(at, |(_, since)| *since);
                        (a.clone(), since)
                    })
                    .collect();
            }
        }
    }

    /// When the invariants first held, if they did.
    pub fn converged_at(&self) -> Option<Duration> {
        self.converged_at
    }

    /// Valid when the invariants held; otherwise one anomaly per invariant still off at the
    /// end (or the read error that left nothing to judge).
    pub fn verdict(&self, within: Duration) -> Verdict {
        let mut v = Verdict::new("convergence", self.reads);
        if self.converged_at.is_some() {
            return v;
        }
        if self.reads == 0 {
            v.anomaly(
                format!("the cluster was never read within {within:?} of the last fault"),
                vec![],
            );
            return v;
        }
        if let Some((why, since)) = &self.unreadable {
            v.anomaly(
                format!("the cluster could not be read {within:?} after the last fault: {why}"),
                vec![format!(
                    "reads failing since {:.1}s after the last fault",
                    since.as_secs_f64()
                )],
            );
        }
        for (a, since) in &self.failing {
            let mut evidence = vec![format!(
                "off without a break since {:.1}s after the last fault",
                since.as_secs_f64()
            )];
            evidence.extend(a.evidence.iter().cloned());
            v.anomaly(
                format!("still off {within:?} after the last fault: {}", a.what),
                evidence,
            );
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(whats: &[&str]) -> Verdict {
        let mut v = Verdict::new("controller invariants", 3);
        for w in whats {
            v.anomaly(w.to_string(), vec![format!("evidence of {w}")]);
        }
        v
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn names_what_stayed_off_and_since_when() {
        let mut c = Convergence::default();
        let rc = "chaos-rc: 1 Running of 2 pods, wants 2";
        let job = "job chaos-job: 3 pods Succeeded, wants exactly 4";
        c.observe(S(1), Ok(&failing(&[rc, "chaos-ds: 0 pod(s) on node n1"])));
        c.observe(S(2), Ok(&failing(&[job, rc])));
        c.observe(S(3), Ok(&failing(&[job, rc])));
        let v = c.verdict(S(180));
        assert_eq!(v.label(), "INVALID");
        assert_eq!(v.checked, 3);
        // The DaemonSet came right; the RC was off from the first read, the Job from the second.
        assert_eq!(v.anomalies, 2, "{v:#?}");
        assert_eq!(
            v.first[0].what,
            format!("still off 180s after the last fault: {job}")
        );
        assert_eq!(
            v.first[0].evidence,
            vec![
                "off without a break since 2.0s after the last fault".to_string(),
                format!("evidence of {job}")
            ]
        );
        assert!(v.first[1].what.ends_with(rc));
        assert_eq!(
            v.first[1].evidence[0],
            "off without a break since 1.0s after the last fault"
        );
    }

    #[test]
    fn an_anomaly_that_went_away_and_came_back_starts_again() {
        let mut c = Convergence::default();
        let rc = "chaos-rc: 1 Running of 2 pods, wants 2";
        c.observe(S(1), Ok(&failing(&[rc])));
        c.observe(S(2), Ok(&failing(&["other"])));
        c.observe(S(5), Ok(&failing(&[rc])));
        let v = c.verdict(S(10));
        assert_eq!(v.anomalies, 1);
        assert_eq!(
            v.first[0].evidence[0],
            "off without a break since 5.0s after the last fault"
        );
    }

    #[test]
    fn a_cluster_that_cannot_be_read_is_named_with_what_was_last_seen() {
        let mut c = Convergence::default();
        c.observe(
            S(1),
            Ok(&failing(&["chaos-rc: 0 Running of 0 pods, wants 2"])),
        );
        c.observe(S(2), Err("listing pods: connection refused"));
        c.observe(S(3), Err("listing pods: connection refused"));
        let v = c.verdict(S(3));
        assert_eq!(v.anomalies, 2, "{v:#?}");
        assert!(v.first[0].what.contains("could not be read 3s after"));
        assert!(v.first[0]
            .what
            .ends_with("listing pods: connection refused"));
        assert_eq!(
            v.first[0].evidence,
            vec!["reads failing since 2.0s after the last fault"]
        );
        assert!(v.first[1].what.contains("chaos-rc: 0 Running"));
        assert!(Convergence::default().verdict(S(1)).label() == "INVALID");
    }

    #[test]
    fn converged_once_is_valid_and_says_when() {
        let mut c = Convergence::default();
        c.observe(S(1), Ok(&failing(&["x"])));
        c.observe(S(4), Ok(&failing(&[])));
        assert_eq!(c.converged_at(), Some(S(4)));
        let v = c.verdict(S(10));
        assert!(v.valid(), "{v:#?}");
        assert_eq!(v.checked, 2);
    }
}
