//! `compare`: every measurement against two binaries, one after the other, and a
//! markdown report with both side by side.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Kind, Target};
use crate::cluster::Cluster;
use crate::failover::{self, FailoverReport};
use crate::load::{self, LoadSpec, Op};
use crate::machine::Machine;
use crate::rss::{self, mb, RssReport};
use crate::stats::LoadReport;
use crate::BenchError;

/// Value size of every load scenario.
pub const VAL_SIZE: usize = 256;
/// Distinct keys the put scenarios draw from.
pub const KEY_SPACE: u64 = 100_000;
/// The key the get scenarios read.
pub const RANGE_KEY: &str = "skiff-bench-range";

#[derive(Debug, Clone)]
pub struct Settings {
    pub put_total_1: u64,
    pub put_total_256: u64,
    pub get_total_1: u64,
    pub get_total_256: u64,
    pub failover_rounds: usize,
    pub idle: Duration,
    pub target: Target,
}

/// One load run of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub put: bool,
    pub clients: usize,
    pub conns: usize,
    pub total: u64,
}

impl Scenario {
    fn op(&self) -> Op {
        if self.put {
            Op::Put {
                val_size: VAL_SIZE,
                key_space: KEY_SPACE,
            }
        } else {
            Op::Range {
                key: RANGE_KEY.as_bytes().to_vec(),
                serializable: false,
                val_size: VAL_SIZE,
            }
        }
    }

    /// The stand-alone skiff-bench command doing the same run.
    pub fn command(&self, endpoints: &str, target: Target) -> String {
        let target = match target {
            Target::All => "all",
            Target::Leader => "leader",
        };
        let common = format!(
            "--endpoints {endpoints} --clients {} --conns {} --total {} --target {target}",
            self.clients, self.conns, self.total
        );
        if self.put {
            format!("skiff-bench put {common} --val-size {VAL_SIZE} --key-space {KEY_SPACE}")
        } else {
            format!("skiff-bench range {common} --consistency l --key {RANGE_KEY} --val-size {VAL_SIZE}")
        }
    }
}

/// The four load runs: put and linearizable get, with 1 client and with 256
/// clients over 16 connections.
pub fn scenarios(s: &Settings) -> Vec<Scenario> {
    let sc = |name: &str, put, clients, conns, total| Scenario {
        name: name.into(),
        put,
        clients,
        conns,
        total,
    };
    vec![
        sc("put, 1 client", true, 1, 1, s.put_total_1),
        sc(
            "put, 256 clients / 16 conns",
            true,
            256,
            16,
            s.put_total_256,
        ),
        sc("linearizable get, 1 client", false, 1, 1, s.get_total_1),
        sc(
            "linearizable get, 256 clients / 16 conns",
            false,
            256,
            16,
            s.get_total_256,
        ),
    ]
}

/// Everything measured for one binary; each part may have failed on its own.
#[derive(Debug)]
pub struct Column {
    pub label: &'static str,
    pub binary: PathBuf,
    pub launch: Option<String>,
    /// Why the cluster for the load and failover runs did not start, if it did not.
    pub cluster_error: Option<String>,
    /// One entry per [`scenarios`] entry, in the same order.
    pub loads: Vec<Result<LoadReport, String>>,
    pub rss_after_load: Result<RssReport, String>,
    pub failover: Result<FailoverReport, String>,
    pub rss_idle: Result<RssReport, String>,
}

/// Runs every measurement against `binary`; `say` receives progress lines.
pub async fn measure(
    binary: &Path,
    kind: Kind,
    settings: &Settings,
    say: &mut dyn FnMut(String),
) -> Column {
    let mut column = Column {
        label: kind.label(),
        binary: binary.to_path_buf(),
        launch: None,
        cluster_error: None,
        loads: Vec::new(),
        rss_after_load: Err("not run".into()),
        failover: Err("not run".into()),
        rss_idle: Err("not run".into()),
    };
    say(format!(
        "=== {}: starting a 3-member cluster of {}",
        kind.label(),
        binary.display()
    ));
    match Cluster::start(binary, kind, 3, Duration::from_secs(30)).await {
        Err(e) => {
            let msg = format!("cluster did not start: {e}");
            say(msg.clone());
            let short = "cluster did not start".to_string();
            column.loads = scenarios(settings)
                .iter()
                .map(|_| Err(short.clone()))
                .collect();
            column.rss_after_load = Err(short.clone());
            column.failover = Err(short);
            column.cluster_error = Some(msg);
        }
        Ok(mut cluster) => {
            column.launch = Some(cluster.command_line(0));
            for s in scenarios(settings) {
                say(format!(
                    "=== {}: {} ({} requests)",
                    kind.label(),
                    s.name,
                    s.total
                ));
                let result = run_scenario(&cluster, &s, settings.target)
                    .await
                    .map_err(|e| e.to_string());
                match &result {
                    Ok(r) => say(r.to_string()),
                    Err(e) => say(format!("failed: {e}")),
                }
                column.loads.push(result);
            }
            column.rss_after_load = RssReport::measure(&cluster).map_err(|e| e.to_string());
            say(format!(
                "=== {}: failover, {} rounds",
                kind.label(),
                settings.failover_rounds
            ));
            let result = failover::run(&mut cluster, settings.failover_rounds, |i, r| {
                say(format!("round {}: {r}", i + 1))
            })
            .await
            .map_err(|e| e.to_string());
            if let Err(e) = &result {
                say(format!("failed: {e}"));
            }
            column.failover = result;
        }
    }
    say(format!(
        "=== {}: idle RSS of a fresh cluster ({} s idle)",
        kind.label(),
        settings.idle.as_secs()
    ));
    column.rss_idle = rss::run(binary, kind, settings.idle)
        .await
        .map_err(|e| e.to_string());
    match &column.rss_idle {
        Ok(r) => say(r.to_string()),
        Err(e) => say(format!("failed: {e}")),
    }
    column
}

