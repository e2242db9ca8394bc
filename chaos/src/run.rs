//! One chaos run: set up the workloads, run them while the fault schedule plays, stop the faults, wait for the cluster to converge, collect the evidence, check it, save everything under `--out DIR`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use skiff_client::{Client, ClientConfig};
use tokio_util::sync::CancellationToken;

use crate::check::controllers::ControllerEvidence;
use crate::check::convergence::Convergence;
use crate::check::watch::{WatchMark, WatchRecord};
use crate::check::{self, Verdict};
use crate::error::ChaosError;
use crate::faults::plan::{self, FaultKind, PlanConfig};
use crate::faults::{self, Cluster, LeaseHolders};
use crate::history::{self, write_jsonl};
use crate::replay;
use crate::report::Report;
use crate::tls::ClientTls;
use crate::workload::api::{self, Observer, Watcher};
use crate::workload::store::{self, Recorder};
use crate::workload::{controllers, truth};

/// Everything a run needs.
pub struct RunConfig {
    pub cluster: Cluster,
    pub stores: Vec<String>,
    pub apiservers: Vec<String>,
    pub token: String,
    pub nodes: Vec<String>,
    pub seed: u64,
    pub duration: Duration,
    pub faults: Vec<FaultKind>,
    pub out: PathBuf,
    pub keys: usize,
    pub clients_per_member: usize,
    pub interval: Duration,
    pub max_hold: Duration,
    pub converge_within: Duration,
    /// How the clients reach the store members and apiservers.
    pub tls: ClientTls,
}

/// Kinds the watchers watch, with their namespace (`None`: all).
const WATCHED: [(&str, Option<&str>); 5] = [
    ("pods", Some(api::NAMESPACE)),
    ("replicationcontrollers", None),
    ("jobs", Some(api::NAMESPACE)),
    ("leases", Some(api::NAMESPACE)),
    ("nodes", None),
];

fn client(cfg: &RunConfig) -> Result<Client, ChaosError> {
    Client::new(
        ClientConfig::new(cfg.apiservers.clone())
            .with_ca_pem(cfg.tls.ca_pem.clone())
            .with_token(cfg.token.clone())
            .with_timeout(Duration::from_secs(2)),
    )
    .map_err(|e| ChaosError::msg(e.to_string()))
}

