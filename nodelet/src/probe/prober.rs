//! Scheduling a container's probe on tokio timers and turning attempts into verdicts with
//! Kubernetes' thresholds.
//!
//! Timing: the first attempt runs `initial_delay` after the container started, then one
//! every `period`. An attempt that overruns its period is followed at once by the next
//! one (as with the kubelet's ticker), never by a burst of the missed ones.
//! Verdicts: liveness starts healthy, readiness and startup start unhealthy; the verdict
//! flips after `failure_threshold` consecutive failures or `success_threshold`
//! consecutive successes. A liveness or startup probe stops after its failure verdict
//! (the container is going to be restarted; a new prober watches the new instance), and
//! a startup probe also stops after its success verdict.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::{run_once, ProbeOutcome, ProbeSpec};
use crate::runtime::ContainerId;

/// Which probe of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    /// `Liveness`, `Readiness`, `Startup`: the prefix of Kubernetes' event messages
    /// (`Liveness probe failed: ...`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }
}

/// Consecutive-result counting, as the kubelet's probe worker does it.
#[derive(Debug, Clone)]
pub struct ThresholdTracker {
    success_threshold: u32,
    failure_threshold: u32,
    healthy: bool,
    last: Option<bool>,
    run: u32,
}

impl ThresholdTracker {
    pub fn new(kind: ProbeKind, success_threshold: u32, failure_threshold: u32) -> Self {
        ThresholdTracker {
            success_threshold: success_threshold.max(1),
            failure_threshold: failure_threshold.max(1),
            healthy: kind == ProbeKind::Liveness,
            last: None,
            run: 0,
        }
    }

    /// The current verdict.
    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// How many attempts in a row had the last attempt's result.
    pub fn consecutive(&self) -> u32 {
        self.run
    }

    /// Records one attempt; returns the new verdict if it changed.
    pub fn observe(&mut self, success: bool) -> Option<bool> {
        if self.last == Some(success) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(success);
            self.run = 1;
        }
        let threshold = if success {
            self.success_threshold
        } else {
            self.failure_threshold
        };
        if self.run >= threshold && self.healthy != success {
            self.healthy = success;
            Some(success)
        } else {
            None
        }
    }
}

/// One attempt and where the verdict stands after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeUpdate {
    pub container: ContainerId,
    pub kind: ProbeKind,
    pub outcome: ProbeOutcome,
    /// Attempts in a row with this attempt's result (for "failed N times" messages).
    pub consecutive: u32,
    /// The verdict after this attempt: alive (liveness) / ready (readiness) / started.
    pub healthy: bool,
    /// True when this attempt flipped the verdict: a liveness update with `changed` and
    /// not `healthy` means "kill and restart the container".
    pub changed: bool,
}

/// A running probe schedule; dropping it stops the probe.
#[derive(Debug)]
pub struct Prober {
    task: JoinHandle<()>,
}

impl Prober {
    /// Probes `container` per `spec`, counting `initial_delay` from `started` (see
    /// [`instant_of`]), and sends an update per attempt. Stops when dropped, when the
    /// receiver is gone, or as the module docs describe.
    pub fn spawn(
        container: ContainerId,
        kind: ProbeKind,
        spec: ProbeSpec,
        started: Instant,
        updates: mpsc::Sender<ProbeUpdate>,
    ) -> Prober {
        let handler = Arc::new(spec.handler.clone());
        let timeout = spec.timeout;
        Prober::spawn_with(container, kind, &spec, started, updates, move || {
            let handler = handler.clone();
            async move { run_once(&handler, timeout).await }
        })
    }

    /// Like [`Prober::spawn`] with the timing and thresholds of `spec` but `attempt` in
    /// place of its handler (which is not used).
    pub fn spawn_with<F, Fut>(
        container: ContainerId,
        kind: ProbeKind,
        spec: &ProbeSpec,
        started: Instant,
        updates: mpsc::Sender<ProbeUpdate>,
        attempt: F,
    ) -> Prober
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ProbeOutcome> + Send + 'static,
    {
        let tracker = ThresholdTracker::new(kind, spec.success_threshold, spec.failure_threshold);
        let first = started + spec.initial_delay;
        // A zero period would spin; Kubernetes' minimum is 1 s, tests use less.
        let period = spec.period.max(Duration::from_millis(1));
        let task = tokio::spawn(probe_loop(
            container, kind, tracker, first, period, updates, attempt,
        ));
        Prober { task }
    }

