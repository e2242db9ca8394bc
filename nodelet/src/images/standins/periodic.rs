//! `luksa/batch-job` and `luksa/ssd-monitor`: programs that print on a schedule.

use std::process::ExitCode;

use super::{date_now, seconds_from_env};

/// Prints a start line, works for `SKIFF_BATCH_JOB_SECONDS` (default 120), prints a
/// finish line and exits 0.
pub(super) fn batch_job() -> ExitCode {
    println!("{} Batch job starting", date_now());
    std::thread::sleep(seconds_from_env("SKIFF_BATCH_JOB_SECONDS", 120.0));
    println!("{} Finished successfully", date_now());
    ExitCode::SUCCESS
}

/// Prints a status line at once and then every `SKIFF_SSD_MONITOR_SECONDS` (default 5),
/// forever.
pub(super) fn ssd_monitor() -> ExitCode {
    // A floor keeps a zero from turning the monitor into a busy loop.
    let interval = seconds_from_env("SKIFF_SSD_MONITOR_SECONDS", 5.0)
        .max(std::time::Duration::from_millis(100));
    loop {
        println!("{} SSD OK", date_now());
        std::thread::sleep(interval);
    }
}
