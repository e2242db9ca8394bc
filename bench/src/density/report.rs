//! What a density run prints (markdown) and records (one JSON line).

use std::time::Duration;

use super::record::RunRecord;
use super::{usage, ApiTimings, DensityArgs};
use crate::stats::{ms, Summary};

/// Everything a run measured.
pub struct Outcome {
    /// From the first create to every pod Running.
    pub all_running: Duration,
    /// Each pod's startup (watch: seen -> Running).
    pub startup: Vec<Duration>,
    pub timings: ApiTimings,
    pub usage: Vec<usage::Usage>,
    pub db_size: Option<i64>,
    /// From deleting the controllers to every pod gone.
    pub gc: Duration,
}

/// The run's figures for the JSON-lines file.
pub fn run_record(args: &DensityArgs, o: &Outcome) -> RunRecord {
    let millis = |d: Duration| d.as_secs_f64() * 1000.0;
    let startup = Summary::from_samples(o.startup.clone());
    let pick = |f: fn(&Summary) -> Duration| startup.as_ref().map(|s| millis(f(s))).unwrap_or(0.0);
    RunRecord {
        finished: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        store: args.store.clone(),
        pods: args.pods,
        nodes: args.nodes,
        rate: args.rate,
        all_running_s: o.all_running.as_secs_f64(),
        startup_p50_ms: pick(|s| s.p50),
        startup_p90_ms: pick(|s| s.p90),
        startup_p99_ms: pick(|s| s.p99),
        api_p99_ms: o
            .timings
            .iter()
            .filter_map(|(verb, samples)| {
                let s = Summary::from_samples(samples.clone())?;
                Some((verb.to_string(), millis(s.p99)))
            })
            .collect(),
        rss_mb: o
            .usage
            .iter()
            .map(|u| (u.name.clone(), crate::rss::mb(u.rss_bytes)))
            .collect(),
        control_plane_mb: crate::rss::mb(control_plane_bytes(&o.usage)),
        db_mb: o.db_size.map(|b| b as f64 / 1048576.0),
        gc_s: o.gc.as_secs_f64(),
    }
}

/// Store members, apiserver, controller-manager and scheduler: everything but the nodelets.
fn control_plane_bytes(usage: &[usage::Usage]) -> u64 {
    usage
        .iter()
        .filter(|u| !u.name.starts_with("nodelet"))
        .map(|u| u.rss_bytes)
        .sum()
}

/// The run as markdown, for the terminal and BENCHMARKS.md.
pub fn text(args: &DensityArgs, o: &Outcome) -> String {
    let mut out = format!(
        "## density: {} pods on {} hollow nodes at {}/s, store {}\n\n",
        args.pods, args.nodes, args.rate, args.store
    );
    out += &format!("all Running after {:.1} s\n\n", o.all_running.as_secs_f64());
    if let Some(s) = Summary::from_samples(o.startup.clone()) {
        out += &format!(
            "| pod startup (watch: seen -> Running) | p50 {} ms | p90 {} ms | p99 {} ms | max {} ms |\n|---|---|---|---|---|\n\n",
            ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)
        );
    }
    out += "| API call | count | p50 ms | p99 ms |\n|---|---:|---:|---:|\n";
    for (verb, samples) in &o.timings {
        if let Some(s) = Summary::from_samples(samples.clone()) {
            out += &format!("| {verb} | {} | {} | {} |\n", s.count, ms(s.p50), ms(s.p99));
        }
    }
    out += "\n| component | RSS MB | CPU s |\n|---|---:|---:|\n";
    for u in &o.usage {
        out += &format!(
            "| {} | {:.1} | {:.1} |\n",
            u.name,
            crate::rss::mb(u.rss_bytes),
            u.cpu_seconds
        );
    }
    let control_plane = control_plane_bytes(&o.usage);
    out += &format!(
        "\ncontrol plane RSS (store members, apiserver, controller-manager, scheduler): {:.1} MB\n",
        crate::rss::mb(control_plane)
    );
    if let Some(size) = o.db_size {
        out += &format!("store db size: {:.1} MB\n", size as f64 / 1048576.0);
    }
    out += &format!(
        "garbage collection of every pod after deleting the controllers: {:.1} s\n",
        o.gc.as_secs_f64()
    );
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        density: DensityArgs,
    }

    #[test]
    fn the_record_and_the_text_carry_the_same_figures() {
        let args = Cli::parse_from(["density", "--pods", "3", "--nodes", "1"]).density;
        let used = |name: &str, mb: u64| usage::Usage {
            name: name.into(),
            rss_bytes: mb << 20,
            cpu_seconds: 1.0,
        };
        let outcome = Outcome {
            all_running: Duration::from_secs(2),
            startup: [100, 200, 300].map(Duration::from_millis).to_vec(),
            timings: [("create rc", vec![Duration::from_millis(7)])].into(),
            usage: vec![
                used("store-1", 100),
                used("apiserver-1", 50),
                used("nodelet-hollow", 70),
            ],
            db_size: Some(2 << 20),
            gc: Duration::from_secs(5),
        };
        let run = run_record(&args, &outcome);
        assert_eq!((run.pods, run.nodes, run.store.as_str()), (3, 1, "skiff"));
        assert_eq!(run.startup_p99_ms, 300.0);
        assert_eq!(run.api_p99_ms["create rc"], 7.0);
        assert_eq!(
            run.control_plane_mb, 150.0,
            "nodelets are not control plane"
        );
        assert_eq!((run.db_mb, run.gc_s), (Some(2.0), 5.0));
        let text = text(&args, &outcome);
        assert!(text.contains("control plane RSS (store members, apiserver, controller-manager, scheduler): 150.0 MB"), "{text}");
        assert!(
            text.contains("garbage collection of every pod after deleting the controllers: 5.0 s"),
            "{text}"
        );
    }
}
