//! Restart back-off (`CrashLoopBackOff`, `ImagePullBackOff`) with the kubelet's timing, and
//! durations written the way Go prints them (`10s`, `1m20s`, `5m0s`) for its messages.

use std::time::Duration;

/// The longest back-off (the kubelet's `MaxContainerBackOff`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A container that ran at least this long before exiting starts its back-off afresh (the
/// kubelet forgets a back-off entry not updated for twice the maximum).
pub const RESET_AFTER: Duration = Duration::from_secs(600);

/// One container's back-off. As in the kubelet, the first exit is restarted at once; each
/// further exit waits `base`, then twice as long each time, capped at `cap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    /// The delay the next restart gets; zero until the first restart happened.
    next: Duration,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base: base.min(cap),
            cap,
            next: Duration::ZERO,
        }
    }

    /// The delay before restarting a container that ran for `ran_for` and exited, and
    /// advances the back-off for the exit after that.
    pub fn next_delay(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= RESET_AFTER {
            self.next = Duration::ZERO;
        }
        let delay = self.next;
        self.next = if delay.is_zero() {
            self.base
        } else {
            (delay * 2).min(self.cap)
        };
        delay
    }

    /// Forgets every earlier exit (a changed container definition starts afresh).
    pub fn reset(&mut self) {
        self.next = Duration::ZERO;
    }
}

/// A duration as Go's `time.Duration.String()` writes it: `500ms`, `10s`, `1.5s`, `1m20s`,
/// `5m0s`, `1h0m0s`. Kubernetes' messages embed durations in this form.
pub fn go_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return "0s".to_string();
    }
    if d < Duration::from_secs(1) {
        return format!("{total_ms}ms");
    }
    let hours = total_ms / 3_600_000;
    let minutes = (total_ms / 60_000) % 60;
    let secs = (total_ms / 1000) % 60;
    let millis = total_ms % 1000;
    let seconds = if millis == 0 {
        format!("{secs}s")
    } else {
        let frac = format!("{millis:03}");
        format!("{secs}.{}s", frac.trim_end_matches('0'))
    };
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}")
    } else {
        seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn doubles_from_the_base_to_the_cap_after_an_immediate_first_restart() {
        let mut b = Backoff::new(secs(10), MAX_BACKOFF);
        let delays: Vec<u64> = (0..9).map(|_| b.next_delay(secs(1)).as_secs()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn a_long_run_resets_the_back_off() {
        let table: &[(&[u64], &[u64])] = &[
            // (how long each instance ran, the delay before each restart)
            (&[1, 1, 1, 600, 1], &[0, 10, 20, 0, 10]),
            (&[1, 1, 599, 1], &[0, 10, 20, 40]),
            (&[700, 700, 700], &[0, 0, 0]),
        ];
        for (runs, want) in table {
            let mut b = Backoff::new(secs(10), MAX_BACKOFF);
            let got: Vec<u64> = runs
                .iter()
                .map(|r| b.next_delay(secs(*r)).as_secs())
                .collect();
            assert_eq!(&got, want, "runs {runs:?}");
        }
    }

    #[test]
    fn a_small_base_for_tests_and_a_base_above_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(500), secs(2));
        let got: Vec<u128> = (0..5).map(|_| b.next_delay(secs(0)).as_millis()).collect();
        assert_eq!(got, [0, 500, 1000, 2000, 2000]);
        let mut b = Backoff::new(secs(600), MAX_BACKOFF);
        b.next_delay(secs(0));
        assert_eq!(b.next_delay(secs(0)), MAX_BACKOFF);
        b.reset();
        assert_eq!(b.next_delay(secs(0)), Duration::ZERO);
    }

    #[test]
    fn durations_print_like_go() {
        let table = [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(500), "500ms"),
            (secs(1), "1s"),
            (secs(10), "10s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(1250), "1.25s"),
            (secs(80), "1m20s"),
            (secs(160), "2m40s"),
            (secs(300), "5m0s"),
            (secs(3600), "1h0m0s"),
            (secs(3725), "1h2m5s"),
        ];
        for (d, want) in table {
            assert_eq!(go_duration(d), want, "{d:?}");
        }
    }
}
