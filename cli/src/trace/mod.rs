//! `skiff trace KIND/NAME`: one causal timeline of a pod (or of a controller and its pods), merged from the objects' store history, their events and the probe results those carry.
//!
//! For a controller (rc, rs, ds, job, cj) the pods are found by their ownerReferences (a
//! CronJob's through its Jobs) and by the names its `Created pod` events give, so pods
//! already deleted are traced too while their history is kept.

pub mod steps;
#[cfg(test)]
mod tests;

use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_client::{Client, ListOptions};

use crate::args::TraceArgs;
use crate::ctx::{out, Ctx};
use crate::error::CliError;
use crate::history::target;
use steps::{event_steps, object_steps, timeline, Step};

/// The kinds a trace follows, as the CLI names them, with their plural resource.
pub fn resource_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "pod" | "pods" | "po" => "pods",
        "rc" | "replicationcontroller" | "replicationcontrollers" => "replicationcontrollers",
        "rs" | "replicaset" | "replicasets" => "replicasets",
        "ds" | "daemonset" | "daemonsets" => "daemonsets",
        "job" | "jobs" => "jobs",
        "cj" | "cronjob" | "cronjobs" => "cronjobs",
        _ => return None,
    })
}

fn short(resource: &str) -> &str {
    match resource {
        "pods" => "pod",
        "replicationcontrollers" => "rc",
        "replicasets" => "rs",
        "daemonsets" => "ds",
        "jobs" => "job",
        "cronjobs" => "cj",
        other => other,
    }
}

pub async fn run(ctx: &Ctx, args: &TraceArgs) -> Result<(), CliError> {
    let (kind, name) = target(&args.resource, args.name.as_deref())?;
    out(&trace(&ctx.client, ctx.namespace(), kind, name).await?);
    Ok(())
}

/// The timeline of `kind/name` in `ns` as text (what `skiff trace` prints and the dashboard
/// shows when an object is clicked).
pub async fn trace(client: &Client, ns: &str, kind: &str, name: &str) -> Result<String, CliError> {
    let resource = resource_of(kind).ok_or_else(|| {
        CliError::msg(format!(
            "trace follows pod, rc, rs, ds, job and cj, not {kind:?}"
        ))
    })?;
    let mut objects = vec![(resource, name.to_string())];
    let events = client
        .list_json("events", Some(ns), &ListOptions::default())
        .await?
        .items;
    if resource != "pods" {
        objects.extend(dependents(client, ns, resource, name, &events).await?);
    }
    let mut all: Vec<Step> = Vec::new();
    for (i, (resource, object)) in objects.iter().enumerate() {
        match client.history(resource, ns, object).await {
            Ok(h) => all.extend(object_steps(&format!("{}/{object}", short(resource)), &h)),
            // A dependent named only by an old event may be out of the kept history.
            Err(e) if e.is_not_found() && i > 0 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let names: Vec<&str> = objects.iter().map(|(_, n)| n.as_str()).collect();
    for event in events.iter().filter(|e| {
        names.contains(
            &e.pointer("/involvedObject/name")
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
    }) {
        let event_name = event
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let history = match client.history("events", ns, event_name).await {
            Ok(h) => Some(h),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        all.extend(event_steps(event, history.as_ref()));
    }
    if all.is_empty() {
        return Err(CliError::msg(format!("nothing is known of {kind}/{name}")));
    }
    Ok(timeline(all))
}

/// The objects a controller made: by ownerReferences (Jobs of a CronJob, then their pods)
/// and by the names its `SuccessfulCreate` events give.
async fn dependents(
    client: &Client,
    ns: &str,
    resource: &str,
    name: &str,
    events: &[Value],
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let owner = client.get_json(resource, ns, name).await.ok();
    let mut owners: Vec<String> = owner
        .as_ref()
        .and_then(|o| o.pointer("/metadata/uid"))
        .and_then(Value::as_str)
        .map(|u| vec![u.to_string()])
        .unwrap_or_default();
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let owned_by = |obj: &Value, uids: &[String]| {
        obj.pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| {
                refs.iter().any(|r| {
                    r.get("uid")
                        .and_then(Value::as_str)
                        .is_some_and(|u| uids.iter().any(|x| x == u))
                })
            })
    };
    let name_of = |obj: &Value| {
        obj.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if resource == "cronjobs" {
        let jobs = client
            .list_json("jobs", Some(ns), &ListOptions::default())
            .await?;
        let mut job_uids = Vec::new();
        for job in jobs.items.iter().filter(|j| owned_by(j, &owners)) {
            found.push(("jobs", name_of(job)));
            if let Some(uid) = job.pointer("/metadata/uid").and_then(Value::as_str) {
                job_uids.push(uid.to_string());
            }
        }
        owners = job_uids;
    }
    let pods = client
        .list_json("pods", Some(ns), &ListOptions::default())
        .await?;
    for pod in pods.items.iter().filter(|p| owned_by(p, &owners)) {
        found.push(("pods", name_of(pod)));
    }
    let makers: Vec<String> = std::iter::once(name.to_string())
        .chain(
            found
                .iter()
                .filter(|(r, _)| *r == "jobs")
                .map(|(_, n)| n.clone()),
        )
        .collect();
    for event in events {
        let about = event
            .pointer("/involvedObject/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let message = event.get("message").and_then(Value::as_str).unwrap_or("");
        if let Some(pod) = message.strip_prefix("Created pod: ") {
            if makers.iter().any(|m| m == about) && !found.iter().any(|(_, n)| n == pod) {
                found.push(("pods", pod.to_string()));
            }
        }
        if let Some(job) = message.strip_prefix("Created job ") {
            if about == name && !found.iter().any(|(_, n)| n == job) {
                found.push(("jobs", job.to_string()));
            }
        }
    }
    Ok(found)
}
