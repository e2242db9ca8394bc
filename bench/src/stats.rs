//! Latency summaries: nearest-rank percentiles over every recorded sample.

use std::fmt;
use std::time::Duration;

/// The value at percentile `p` (0..=100) of `sorted` (ascending), by the
/// nearest-rank method: the smallest sample with at least p% of the samples at or
/// below it. Every sample is kept, so no bucketing error hides in the tail.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.saturating_sub(1).min(sorted.len() - 1);
    Some(sorted[index])
}

/// Median of unsorted durations (the mean of the two middle ones for an even count).
pub fn median(values: &[Duration]) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        Some(sorted[mid])
    } else {
        Some((sorted[mid - 1] + sorted[mid]) / 2)
    }
}

/// Distribution of successful request latencies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    /// Summarises `samples` (any order); `None` when there are none.
    pub fn from_samples(mut samples: Vec<Duration>) -> Option<Summary> {
        samples.sort_unstable();
        let total: Duration = samples.iter().sum();
        let count = samples.len();
        Some(Summary {
            count,
            mean: total.checked_div(u32::try_from(count).ok()?)?,
            p50: percentile(&samples, 50.0)?,
            p90: percentile(&samples, 90.0)?,
            p99: percentile(&samples, 99.0)?,
            max: *samples.last()?,
        })
    }
}

/// Milliseconds with enough digits for sub-millisecond latencies.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The outcome of one load run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub latency: Option<Summary>,
    pub first_error: Option<String>,
}

impl LoadReport {
    /// Successful requests per second of wall-clock time.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "requests:   {} ok, {} errors in {:.3} s",
            self.ok,
            self.errors,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "throughput: {:.1} requests/s", self.throughput())?;
        match &self.latency {
            Some(s) => writeln!(
                f,
                "latency ms: mean {}  p50 {}  p90 {}  p99 {}  max {}",
                ms(s.mean),
                ms(s.p50),
                ms(s.p90),
                ms(s.p99),
                ms(s.max)
            )?,
            None => writeln!(f, "latency:    no successful request")?,
        }
        if let Some(e) = &self.first_error {
            writeln!(f, "first error: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let s = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&s, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&s, 90.0), Some(Duration::from_millis(90)));
        assert_eq!(percentile(&s, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&s, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&s, 0.0), Some(Duration::from_millis(1)));
    }

    #[test]
    fn percentile_of_small_and_empty_sets() {
        assert_eq!(percentile(&[], 50.0), None);
        let one = millis(&[7]);
        assert_eq!(percentile(&one, 1.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&one, 99.0), Some(Duration::from_millis(7)));
        // 10 samples: p99 must be the maximum, p50 the 5th smallest.
        let ten = millis(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(percentile(&ten, 99.0), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&ten, 50.0), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&ten, 51.0), Some(Duration::from_millis(6)));
    }

    #[test]
    fn summary_sorts_its_input() {
        let s = Summary::from_samples(millis(&[30, 10, 20, 40])).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.p50, Duration::from_millis(20));
        assert_eq!(s.max, Duration::from_millis(40));
        assert_eq!(s.mean, Duration::from_millis(25));
        assert_eq!(Summary::from_samples(Vec::new()), None);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&millis(&[3, 1, 2])), Some(Duration::from_millis(2)));
        assert_eq!(
            median(&millis(&[4, 1, 3, 2])),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn throughput_counts_only_successes() {
        let r = LoadReport {
            ok: 500,
            errors: 20,
            elapsed: Duration::from_millis(250),
            latency: None,
            first_error: None,
        };
        assert!((r.throughput() - 2000.0).abs() < 1e-9);
    }
}
