//! Table tests of the Job decision, with a fake clock for deadlines, back-off and TTL.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use skiff_api::meta::{Condition, Time};
use skiff_api::types::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Job, Pod, Resource,
};

use super::reconcile::{reconcile, Action, Observed, PodBackoff};
use crate::clock::{Clock, FakeClock};

const BACKOFF: PodBackoff = PodBackoff {
    base: Duration::from_secs(10),
    max: Duration::from_secs(360),
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

fn job(completions: Option<i32>, parallelism: i32, policy: &str) -> Job {
    let mut j = Job::named("default", "batch");
    j.metadata.uid = "job-uid".into();
    j.spec.completions = completions;
    j.spec.parallelism = Some(parallelism);
    j.spec.backoff_limit = Some(6);
    j.spec.template.spec.restart_policy = policy.into();
    j
}

fn started(mut j: Job, start: i64) -> Job {
    j.status.start_time = Some(Time::from(at(start)));
    j
}

/// A pod in `phase`, with `restarts` container restarts, that ended at second `ended`.
fn pod(name: &str, phase: &str, restarts: i32, ended: i64) -> Arc<Pod> {
    let mut p = Pod::named("default", name);
    p.metadata.uid = format!("uid-{name}");
    p.metadata.creation_timestamp = Some(Time::from(at(0)));
    p.spec.node_name = "n1".into();
    p.status.phase = phase.into();
    let mut c = ContainerStatus {
        name: "main".into(),
        restart_count: restarts,
        ..ContainerStatus::default()
    };
    if phase == "Succeeded" || phase == "Failed" {
        c.state = ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: i32::from(phase == "Failed"),
                finished_at: Some(Time::from(at(ended))),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        };
    }
    p.status.container_statuses.push(c);
    Arc::new(p)
}

fn running(name: &str) -> Arc<Pod> {
    pod(name, "Running", 0, 0)
}

/// A running pod created at second `created`: newer pods are stopped first.
fn newer(name: &str, created: i64) -> Arc<Pod> {
    let mut p = (*running(name)).clone();
    p.metadata.creation_timestamp = Some(Time::from(at(created)));
    Arc::new(p)
}

fn describe(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::CreatePods(n) => format!("create {n}"),
            Action::DeletePods(ps) => {
                format!(
                    "delete {}",
                    ps.iter()
                        .map(|p| p.metadata.name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
            Action::UpdateStatus(s) => {
                let conds: Vec<String> = s
                    .conditions
                    .iter()
                    .map(|c| {
                        if c.reason.is_empty() {
                            format!("{}={}", c.type_, c.status)
                        } else {
                            format!("{}={}/{}", c.type_, c.status, c.reason)
                        }
                    })
                    .collect();
                format!(
                    "status active={} succeeded={} failed={}{}{}",
                    s.active,
                    s.succeeded,
                    s.failed,
                    if conds.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", conds.join(","))
                    },
                    if s.completion_time.is_some() {
                        " completed"
                    } else {
                        ""
                    }
                )
            }
            Action::Event {
                warning,
                reason,
                message,
            } => {
                format!(
                    "{} {reason}: {message}",
                    if *warning { "warning" } else { "event" }
                )
            }
            Action::DeleteJob => "delete job".to_string(),
            Action::RequeueAfter(d) => format!("requeue {}s", d.as_secs()),
        })
        .collect()
}

fn run(j: &Job, pods: &[Arc<Pod>], met: bool, now: i64) -> Vec<String> {
    describe(&reconcile(
        j,
        &Observed {
            pods,
            expectations_met: met,
            now: at(now),
        },
        &BACKOFF,
    ))
}