    /// True once the prober stopped by itself.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn probe_loop<F, Fut>(
    container: ContainerId,
    kind: ProbeKind,
    mut tracker: ThresholdTracker,
    first: Instant,
    period: Duration,
    updates: mpsc::Sender<ProbeUpdate>,
    mut attempt: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ProbeOutcome>,
{
    let mut ticker = tokio::time::interval_at(first, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let outcome = attempt().await;
        let changed = tracker.observe(outcome.is_success());
        let update = ProbeUpdate {
            container: container.clone(),
            kind,
            outcome,
            consecutive: tracker.consecutive(),
            healthy: tracker.healthy(),
            changed: changed.is_some(),
        };
        if updates.send(update).await.is_err() {
            return;
        }
        match (kind, changed) {
            (ProbeKind::Liveness | ProbeKind::Startup, Some(false)) => return,
            (ProbeKind::Startup, Some(true)) => return,
            _ => {}
        }
    }
}

/// The tokio instant corresponding to a wall-clock time in the past (a container's
/// `started_at`), for [`Prober::spawn`].
pub fn instant_of(wall: DateTime<Utc>) -> Instant {
    let now = Instant::now();
    let age = (Utc::now() - wall).to_std().unwrap_or(Duration::ZERO);
    now.checked_sub(age).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ProbeHandler, TcpSocketAction};
    use std::collections::VecDeque;
    use std::sync::Mutex;

    fn spec(initial: u64, period: u64, success: u32, failure: u32) -> ProbeSpec {
        ProbeSpec {
            initial_delay: Duration::from_secs(initial),
            period: Duration::from_secs(period),
            success_threshold: success,
            failure_threshold: failure,
            ..ProbeSpec::new(ProbeHandler::TcpSocket(TcpSocketAction {
                host: "127.0.0.1".into(),
                port: 1,
            }))
        }
    }

    fn id() -> ContainerId {
        ContainerId {
            pod_uid: "uid".into(),
            container: "c".into(),
            instance: 0,
        }
    }

    /// Attempts that return the scripted results in order (then keep failing), each
    /// taking `cost` of (paused) time.
    fn scripted(
        script: &str,
        cost: Duration,
    ) -> impl FnMut() -> futures::future::BoxFuture<'static, ProbeOutcome> + Send + 'static {
        let queue = Arc::new(Mutex::new(script.chars().collect::<VecDeque<char>>()));
        move || {
            let queue = queue.clone();
            Box::pin(async move {
                tokio::time::sleep(cost).await;
                match queue.lock().unwrap().pop_front() {
                    Some('S') => ProbeOutcome::Success,
                    _ => ProbeOutcome::Failure("HTTP probe failed with statuscode: 500".into()),
                }
            })
        }
    }

    /// Collects (seconds since start, outcome ok, healthy, changed) until the prober
    /// stops or `limit` updates arrived.
    async fn collect(
        mut rx: mpsc::Receiver<ProbeUpdate>,
        start: Instant,
        limit: usize,
    ) -> Vec<(f64, bool, bool, bool)> {
        let mut out = Vec::new();
        while out.len() < limit {
            match rx.recv().await {
                Some(u) => out.push((
                    (Instant::now() - start).as_secs_f64(),
                    u.outcome.is_success(),
                    u.healthy,
                    u.changed,
                )),
                None => break,
            }
        }
        out
    }

    #[test]
    fn thresholds_follow_the_kubelet() {
        let mut live = ThresholdTracker::new(ProbeKind::Liveness, 1, 3);
        assert!(live.healthy());
        let got: Vec<Option<bool>> = [false, false, true, false, false, false, false]
            .into_iter()
            .map(|ok| live.observe(ok))
            .collect();
        // A success in between resets the count; the third failure in a row flips.
        assert_eq!(got, [None, None, None, None, None, Some(false), None]);
        assert_eq!(live.consecutive(), 4);

        let mut ready = ThresholdTracker::new(ProbeKind::Readiness, 2, 1);
        assert!(!ready.healthy());
        let got: Vec<Option<bool>> = [true, false, true, true, true, false]
            .into_iter()
            .map(|ok| ready.observe(ok))
            .collect();
        assert_eq!(got, [None, None, None, Some(true), None, Some(false)]);
    }

