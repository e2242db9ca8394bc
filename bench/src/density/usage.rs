//! Resident memory and CPU time of every process of the cluster, from /proc.

use crate::rss::parse_vmrss;

/// One component's resources at one moment.
pub struct Usage {
    pub name: String,
    pub rss_bytes: u64,
    /// User + system CPU seconds since the process started.
    pub cpu_seconds: f64,
}

/// Clock ticks per second of /proc/PID/stat's times (Linux's USER_HZ, 100 on every
/// architecture skiff runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime in seconds from the text of /proc/PID/stat (fields 14 and 15; the command
/// name in parentheses may hold spaces, so fields are counted after its closing parenthesis).
pub fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The usage of `pid` now; `None` when it is gone.
pub fn measure(name: &str, pid: u32) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(Usage {
        name: name.to_string(),
        rss_bytes: parse_vmrss(&status)?,
        cpu_seconds: parse_cpu_seconds(&stat)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat =
            "4242 (skiff store) S 1 4242 4242 0 -1 4194560 2841 0 0 0 250 70 0 0 20 0 9 0 1234 0 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.2));
        assert_eq!(parse_cpu_seconds("garbage"), None);
    }

    #[test]
    fn this_process_is_measured() {
        let me = measure("me", std::process::id()).expect("this process");
        assert!(me.rss_bytes > 0);
    }
}