#[test]
fn job_decisions() {
    let mut deadline = started(job(Some(1), 1, "OnFailure"), 0);
    deadline.spec.active_deadline_seconds = Some(30);
    let mut ttl_done = started(job(Some(1), 1, "Never"), 0);
    ttl_done.status.conditions.push(Condition {
        status: "True".into(),
        type_: "Complete".into(),
        ..Condition::default()
    });
    ttl_done.status.completion_time = Some(Time::from(at(100)));
    ttl_done.spec.ttl_seconds_after_finished = Some(60);
    let mut suspended = started(job(Some(3), 2, "Never"), 0);
    suspended.spec.suspend = Some(true);
    let mut deleting = job(Some(3), 1, "Never");
    deleting.metadata.deletion_timestamp = Some(Time::from(at(0)));
    deleting.status.start_time = Some(Time::from(at(0)));
    type Row<'a> = (&'a str, Job, Vec<Arc<Pod>>, bool, i64, Vec<&'a str>);
    let cases: Vec<Row<'_>> = vec![
        (
            "a new job starts its first pod",
            job(Some(5), 1, "OnFailure"),
            vec![],
            true,
            0,
            vec!["create 1", "status active=1 succeeded=0 failed=0"],
        ),
        (
            "completions run one after another",
            started(job(Some(5), 1, "OnFailure"), 0),
            vec![pod("a", "Succeeded", 0, 20)],
            true,
            30,
            vec!["create 1", "status active=1 succeeded=1 failed=0"],
        ),
        (
            "parallel pods never exceed parallelism",
            started(job(Some(5), 2, "OnFailure"), 0),
            vec![pod("a", "Succeeded", 0, 20), running("b"), running("c")],
            true,
            30,
            vec!["status active=2 succeeded=1 failed=0"],
        ),
        (
            "never more active than remaining completions",
            started(job(Some(5), 2, "OnFailure"), 0),
            (0..4)
                .map(|i| pod(&format!("s{i}"), "Succeeded", 0, 20))
                .chain([running("b"), newer("c", 5)])
                .collect(),
            true,
            30,
            vec!["delete c", "status active=1 succeeded=4 failed=0"],
        ),
        (
            "raising parallelism while running starts more pods",
            started(job(Some(5), 3, "OnFailure"), 0),
            vec![pod("a", "Succeeded", 0, 20), running("b"), running("c")],
            true,
            30,
            vec!["create 1", "status active=3 succeeded=1 failed=0"],
        ),
        (
            "lowering parallelism stops pods",
            started(job(Some(5), 1, "OnFailure"), 0),
            vec![running("b"), newer("c", 5)],
            true,
            30,
            vec!["delete c", "status active=1 succeeded=0 failed=0"],
        ),
        (
            "the last completion completes the job",
            started(job(Some(2), 1, "OnFailure"), 0),
            vec![pod("a", "Succeeded", 0, 20), pod("b", "Succeeded", 0, 40)],
            true,
            45,
            vec![
                "event Completed: Job completed",
                "status active=0 succeeded=2 failed=0 Complete=True completed",
            ],
        ),
        (
            "a work queue starts parallelism pods",
            job(None, 3, "OnFailure"),
            vec![],
            true,
            0,
            vec!["create 3", "status active=3 succeeded=0 failed=0"],
        ),
        (
            "a work queue starts nothing new after a success",
            started(job(None, 3, "OnFailure"), 0),
            vec![pod("a", "Succeeded", 0, 20), running("b")],
            true,
            30,
            vec!["status active=1 succeeded=1 failed=0"],
        ),
        (
            "a work queue is done when one succeeded and none run",
            started(job(None, 3, "OnFailure"), 0),
            vec![pod("a", "Succeeded", 0, 20), pod("b", "Succeeded", 0, 25)],
            true,
            30,
            vec![
                "event Completed: Job completed",
                "status active=0 succeeded=2 failed=0 Complete=True completed",
            ],
        ),
        (
            "unobserved creations hold back new pods",
            started(job(Some(5), 2, "OnFailure"), 0),
            vec![running("a")],
            false,
            30,
            vec!["status active=1 succeeded=0 failed=0"],
        ),
        (
            "Never: a failed pod is replaced after the back-off",
            started(job(Some(1), 1, "Never"), 0),
            vec![pod("a", "Failed", 0, 20)],
            true,
            25,
            vec!["requeue 5s", "status active=0 succeeded=0 failed=1"],
        ),
        (
            "Never: once the back-off has passed",
            started(job(Some(1), 1, "Never"), 0),
            vec![pod("a", "Failed", 0, 20)],
            true,
            31,
            vec!["create 1", "status active=1 succeeded=0 failed=1"],
        ),
        (
            "Never: the seventh failure exceeds backoffLimit 6",
            started(job(Some(1), 1, "Never"), 0),
            (0..7)
                .map(|i| pod(&format!("f{i}"), "Failed", 0, 10 * i))
                .chain([running("r")])
                .collect(),
            true,
            500,
            vec![
                "delete r",
                "warning BackoffLimitExceeded: Job has reached the specified backoff limit",
                "status active=0 succeeded=0 failed=8 Failed=True/BackoffLimitExceeded",
            ],
        ),
        (
            "OnFailure: container restarts count toward backoffLimit",
            {
                let mut j = started(job(Some(1), 1, "OnFailure"), 0);
                j.spec.backoff_limit = Some(2);
                j
            },
            vec![pod("a", "Running", 2, 0)],
            true,
            60,
            vec![
                "delete a",
                "warning BackoffLimitExceeded: Job has reached the specified backoff limit",
                "status active=0 succeeded=0 failed=1 Failed=True/BackoffLimitExceeded",
            ],
        ),
        (
            "OnFailure: fewer restarts than the limit keep it running",
            {
                let mut j = started(job(Some(1), 1, "OnFailure"), 0);
                j.spec.backoff_limit = Some(2);
                j.status.active = 1;
                j
            },
            vec![pod("a", "Running", 1, 0)],
            true,
            60,
            vec![],
        ),
        (
            "before its deadline a job is looked at again at the deadline",
            deadline.clone(),
            vec![running("a")],
            true,
            10,
            vec!["requeue 20s", "status active=1 succeeded=0 failed=0"],
        ),
        (
            "past activeDeadlineSeconds the job fails and its pods are killed",
            deadline,
            vec![running("a")],
            true,
            30,
            vec![
                "delete a",
                "warning DeadlineExceeded: Job was active longer than specified deadline",
                "status active=0 succeeded=0 failed=1 Failed=True/DeadlineExceeded",
            ],
        ),
        (
            "a finished job waits for its TTL",
            ttl_done.clone(),
            vec![],
            true,
            130,
            vec!["requeue 30s"],
        ),
        (
            "a finished job past its TTL is deleted",
            ttl_done,
            vec![],
            true,
            160,
            vec!["delete job"],
        ),
        (
            "a suspended job stops its pods",
            suspended,
            vec![running("a"), running("b")],
            true,
            10,
            vec![
                "delete a,b",
                "event Suspended: Job suspended",
                "status active=0 succeeded=0 failed=0 Suspended=True/JobSuspended",
            ],
        ),
        (
            "a job being deleted starts no pods",
            deleting,
            vec![],
            true,
            10,
            vec![],
        ),
    ];
    for (name, j, pods, met, now, want) in cases {
        assert_eq!(run(&j, &pods, met, now), want, "case: {name}");
    }
}