async fn lease_holder(client: &Client, name: &str) -> Option<String> {
    let lease = client.get_json("leases", "kube-system", name).await.ok()?;
    lease
        .pointer("/spec/holderIdentity")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Reads the cluster every second (for at most `within`) until the controller invariants
/// hold; the evidence last read and what every read found, timed from `since`.
async fn converge(
    cfg: &RunConfig,
    admin: &Client,
    acknowledged: &[check::controllers::ObjectRef],
    observer: &Observer,
    since: Instant,
    within: Duration,
) -> (ControllerEvidence, Convergence) {
    let deadline = Instant::now() + within;
    let mut last = ControllerEvidence::default();
    let mut reads = Convergence::default();
    loop {
        let read = match cfg.cluster.container_processes().await {
            Ok(processes) => controllers::evidence(admin, acknowledged, observer, processes).await,
            Err(why) => Err(why),
        };
        match read {
            Ok(e) => {
                let verdict = check::controllers::check(&e);
                reads.observe(since.elapsed(), Ok(&verdict));
                last = e;
                if verdict.valid() {
                    return (last, reads);
                }
            }
            Err(why) => reads.observe(since.elapsed(), Err(&why)),
        }
        if Instant::now() > deadline {
            return (last, reads);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Runs the whole thing; the report is also saved as `report.json`.
pub async fn run(mut cfg: RunConfig) -> Result<Report, ChaosError> {
    std::fs::create_dir_all(&cfg.out)
        .map_err(|e| ChaosError::msg(format!("cannot create {}: {e}", cfg.out.display())))?;
    if let Some(kind) = cfg.faults.iter().find(|k| !cfg.cluster.supports(**k)) {
        return Err(ChaosError::msg(format!(
            "this cluster cannot take {kind:?} faults (partitions need --compose)"
        )));
    }
    let admin = client(&cfg)?;
    let start = Instant::now();
    let start_rev = truth::current_revision(&cfg.stores, &cfg.tls).await?;
    eprintln!("chaos: store at revision {start_rev}; setting up the workloads");
    let rmw_objects = api::create_rmw_objects(&admin, 3)
        .await
        .map_err(ChaosError::msg)?;
    let acknowledged = controllers::create(&admin).await.map_err(ChaosError::msg)?;

    let stop_work = CancellationToken::new();
    let stop_watch = CancellationToken::new();
    let mut tasks = Vec::new();
    // Store clients, spread over the members.
    let rec = Recorder::new(start);
    let run_id = format!("{}-{}", cfg.seed, start_rev);
    let keys = store::keys(&run_id, cfg.keys);
    let clients = cfg.stores.len() * cfg.clients_per_member;
    for i in 0..clients {
        let url = cfg.stores[i % cfg.stores.len()].clone();
        tasks.push(tokio::spawn(store::client(
            store::Member {
                url,
                tls: cfg.tls.clone(),
            },
            keys.clone(),
            i as u64,
            clients as u64,
            cfg.seed.wrapping_add(i as u64),
            rec.clone(),
            stop_work.clone(),
        )));
    }
    // Watchers.
    let observer = Arc::new(Observer::default());
    let mut watchers = Vec::new();
    let mut watch_tasks = Vec::new();
    for (i, (kind, ns)) in WATCHED.iter().enumerate() {
        let w = Arc::new(Watcher {
            record: Mutex::new(WatchRecord {
                watcher: i as u64,
                kind: kind.to_string(),
                namespace: ns.map(str::to_string),
                marks: Vec::new(),
            }),
            last: Mutex::new(0),
        });
        watchers.push(w.clone());
        watch_tasks.push(tokio::spawn(api::watch(
            client(&cfg)?,
            w,
            observer.clone(),
            stop_watch.clone(),
        )));
    }
    // Read-modify-write updaters.
    let rmw_ops = Arc::new(Mutex::new(Vec::new()));
    for p in 0..4 {
        tasks.push(tokio::spawn(api::rmw_updater(
            client(&cfg)?,
            rmw_objects.clone(),
            p,
            rec.clone(),
            rmw_ops.clone(),
            stop_work.clone(),
        )));
    }
    tasks.push(tokio::spawn(controllers::churn(
        client(&cfg)?,
        cfg.nodes.clone(),
        cfg.seed,
        stop_work.clone(),
    )));
    // Who leads the controller-manager and the scheduler, refreshed every second.
    let holders = Arc::new(Mutex::new(LeaseHolders::default()));
    {
        let (holders, admin, stop) = (holders.clone(), admin.clone(), stop_work.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                let cm = lease_holder(&admin, "skiff-controller-manager").await;
                let sched = lease_holder(&admin, "skiff-scheduler").await;
                *holders.lock() = LeaseHolders {
                    controller_manager: cm,
                    scheduler: sched,
                };
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
    }

    // Faults start on a busy cluster: the workload's pods running first.
    let (_, ready_reads) = converge(
        &cfg,
        &admin,
        &acknowledged,
        &observer,
        Instant::now(),
        cfg.converge_within,
    )
    .await;
    eprintln!(
        "chaos: workloads {}",
        match ready_reads.converged_at() {
            Some(d) => format!("running after {:.1}s", d.as_secs_f64()),
            None => "not all running; starting the faults anyway".to_string(),
        }
    );
    let schedule = plan::plan(&PlanConfig {
        seed: cfg.seed,
        duration: cfg.duration,
        kinds: cfg.faults.clone(),
        roles: cfg.cluster.roles()?,
        store_members: cfg.cluster.store_members(),
        interval: cfg.interval,
        max_hold: cfg.max_hold,
    });
    eprintln!(
        "chaos: {} faults planned over {:?} (seed {})",
        schedule.len(),
        cfg.duration,
        cfg.seed
    );
    let faults_start = Instant::now();
    let stop_faults = CancellationToken::new();
    let (fault_log, last_heal) = {
        let holders = holders.clone();
        let deadline = stop_faults.clone();
        let duration = cfg.duration;
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            deadline.cancel();
        });
        faults::run(
            &mut cfg.cluster,
            &schedule,
            cfg.seed,
            faults_start,
            move || holders.lock().clone(),
            stop_faults,
        )
        .await
    };
    let faults_over = last_heal.unwrap_or_else(Instant::now);
    stop_work.cancel();
    for t in tasks.drain(..) {
        let _ = t.await;
    }
    eprintln!("chaos: faults over; waiting for the cluster to converge");

    // Convergence: the controller invariants hold on the cluster as it stands.
    let (evidence, reads) = converge(
        &cfg,
        &admin,
        &acknowledged,
        &observer,
        faults_over,
        cfg.converge_within,
    )
    .await;
    let convergence = reads.converged_at();
    match convergence {
        Some(d) => eprintln!(
            "chaos: converged {:.1}s after the last fault",
            d.as_secs_f64()
        ),
        None => eprintln!("chaos: did not converge within {:?}", cfg.converge_within),
    }
    // Watches: give each until it has every change of its kind up to now, then compare.
    let end_rev = truth::current_revision(&cfg.stores, &cfg.tls).await?;
    let first_truth = truth::registry_events(&cfg.stores, &cfg.tls, start_rev, end_rev).await?;
    let wait_until = Instant::now() + Duration::from_secs(30);
    for w in &watchers {
        let (kind, ns) = {
            let r = w.record.lock();
            (r.kind.clone(), r.namespace.clone())
        };
        let target = first_truth
            .iter()
            .filter(|e| e.kind == kind && ns.as_ref().is_none_or(|n| *n == e.namespace))
            .map(|e| e.revision)
            .max()
            .unwrap_or(0);
        while *w.last.lock() < target && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop_watch.cancel();
    for t in watch_tasks {
        let _ = t.await;
    }
    let upto = watchers
        .iter()
        .map(|w| *w.last.lock())
        .max()
        .unwrap_or(end_rev)
        .max(end_rev);
    let watch_truth = truth::registry_events(&cfg.stores, &cfg.tls, start_rev, upto).await?;
    let records: Vec<WatchRecord> = watchers
        .iter()
        .map(|w| {
            let mut r = w.record.lock().clone();
            r.marks.push(WatchMark::End { revision: end_rev });
            r
        })
        .collect();
    let rmw_final = api::rmw_finals(&admin, &rmw_objects).await;
    eprintln!("chaos: histories collected; checking");

    // Save, then check.
    let events = rec.events.lock().clone();
    let rmw_ops = rmw_ops.lock().clone();
    let out = &cfg.out;
    write_jsonl(&out.join(replay::STORE_HISTORY), &events)?;
    write_jsonl(&out.join(replay::WATCH_TRUTH), &watch_truth)?;
    write_jsonl(&out.join(replay::WATCHES), &records)?;
    write_jsonl(&out.join(replay::RMW), &rmw_ops)?;
    write_jsonl(&out.join(replay::RMW_FINAL), &rmw_final)?;
    write_jsonl(&out.join(replay::FAULTS), &fault_log)?;
    let evidence_json =
        serde_json::to_string_pretty(&evidence).map_err(|e| ChaosError::msg(e.to_string()))?;
    std::fs::write(out.join(replay::CONTROLLERS), evidence_json)
        .map_err(|e| ChaosError::msg(format!("cannot write the evidence: {e}")))?;

    let ops = history::operations(&events)?;
    let verdicts: Vec<Verdict> = vec![
        check::register::check(&ops),
        check::watch::check(&watch_truth, &records),
        check::rmw::check(&rmw_ops, &rmw_final),
        check::controllers::check(&evidence),
        reads.verdict(cfg.converge_within),
    ];
    let mut faults_by = BTreeMap::new();
    for f in fault_log.iter().filter(|f| f.action == "inject") {
        let kind = format!("{:?}", f.kind).to_lowercase();
        *faults_by.entry(kind.clone()).or_default() += 1;
        *faults_by
            .entry(format!(
                "{kind} {}",
                serde_json::to_string(&f.role)
                    .unwrap_or_default()
                    .trim_matches('"')
            ))
            .or_default() += 1;
    }
    let mut ops_by = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.kind != history::EventType::Invoke)
    {
        let key = format!("store {:?} {:?}", e.f, e.kind).to_lowercase();
        *ops_by.entry(key).or_default() += 1;
    }
    for o in &rmw_ops {
        *ops_by
            .entry(format!("rmw update {:?}", o.outcome).to_lowercase())
            .or_default() += 1;
    }
    let watch_events: usize = records
        .iter()
        .map(|r| {
            r.marks
                .iter()
                .filter(|m| matches!(m, WatchMark::Event { .. }))
                .count()
        })
        .sum();
    ops_by.insert("watch events received".into(), watch_events);
    let report = Report {
        seed: cfg.seed,
        duration_s: start.elapsed().as_secs_f64(),
        faults: faults_by,
        ops: ops_by,
        convergence_s: convergence.map(|d| d.as_secs_f64()),
        verdicts,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| ChaosError::msg(e.to_string()))?;
    std::fs::write(out.join(replay::REPORT), json)
        .map_err(|e| ChaosError::msg(format!("cannot write the report: {e}")))?;
    Ok(report)
}
