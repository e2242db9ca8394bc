//! Per-key exponential back-off for re-adding keys whose processing failed.

use std::time::Duration;

/// `base * 2^failures`, capped at `max` (client-go's `ItemExponentialFailureRateLimiter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExponentialBackoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for ExponentialBackoff {
    /// 5 ms doubling to 60 s: a failing key is retried quickly at first, and at most once a
    /// minute once it keeps failing.
    fn default() -> Self {
        ExponentialBackoff {
            base: Duration::from_millis(5),
            max: Duration::from_secs(60),
        }
    }
}

impl ExponentialBackoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        ExponentialBackoff { base, max }
    }

    /// The delay before the re-add that follows `failures` earlier ones.
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2u32.checked_pow(failures.min(31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .map_or(self.max, |d| d.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let b = ExponentialBackoff::default();
        let delays: Vec<u128> = (0..6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160]);
        assert_eq!(b.delay(20), Duration::from_secs(60));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60));
    }
}
