//! The supervisor's restart back-off for one component: 1s, doubling up to 30s, back to 1s once the component ran for 60s.

use std::time::{Duration, Instant};

/// The first delay after an exit.
pub const INITIAL: Duration = Duration::from_secs(1);
/// The longest delay: a component that keeps crashing is still retried twice a minute.
pub const MAX: Duration = Duration::from_secs(30);
/// A component that ran this long before exiting was healthy: its next delay is
/// [`INITIAL`] again, as a kubelet forgets a container's crash loop after a while.
pub const RESET_AFTER: Duration = Duration::from_secs(60);

/// When to start one component again. Pure: every call takes the current instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    /// The delay the next exit gets (unless the component ran long enough to reset it).
    next: Duration,
    /// When the component was last (seen) started.
    started: Instant,
}

impl Backoff {
    /// A component seen running (or started) at `now`.
    pub fn new(now: Instant) -> Backoff {
        Backoff {
            next: INITIAL,
            started: now,
        }
    }

    /// The component exited at `now`: how long to wait before starting it again.
    pub fn exited(&mut self, now: Instant) -> Duration {
        if now.saturating_duration_since(self.started) >= RESET_AFTER {
            self.next = INITIAL;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(MAX);
        delay
    }

    /// The component was started again at `now`.
    pub fn started(&mut self, now: Instant) {
        self.started = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn delays_double_up_to_the_maximum() {
        let t0 = Instant::now();
        let mut b = Backoff::new(t0);
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..8 {
            // Each run crashes 2s after it started.
            now += secs(2);
            let delay = b.exited(now);
            delays.push(delay.as_secs());
            now += delay;
            b.started(now);
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn a_long_run_resets_the_delay() {
        let t0 = Instant::now();
        let mut b = Backoff::new(t0);
        assert_eq!(b.exited(t0 + secs(1)), secs(1));
        b.started(t0 + secs(2));
        assert_eq!(b.exited(t0 + secs(3)), secs(2));
        b.started(t0 + secs(5));
        assert_eq!(b.exited(t0 + secs(6)), secs(4));
        b.started(t0 + secs(10));
        // 59s is not long enough...
        assert_eq!(b.exited(t0 + secs(69)), secs(8));
        b.started(t0 + secs(77));
        // ...60s is.
        assert_eq!(b.exited(t0 + secs(137)), secs(1));
        b.started(t0 + secs(138));
        assert_eq!(b.exited(t0 + secs(139)), secs(2));
    }

    #[test]
    fn a_component_seen_running_long_ago_starts_at_the_initial_delay() {
        let t0 = Instant::now();
        let mut b = Backoff::new(t0);
        assert_eq!(b.exited(t0 + secs(3600)), INITIAL);
    }
}