    #[tokio::test(start_paused = true)]
    async fn liveness_kills_after_failure_threshold_with_faithful_timing() {
        let (tx, rx) = mpsc::channel(16);
        let start = Instant::now();
        let prober = Prober::spawn_with(
            id(),
            ProbeKind::Liveness,
            &spec(15, 10, 1, 3),
            start,
            tx,
            scripted("SSSSS", Duration::ZERO),
        );
        let got = collect(rx, start, 100).await;
        let times: Vec<f64> = got.iter().map(|g| g.0).collect();
        assert_eq!(times, [15.0, 25.0, 35.0, 45.0, 55.0, 65.0, 75.0, 85.0]);
        // Healthy through two failures; the third flips it, and probing stops.
        assert!(got[..7].iter().all(|g| g.2 && !g.3));
        assert_eq!(got[7], (85.0, false, false, true));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(prober.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn readiness_flips_both_ways_and_keeps_probing() {
        let (tx, rx) = mpsc::channel(16);
        let start = Instant::now();
        let _prober = Prober::spawn_with(
            id(),
            ProbeKind::Readiness,
            &spec(0, 2, 2, 2),
            start,
            tx,
            scripted("SSFSFFSS", Duration::ZERO),
        );
        let got = collect(rx, start, 9).await;
        let flips: Vec<(f64, bool)> = got.iter().filter(|g| g.3).map(|g| (g.0, g.2)).collect();
        assert_eq!(flips, [(2.0, true), (10.0, false), (14.0, true)]);
        assert_eq!(got.len(), 9, "readiness keeps probing");
        assert_eq!(got[0].0, 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_attempt_is_followed_by_one_attempt_not_a_burst() {
        let (tx, rx) = mpsc::channel(16);
        let start = Instant::now();
        let _prober = Prober::spawn_with(
            id(),
            ProbeKind::Readiness,
            &spec(1, 1, 1, 3),
            start,
            tx,
            scripted("SSSS", Duration::from_millis(2500)),
        );
        let got = collect(rx, start, 3).await;
        let times: Vec<f64> = got.iter().map(|g| g.0).collect();
        // Attempts start at 1, 3.5 and 6 (each takes 2.5 s): the ticks missed meanwhile
        // collapse into one.
        assert_eq!(times, [3.5, 6.0, 8.5]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_initial_delay_counts_from_the_container_start() {
        let (tx, rx) = mpsc::channel(16);
        // The container started 20 s ago (a re-adopted one): probing starts at once.
        tokio::time::advance(Duration::from_secs(30)).await;
        let started = Instant::now() - Duration::from_secs(20);
        let now = Instant::now();
        let _prober = Prober::spawn_with(
            id(),
            ProbeKind::Liveness,
            &spec(15, 10, 1, 3),
            started,
            tx,
            scripted("SS", Duration::ZERO),
        );
        let got = collect(rx, now, 2).await;
        assert_eq!(got[0].0, 0.0);
        assert_eq!(got[1].0, 10.0);
    }

    #[tokio::test]
    async fn dropping_the_prober_stops_it() {
        let (tx, mut rx) = mpsc::channel(16);
        let prober = Prober::spawn_with(
            id(),
            ProbeKind::Readiness,
            &ProbeSpec {
                period: Duration::from_millis(10),
                ..spec(0, 0, 1, 3)
            },
            Instant::now(),
            tx,
            scripted("", Duration::ZERO),
        );
        assert!(rx.recv().await.is_some());
        drop(prober);
        // The task is aborted: its sender goes away and the channel closes.
        while rx.recv().await.is_some() {}
    }

    #[test]
    fn instant_of_maps_wall_clock_age() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let started = Utc::now() - chrono::Duration::seconds(5);
            let age = Instant::now() - instant_of(started);
            assert!(age >= Duration::from_millis(4900) && age <= Duration::from_millis(5100));
        });
    }
}