async fn run_scenario(
    cluster: &Cluster,
    s: &Scenario,
    target: Target,
) -> Result<LoadReport, BenchError> {
    let endpoints = load::resolve_target(&cluster.client_urls(), target, None).await?;
    let spec = LoadSpec {
        endpoints,
        clients: s.clients,
        conns: s.conns,
        total: s.total,
        op: s.op(),
        tls: None,
    };
    load::run(&spec).await
}

/// One line of the table: a number per column, or why there is none.
struct Row {
    metric: String,
    etcd: Result<f64, String>,
    skiff: Result<f64, String>,
    decimals: usize,
}

fn cell(v: &Result<f64, String>, decimals: usize) -> String {
    match v {
        Ok(x) => format!("{x:.decimals$}"),
        Err(_) => "n/a".into(),
    }
}

/// `skiff / etcd`, when both exist and etcd's is not zero.
pub fn ratio(etcd: f64, skiff: f64) -> Option<f64> {
    (etcd != 0.0 && etcd.is_finite() && skiff.is_finite()).then(|| skiff / etcd)
}

fn rows(settings: &Settings, a: &Column, b: &Column) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut push = |metric: String, f: &dyn Fn(&Column) -> Result<f64, String>, decimals| {
        rows.push(Row {
            metric,
            etcd: f(a),
            skiff: f(b),
            decimals,
        });
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (i, s) in scenarios(settings).iter().enumerate() {
        let load = move |c: &Column| -> Result<LoadReport, String> {
            c.loads.get(i).ok_or("not run".to_string())?.clone()
        };
        push(
            format!("{}: throughput (req/s)", s.name),
            &|c| load(c).map(|r| r.throughput()),
            0,
        );
        type Pick = fn(&crate::stats::Summary) -> Duration;
        let picks: [(&str, Pick); 3] = [("p50", |s| s.p50), ("p99", |s| s.p99), ("max", |s| s.max)];
        for (label, pick) in picks {
            push(
                format!("{}: {label} latency (ms)", s.name),
                &|c| {
                    load(c)?
                        .latency
                        .as_ref()
                        .map(|l| ms(pick(l)))
                        .ok_or_else(|| "no successes".to_string())
                },
                2,
            );
        }
        push(
            format!("{}: errors", s.name),
            &|c| load(c).map(|r| r.errors as f64),
            0,
        );
    }
    let fail = |c: &Column, pick: fn(&FailoverReport) -> Option<Duration>| -> Result<f64, String> {
        let r = c.failover.as_ref().map_err(Clone::clone)?;
        pick(r).map(ms).ok_or_else(|| "no rounds".to_string())
    };
    push(
        "leader failover (SIGKILL -> next write): median (ms)".into(),
        &|c| fail(c, FailoverReport::median),
        0,
    );
    push(
        "leader failover (SIGKILL -> next write): max (ms)".into(),
        &|c| fail(c, FailoverReport::max),
        0,
    );
    let mem = |r: &Result<RssReport, String>,
               pick: fn(&RssReport) -> Option<u64>|
     -> Result<f64, String> {
        let r = r.as_ref().map_err(Clone::clone)?;
        pick(r).map(mb).ok_or_else(|| "no members".to_string())
    };
    push(
        "idle RSS per member, fresh cluster: max (MB)".into(),
        &|c| mem(&c.rss_idle, RssReport::max),
        1,
    );
    push(
        "idle RSS per member, fresh cluster: mean (MB)".into(),
        &|c| mem(&c.rss_idle, RssReport::mean),
        1,
    );
    push(
        "RSS per member after the load runs: max (MB)".into(),
        &|c| mem(&c.rss_after_load, RssReport::max),
        1,
    );
    rows
}