/// Drives one Job through time with a fake clock: pods fail one after another and each
/// replacement waits twice as long as the one before (10 s, 20 s, 40 s).
#[test]
fn failed_pods_are_replaced_with_doubling_back_off() {
    let clock = FakeClock::new(t0());
    let j = started(job(Some(1), 1, "Never"), 0);
    let mut pods: Vec<Arc<Pod>> = Vec::new();
    let mut waits = Vec::new();
    for failure in 0..3 {
        pods.push(pod(
            &format!("f{failure}"),
            "Failed",
            0,
            (clock.now() - t0()).num_seconds(),
        ));
        let mut waited = 0;
        loop {
            let actions = reconcile(
                &j,
                &Observed {
                    pods: &pods,
                    expectations_met: true,
                    now: clock.now(),
                },
                &BACKOFF,
            );
            if actions.iter().any(|a| matches!(a, Action::CreatePods(1))) {
                break;
            }
            assert!(
                actions.iter().any(|a| matches!(a, Action::RequeueAfter(_))),
                "{actions:?}"
            );
            clock.advance(chrono::Duration::seconds(1));
            waited += 1;
        }
        waits.push(waited);
    }
    assert_eq!(waits, [10, 20, 40]);
}

/// A Job whose pods run 10 s each, completions 3, parallelism 2, simulated with a fake clock:
/// never more than 2 at once, exactly 3 successes, then Complete.
#[test]
fn completions_and_parallelism_over_time() {
    let clock = FakeClock::new(t0());
    let mut j = job(Some(3), 2, "OnFailure");
    let mut pods: Vec<(Arc<Pod>, i64)> = Vec::new();
    let mut created = 0;
    for _ in 0..60 {
        let now = (clock.now() - t0()).num_seconds();
        // Pods started 10 s ago succeed.
        for (p, started_at) in pods.iter_mut() {
            if p.status.phase == "Running" && now - *started_at >= 10 {
                *p = pod(&p.metadata.name, "Succeeded", 0, now);
            }
        }
        let current: Vec<Arc<Pod>> = pods.iter().map(|(p, _)| p.clone()).collect();
        for action in reconcile(
            &j,
            &Observed {
                pods: &current,
                expectations_met: true,
                now: clock.now(),
            },
            &BACKOFF,
        ) {
            match action {
                Action::CreatePods(n) => {
                    for _ in 0..n {
                        created += 1;
                        pods.push((running(&format!("p{created}")), now));
                    }
                }
                Action::UpdateStatus(s) => j.status = s,
                Action::DeletePods(_) => panic!("nothing should be deleted"),
                _ => {}
            }
        }
        let active = pods
            .iter()
            .filter(|(p, _)| p.status.phase == "Running")
            .count();
        assert!(active <= 2, "{active} pods at once at {now}s");
        clock.advance(chrono::Duration::seconds(1));
    }
    assert_eq!(created, 3);
    assert_eq!((j.status.succeeded, j.status.active), (3, 0));
    assert!(j
        .status
        .conditions
        .iter()
        .any(|c| c.type_ == "Complete" && c.status == "True"));
    assert_eq!(j.status.start_time, Some(Time::from(t0())));
}
