//! Watch fan-out through the REST API: W watchers (`?watch=1`, each on its own HTTPS
//! connection) on one namespace; one writer changes a pod E times, one change at a time; the
//! lag of a change is from the start of its write until the last watcher has read it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use skiff_proto::skiffapi::{CreateRequest, PatchRequest};

use super::http::WatchLines;
use super::{Endpoints, RestBenchError};
use crate::apiserver::load::{connect, ensure_namespace, pod};
use crate::apiserver::Latency;

/// How far apart the writer starts its changes, so each change's lag is its own and not a
/// queue behind the previous ones.
const PACE: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct FanoutLag {
    pub watchers: usize,
    pub events: usize,
    /// Write start to the last of the watchers having the event.
    pub all: Latency,
    /// Write start to the first watcher having it.
    pub first: Latency,
    /// Events read in all (every watcher must read every change).
    pub delivered: usize,
}

/// The annotation that numbers the writer's changes.
const MARK: &str = "skiff-bench/n";

pub async fn measure(
    at: &Endpoints,
    ns: &str,
    watchers: usize,
    events: usize,
) -> Result<FanoutLag, RestBenchError> {
    let watchers = watchers.max(1);
    let mut admin = connect(&at.grpc).await?;
    ensure_namespace(&mut admin, ns).await?;
    let create = CreateRequest {
        resource: "pods".into(),
        namespace: ns.into(),
        object: pod("watched"),
    };
    admin.create(create).await?;
    let rest = at.rest()?;
    let pods = format!("/api/v1/namespaces/{ns}/pods");
    let (_, list) = rest
        .get_json(&pods, "application/json")
        .await
        .map_err(RestBenchError::Setup)?;
    let from = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let path = format!("{pods}?watch=1&resourceVersion={from}");
    let opened =
        futures::future::join_all((0..watchers).map(|_| async { rest.watch(&path).await })).await;
    let mut tasks = Vec::new();
    for stream in opened {
        let stream = stream.map_err(RestBenchError::Setup)?;
        tasks.push(tokio::spawn(receive(stream, events)));
    }

    let mut started = Vec::with_capacity(events);
    for n in 0..events {
        let patch = json!({"metadata": {"annotations": {MARK: n.to_string()}}});
        let req = PatchRequest {
            resource: "pods".into(),
            namespace: ns.into(),
            name: "watched".into(),
            patch: patch.to_string().into_bytes(),
        };
        started.push(Instant::now());
        admin.patch(req).await?;
        tokio::time::sleep(PACE).await;
    }

    let limit = Duration::from_secs(30) + PACE * events as u32;
    let mut last: Vec<Option<Instant>> = vec![None; events];
    let mut first: Vec<Option<Instant>> = vec![None; events];
    let mut delivered = 0;
    for task in tasks {
        let seen = tokio::time::timeout(limit, task)
            .await
            .map_err(|_| RestBenchError::Setup(format!("a watcher missed changes for {limit:?}")))?
            .map_err(|e| RestBenchError::Setup(format!("a watcher failed: {e}")))?
            .map_err(RestBenchError::Setup)?;
        for (n, at) in seen.into_iter().enumerate() {
            let at = at.ok_or_else(|| {
                RestBenchError::Setup(format!("a watcher never received change {n}"))
            })?;
            delivered += 1;
            last[n] = Some(last[n].map_or(at, |l| l.max(at)));
            first[n] = Some(first[n].map_or(at, |f| f.min(at)));
        }
    }
    let lags = |times: &[Option<Instant>]| -> Vec<Duration> {
        times
            .iter()
            .zip(&started)
            .filter_map(|(t, s)| t.map(|t| t.saturating_duration_since(*s)))
            .collect()
    };
    Ok(FanoutLag {
        watchers,
        events,
        all: Latency::of(lags(&last)),
        first: Latency::of(lags(&first)),
        delivered,
    })
}

/// Reads events until change `events - 1` has arrived; when each numbered change arrived.
async fn receive(mut stream: WatchLines, events: usize) -> Result<Vec<Option<Instant>>, String> {
    let mut seen = vec![None; events];
    let mut missing = events;
    while missing > 0 {
        let Some(event) = stream.next().await? else {
            return Err(format!("the watch ended with {missing} changes unseen"));
        };
        let at = Instant::now();
        match event["type"].as_str() {
            Some("MODIFIED") => {
                if let Some(n) = number(&event["object"]) {
                    if n < events && seen[n].is_none() {
                        seen[n] = Some(at);
                        missing -= 1;
                    }
                }
            }
            Some("ERROR") => return Err(format!("the watch failed: {}", event["object"])),
            _ => {}
        }
    }
    Ok(seen)
}

fn number(object: &Value) -> Option<usize> {
    object["metadata"]["annotations"][MARK]
        .as_str()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_numbered_by_their_annotation() {
        let o = json!({"metadata": {"annotations": {MARK: "17"}}});
        assert_eq!(number(&o), Some(17));
        assert_eq!(number(&json!({"metadata": {}})), None);
        assert_eq!(
            number(&json!({"metadata": {"annotations": {MARK: "x"}}})),
            None
        );
    }
}
