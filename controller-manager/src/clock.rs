//! Wall-clock time for the controllers, replaceable by a fake clock in tests.
//!
//! Wall-clock time (not `Instant`) because Job deadlines and CronJob schedules are defined
//! against timestamps stored in objects. Durations between local observations (the node
//! lifecycle controller's heartbeat ages) use Tokio's monotonic clock instead.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// Tells the time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Clone, Debug)]
pub struct FakeClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl FakeClock {
    pub fn new(now: DateTime<Utc>) -> FakeClock {
        FakeClock {
            now: Arc::new(Mutex::new(now)),
        }
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock() = now;
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.now.lock() += by;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fake_clock_moves_only_when_told() {
        let t0 = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let clock = FakeClock::new(t0);
        let shared = clock.clone();
        assert_eq!(shared.now(), t0);
        clock.advance(chrono::Duration::seconds(90));
        assert_eq!(shared.now(), t0 + chrono::Duration::seconds(90));
        clock.set(t0);
        assert_eq!(shared.now(), t0);
        assert!(SystemClock.now() > t0);
    }
}
