//! Describes the machine a report was measured on (nproc, kernel, CPU, date).

use std::fmt;

#[derive(Debug, Clone)]
pub struct Machine {
    pub nproc: usize,
    pub kernel: String,
    pub cpu: String,
    pub date: String,
    /// 1-minute load average when the description was taken: other work on the
    /// machine skews every number, so a report says how busy it was.
    pub load_1m: Option<f64>,
}

/// The 1-minute load average from /proc/loadavg text.
pub fn load_1m(loadavg: &str) -> Option<f64> {
    loadavg.split_whitespace().next()?.parse().ok()
}

/// The `model name` of the first CPU in /proc/cpuinfo text.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

impl Machine {
    pub fn current() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: format!("Linux {}", read("/proc/sys/kernel/osrelease").trim()),
            cpu: cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown CPU".into()),
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            load_1m: load_1m(&read("/proc/loadavg")),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} CPUs ({}), {}, measured {}",
            self.nproc, self.cpu, self.kernel, self.date
        )?;
        if let Some(load) = self.load_1m {
            write!(f, ", 1-minute load average before the run {load:.2}")?;
        }
        Ok(())
    }
}

impl Machine {
    /// Whether other work was running when the description was taken (a load
    /// average above a quarter of the CPUs).
    pub fn was_busy(&self) -> bool {
        self.load_1m.is_some_and(|l| l > 0.25 * self.nproc as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_from_cpuinfo() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            cpu_model(text).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(cpu_model("processor: 0\n"), None);
    }

    #[test]
    fn load_average_and_busy_machines() {
        assert_eq!(load_1m("0.52 0.40 0.31 1/234 5678\n"), Some(0.52));
        assert_eq!(load_1m(""), None);
        let mut m = Machine {
            nproc: 2,
            kernel: "k".into(),
            cpu: "c".into(),
            date: "d".into(),
            load_1m: Some(0.4),
        };
        assert!(!m.was_busy());
        assert!(
            m.to_string().ends_with("load average before the run 0.40"),
            "{m}"
        );
        m.load_1m = Some(0.6);
        assert!(m.was_busy());
    }
}
