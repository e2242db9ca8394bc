//! A small writer for Prometheus' text exposition format, for servers whose
//! metrics are read off their state at scrape time.

use std::fmt::Write;

#[derive(Default)]
pub struct MetricsText {
    out: String,
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

    /// One sample with labels; the HELP/TYPE lines are written once per name.
    pub fn sample(
        &mut self,
        name: &str,
        help: &str,
        kind: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> &mut Self {
        if !self.out.contains(&format!("# TYPE {name} ")) {
            let _ = writeln!(self.out, "# HELP {name} {help}");
            let _ = writeln!(self.out, "# TYPE {name} {kind}");
        }
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let escaped = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{k}=\"{escaped}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_help_and_type_once_per_name() {
        let mut m = MetricsText::new();
        m.gauge("up", "whether it is up", 1.0);
        m.sample("reqs", "requests", "counter", &[("verb", "get")], 3.0);
        m.sample("reqs", "requests", "counter", &[("verb", "p\"ut")], 4.0);
        let text = m.finish();
        assert_eq!(text.matches("# TYPE reqs counter").count(), 1);
        assert!(text.contains("reqs{verb=\"p\\\"ut\"} 4\n"), "{text}");
        assert!(text.contains("up 1\n"));
    }
}