/// The markdown report: table, details, commands and machine.
pub fn render(
    machine: &Machine,
    invocation: &str,
    settings: &Settings,
    a: &Column,
    b: &Column,
) -> String {
    let mut out = String::new();
    out.push_str(&format!("Machine: {machine}.\n\n"));
    if machine.was_busy() {
        out.push_str("**Warning:** other work was running on the machine when this run started; the figures are skewed.\n\n");
    }
    out.push_str(&format!(
        "| metric | {} | {} | ratio ({} / {}) |\n|---|---:|---:|---:|\n",
        a.label, b.label, b.label, a.label
    ));
    for row in rows(settings, a, b) {
        let r = match (&row.etcd, &row.skiff) {
            (Ok(x), Ok(y)) => ratio(*x, *y).map_or("-".into(), |r| format!("{r:.2}x")),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.metric,
            cell(&row.etcd, row.decimals),
            cell(&row.skiff, row.decimals),
            r
        ));
    }
    out.push_str(&format!(
        "\nRatio above 1 is better for throughput; below 1 is better for latency, failover time and memory. \
         Values are {VAL_SIZE} bytes; puts draw 8-byte keys from {KEY_SPACE}; gets read one key, linearizably. \
         Load connections go to {}.\n",
        match settings.target {
            Target::All => "all three members, round-robin (client i uses connection i % conns)",
            Target::Leader => "the leader only",
        }
    ));
    for c in [a, b] {
        out.push_str(&format!("\n### {} details\n\n", c.label));
        if let Some(e) = &c.cluster_error {
            out.push_str(&format!("- load and failover runs: {e}\n"));
        }
        for (s, r) in scenarios(settings).iter().zip(&c.loads) {
            if c.cluster_error.is_some() {
                break;
            } else if let Err(e) = r {
                out.push_str(&format!("- {}: failed: {e}\n", s.name));
            } else if let Ok(LoadReport {
                first_error: Some(e),
                ..
            }) = r
            {
                out.push_str(&format!("- {}: first error: {e}\n", s.name));
            }
        }
        match &c.failover {
            Ok(f) => {
                for (i, r) in f.rounds.iter().enumerate() {
                    out.push_str(&format!("- failover round {}: {r}\n", i + 1));
                }
            }
            Err(e) => out.push_str(&format!("- failover: failed: {e}\n")),
        }
        for (what, r) in [
            ("idle RSS", &c.rss_idle),
            ("RSS after load", &c.rss_after_load),
        ] {
            match r {
                Ok(r) => {
                    let members: Vec<String> = r
                        .members
                        .iter()
                        .map(|(n, b)| format!("{n} {:.1} MB", mb(*b)))
                        .collect();
                    out.push_str(&format!("- {what}: {}\n", members.join(", ")));
                }
                Err(e) => out.push_str(&format!("- {what}: failed: {e}\n")),
            }
        }
    }
    out.push_str("\n### Commands\n\n```sh\n");
    out.push_str(&format!("{invocation}\n"));
    out.push_str("# equivalent steps, against a cluster from `skiff-bench cluster --binary BIN --kind etcd|skiff`:\n");
    for s in scenarios(settings) {
        out.push_str(&format!("{}\n", s.command("$ENDPOINTS", settings.target)));
    }
    out.push_str(&format!(
        "skiff-bench failover --binary BIN --kind etcd|skiff --rounds {}\n",
        settings.failover_rounds
    ));
    out.push_str(&format!(
        "skiff-bench rss --binary BIN --kind etcd|skiff --idle-secs {}\n",
        settings.idle.as_secs()
    ));
    for c in [a, b] {
        if let Some(l) = &c.launch {
            out.push_str(&format!("# {} member s1 (s2, s3 alike):\n{l}\n", c.label));
        }
    }
    out.push_str("```\n");
    out
}

/// The compare command line with every setting spelled out.
pub fn invocation(etcd: &Path, skiff: &Path, s: &Settings) -> String {
    let target = match s.target {
        Target::All => "all",
        Target::Leader => "leader",
    };
    format!(
        "skiff-bench compare --etcd {} --skiff {} --put-total-1 {} --put-total-256 {} --get-total-1 {} \
         --get-total-256 {} --failover-rounds {} --idle-secs {} --target {target}",
        etcd.display(),
        skiff.display(),
        s.put_total_1,
        s.put_total_256,
        s.get_total_1,
        s.get_total_256,
        s.failover_rounds,
        s.idle.as_secs()
    )
}

#[cfg(test)]
mod tests;
