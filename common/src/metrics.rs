//! Metrics for Prometheus: a writer of the text exposition format for servers whose metrics
//! are read off their state at scrape time, and the one latency histogram every server uses.
//!
//! The writer keeps each family's lines in one group with its HELP and TYPE first, whatever
//! order the samples are written in, as the format requires.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of every latency histogram's buckets: 1 ms to a minute.
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A latency histogram over [`LATENCY_BUCKETS`], lock-free to observe.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative: [`MetricsText::histogram`] adds them up).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|bound| secs <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// (upper bound, cumulative count) per bucket, then the count and the sum in seconds.
    fn snapshot(&self) -> (Vec<(f64, u64)>, u64, f64) {
        let mut cumulative = 0;
        let buckets = LATENCY_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(bound, n)| {
                cumulative += n.load(Ordering::Relaxed);
                (*bound, cumulative)
            })
            .collect();
        // Read after the buckets, so +Inf is never below the last bucket.
        let count = self.count().max(cumulative);
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (buckets, count, sum)
    }
}

/// Histograms of one family, one per set of label values (`verb`, `resource`, ...).
#[derive(Debug)]
pub struct HistogramVec {
    labels: &'static [&'static str],
    series: Mutex<BTreeMap<Vec<String>, Histogram>>,
}

impl HistogramVec {
    pub fn new(labels: &'static [&'static str]) -> HistogramVec {
        HistogramVec {
            labels,
            series: Mutex::new(BTreeMap::new()),
        }
    }

    /// One observation of the series with these label values (in the order of the names).
    pub fn observe(&self, values: &[&str], took: Duration) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        series.entry(key).or_default().observe(took);
    }

    /// Writes every series into `m` as the histogram family `name`.
    pub fn write(&self, m: &mut MetricsText, name: &str, help: &str) {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for (values, histogram) in series.iter() {
            let labels: Vec<(&str, &str)> = self
                .labels
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            m.histogram(name, help, &labels, histogram);
        }
    }
}

/// One family's HELP/TYPE and its sample lines.
struct Family {
    help: String,
    kind: &'static str,
    lines: String,
}

/// A Prometheus text exposition being written.
#[derive(Default)]
pub struct MetricsText {
    /// Family names in the order first written.
    order: Vec<String>,
    families: BTreeMap<String, Family>,
}

impl MetricsText {
    pub fn new() -> MetricsText {
        MetricsText::default()
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: f64) -> &mut Self {
        self.sample(name, help, "gauge", &[], value)
    }

    pub fn counter(&mut self, name: &str, help: &str, value: f64) -> &mut Self {
        self.sample(name, help, "counter", &[], value)
    }

    /// One sample with labels, in the family `name` of type `kind` (`counter`, `gauge`).
    pub fn sample(
        &mut self,
        name: &str,
        help: &str,
        kind: &'static str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> &mut Self {
        let lines = self.family(name, help, kind);
        write_sample(lines, name, labels, value);
        self
    }

    /// One series of the histogram family `name`: cumulative `_bucket`s, `_sum`, `_count`.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        histogram: &Histogram,
    ) -> &mut Self {
        let (buckets, count, sum) = histogram.snapshot();
        let lines = self.family(name, help, "histogram");
        let bucket = format!("{name}_bucket");
        let bounds = buckets
            .iter()
            .map(|(bound, n)| (bound.to_string(), *n))
            .chain([("+Inf".to_string(), count)]);
        for (le, n) in bounds {
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            write_sample(lines, &bucket, &with_le, n as f64);
        }
        write_sample(lines, &format!("{name}_sum"), labels, sum);
        write_sample(lines, &format!("{name}_count"), labels, count as f64);
        self
    }

    fn family(&mut self, name: &str, help: &str, kind: &'static str) -> &mut String {
        if !self.families.contains_key(name) {
            self.order.push(name.to_string());
        }
        &mut self
            .families
            .entry(name.to_string())
            .or_insert_with(|| Family {
                help: help.replace('\\', "\\\\").replace('\n', "\\n"),
                kind,
                lines: String::new(),
            })
            .lines
    }

    pub fn finish(self) -> String {
        let mut out = String::new();
        for name in &self.order {
            let family = &self.families[name];
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {}", family.kind);
            out.push_str(&family.lines);
        }
        out
    }
}

fn write_sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(out, "{k}=\"{escaped}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_stay_in_one_group_whatever_the_writing_order() {
        let mut m = MetricsText::new();
        for resource in ["pods", "nodes"] {
            m.sample(
                "objects",
                "objects",
                "gauge",
                &[("resource", resource)],
                1.0,
            );
            m.sample("events", "events", "gauge", &[("resource", resource)], 2.0);
        }
        m.gauge("up", "whether it is up", 1.0);
        m.sample("reqs", "requests", "counter", &[("verb", "p\"ut")], 4.0);
        let text = m.finish();
        skiff_testkit::prometheus::parse(&text).expect("valid Prometheus text");
        assert_eq!(
            text,
            "# HELP objects objects\n# TYPE objects gauge\n\
             objects{resource=\"pods\"} 1\nobjects{resource=\"nodes\"} 1\n\
             # HELP events events\n# TYPE events gauge\n\
             events{resource=\"pods\"} 2\nevents{resource=\"nodes\"} 2\n\
             # HELP up whether it is up\n# TYPE up gauge\nup 1\n\
             # HELP reqs requests\n# TYPE reqs counter\nreqs{verb=\"p\\\"ut\"} 4\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = HistogramVec::new(&["verb"]);
        h.observe(&["get"], Duration::from_millis(3));
        h.observe(&["get"], Duration::from_millis(200));
        h.observe(&["get"], Duration::from_secs(100));
        h.observe(&["put"], Duration::from_micros(10));
        let mut m = MetricsText::new();
        h.write(&mut m, "lat_seconds", "Latency.");
        let text = m.finish();
        skiff_testkit::prometheus::parse(&text).expect("valid Prometheus text");
        for line in [
            "lat_seconds_bucket{verb=\"get\",le=\"0.001\"} 0\n",
            "lat_seconds_bucket{verb=\"get\",le=\"0.005\"} 1\n",
            "lat_seconds_bucket{verb=\"get\",le=\"0.25\"} 2\n",
            "lat_seconds_bucket{verb=\"get\",le=\"60\"} 2\n",
            "lat_seconds_bucket{verb=\"get\",le=\"+Inf\"} 3\n",
            "lat_seconds_count{verb=\"get\"} 3\n",
            "lat_seconds_sum{verb=\"get\"} 100.203\n",
            "lat_seconds_bucket{verb=\"put\",le=\"0.001\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert_eq!(text.matches("# TYPE lat_seconds histogram").count(), 1);
    }
}
