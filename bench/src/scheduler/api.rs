//! The benchmark against a live cluster: hollow Node objects and real pods are created first, then the scheduler runs in this process and the time until every pod is bound is measured.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::{stream, StreamExt};
use skiff_api::error::ApiError;
use skiff_api::types::{Namespace, Node, Pod, Resource};
use skiff_client::{Client, ClientConfig, DeleteOptions, ListOptions};
use skiff_runtime::events::EventRecorder;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::objects::{bench_pod, hollow_node, node_name, spread_report};
use super::{BenchReport, SchedulerArgs, SchedulerBenchError};
use skiff_scheduler::cache::Cache;
use skiff_scheduler::metrics::Metrics;
use skiff_scheduler::scheduler::{Options, Scheduler};
use skiff_scheduler::sources;

/// Requests sent at the same time while creating and deleting the benchmark's objects.
const CONCURRENCY: usize = 64;

pub async fn run(args: &SchedulerArgs) -> Result<BenchReport, SchedulerBenchError> {
    let token = args.token.clone().unwrap_or_default();
    let ca_pem = match &args.certificate_authority {
        Some(path) => Some(
            crate::tls::read_ca(path).map_err(|e| SchedulerBenchError::Invalid(e.to_string()))?,
        ),
        None => None,
    };
    let client = Client::new(
        ClientConfig::new(args.apiserver.clone())
            .with_token(token)
            .with_ca_pem(ca_pem)
            .with_user_agent("skiff-scheduler-bench"),
    )?;
    let namespace = Namespace::named("", &args.namespace);
    ignore_exists(client.create(&namespace).await.map(drop))?;

    let created = std::time::Instant::now();
    let nodes: Vec<Node> = (0..args.nodes).map(|i| hollow_node(args, i)).collect();
    create_all(&client, nodes, true).await?;
    let nodes_took = created.elapsed();
    let created = std::time::Instant::now();
    let pods: Vec<Pod> = (0..args.pods)
        .map(|i| {
            let mut pod = bench_pod(args, &args.namespace, i);
            pod.metadata.uid.clear();
            pod
        })
        .collect();
    create_all(&client, pods, false).await?;
    let pods_took = created.elapsed();
    info!(
        ?nodes_took,
        ?pods_took,
        "objects created; starting the scheduler"
    );

    let result = measure(args, &client).await;
    if !args.keep {
        cleanup(args, &client).await;
    }
    let mut report = result?;
    report.notes.push(format!(
        "setup: {} nodes created in {:.1} s, {} pods in {:.1} s ({:.0} creates/s)",
        args.nodes,
        nodes_took.as_secs_f64(),
        args.pods,
        pods_took.as_secs_f64(),
        args.pods as f64 / pods_took.as_secs_f64().max(1e-9)
    ));
    Ok(report)
}

/// Runs the scheduler until every pod is bound; the clock starts when its caches have
/// synced and it begins deciding.
async fn measure(
    args: &SchedulerArgs,
    client: &Client,
) -> Result<BenchReport, SchedulerBenchError> {
    let cancel = CancellationToken::new();
    let (pod_informer, node_informer, sources) = sources::informers(client);
    tokio::spawn(pod_informer.run(cancel.clone()));
    tokio::spawn(node_informer.run(cancel.clone()));
    let metrics = Arc::new(Metrics::default());
    let scheduler = Scheduler {
        client: client.clone(),
        sources,
        recorder: args
            .events
            .then(|| EventRecorder::new(client.clone(), skiff_scheduler::EVENT_SOURCE, "")),
        metrics: metrics.clone(),
        options: Options {
            max_binds_in_flight: args.binds_in_flight.max(1),
            ..Options::default()
        },
    };
    let started = std::time::Instant::now();
    let task = tokio::spawn(scheduler.run(cancel.clone()));
    let give_up = Duration::from_secs(60) + Duration::from_millis(10 * args.pods as u64);
    let mut deciding_since = None;
    let outcome = loop {
        let bound = metrics.scheduled.load(Ordering::Relaxed) as usize;
        if deciding_since.is_none() && metrics.leader.load(Ordering::Relaxed) {
            deciding_since = Some(std::time::Instant::now());
        }
        if bound >= args.pods {
            break Ok(());
        }
        if started.elapsed() > give_up {
            break Err(SchedulerBenchError::Incomplete {
                bound,
                pods: args.pods,
                waited: give_up,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let finished = std::time::Instant::now();
    cancel.cancel();
    let _ = task.await;
    outcome?;
    let since = deciding_since.unwrap_or(started);
    let report = verify(args, client, finished.duration_since(since)).await?;
    let mut report = report;
    report.notes.push(format!(
        "with the initial list of every node and pod: {:.3} s",
        finished.duration_since(started).as_secs_f64()
    ));
    report.notes.push(format!(
        "unschedulable attempts: {}, bind errors: {}",
        metrics.unschedulable.load(Ordering::Relaxed),
        metrics.bind_errors.load(Ordering::Relaxed)
    ));
    Ok(report)
}

/// Reads every pod back and checks that each is bound to a hollow node.
async fn verify(
    args: &SchedulerArgs,
    client: &Client,
    elapsed: Duration,
) -> Result<BenchReport, SchedulerBenchError> {
    let nodes = client
        .list::<Node>(None, &ListOptions::labels("skiff.io/hollow=true"))
        .await?;
    let pods = client
        .list::<Pod>(Some(&args.namespace), &ListOptions::default())
        .await?;
    let mut cache = Cache::new();
    for node in nodes.items {
        cache.upsert_node(Arc::new(node));
    }
    let mut bound = 0;
    for pod in &pods.items {
        if !pod.spec.node_name.is_empty() {
            bound += 1;
            cache.upsert_pod(pod);
        }
    }
    let mut report = spread_report(
        args,
        &cache,
        "API (hollow nodes, real pods and bindings, scheduler in-process)",
    );
    report.scheduled = bound;
    report.unschedulable = pods.items.len() - bound;
    report.elapsed = elapsed;
    Ok(report)
}

fn ignore_exists(result: Result<(), ApiError>) -> Result<(), ApiError> {
    match result {
        Err(e) if e.is_already_exists() => Ok(()),
        other => other,
    }
}

async fn create_all<T: Resource>(
    client: &Client,
    objects: Vec<T>,
    exists_ok: bool,
) -> Result<(), ApiError> {
    let results: Vec<Result<(), ApiError>> = stream::iter(objects)
        .map(|object| async move {
            let result = client.create(&object).await.map(drop);
            if exists_ok {
                ignore_exists(result)
            } else {
                result
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn cleanup(args: &SchedulerArgs, client: &Client) {
    let pods = (0..args.pods).map(|i| bench_pod(args, &args.namespace, i).metadata.name);
    let deleted_pods = stream::iter(pods)
        .map(|name| async move {
            client
                .delete::<Pod>(&args.namespace, &name, &DeleteOptions::now())
                .await
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    let deleted_nodes = stream::iter((0..args.nodes).map(node_name))
        .map(|name| async move {
            client
                .delete::<Node>("", &name, &DeleteOptions::default())
                .await
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    if deleted_pods + deleted_nodes > 0 {
        tracing::warn!(
            pods = deleted_pods,
            nodes = deleted_nodes,
            "some objects were not deleted"
        );
    }
}
