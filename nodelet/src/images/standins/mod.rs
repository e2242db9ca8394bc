//! Stand-ins for the book's container images, run by this binary as the hidden
//! `skiff-nodelet image NAME [ARGS...]` subcommand. They are plain blocking programs (no
//! async runtime) so that a pod costs little memory. Extra arguments are accepted and
//! ignored, as the original images ignore them.
//!
//! Environment they read: `POD_IP` (address to listen on; `0.0.0.0` if unset),
//! `HOSTNAME` (the pod name they report), `SKIFF_BATCH_JOB_SECONDS` (how long
//! `batch-job` works; default 120, fractions allowed) and `SKIFF_SSD_MONITOR_SECONDS`
//! (interval of `ssd-monitor`; default 5).

mod kubia;
mod periodic;

use std::process::ExitCode;

/// Names accepted by [`run`].
pub const STANDINS: &[&str] = &["kubia", "kubia-unhealthy", "batch-job", "ssd-monitor"];

/// Runs the stand-in `name` until it ends; unknown names fail with a message.
pub fn run(name: &str, _args: &[String]) -> ExitCode {
    match name {
        "kubia" => kubia::serve(kubia::Behaviour::Healthy),
        "kubia-unhealthy" => kubia::serve(kubia::Behaviour::FailAfter(5)),
        "batch-job" => periodic::batch_job(),
        "ssd-monitor" => periodic::ssd_monitor(),
        other => {
            eprintln!(
                "skiff-nodelet image: unknown stand-in {other:?} (known: {})",
                STANDINS.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

/// A duration in seconds from the environment, or `default`.
fn seconds_from_env(var: &str, default: f64) -> std::time::Duration {
    let secs = std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(default);
    std::time::Duration::from_secs_f64(secs)
}

/// The time as `date` prints it in a container: `Thu Jan  4 12:00:00 UTC 2024`.
fn date_now() -> String {
    chrono::Utc::now()
        .format("%a %b %e %H:%M:%S UTC %Y")
        .to_string()
}
