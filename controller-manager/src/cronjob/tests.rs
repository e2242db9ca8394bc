//! Table tests of the CronJob decision and a fake-clock simulation of an every-minute schedule.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use skiff_api::meta::{Condition, OwnerReference, Time};
use skiff_api::types::{object_reference, CronJob, Job, Resource};

use super::reconcile::{
    build_job, job_name, reconcile, Action, Deletion, Observed, SCHEDULED_TIMESTAMP_ANNOTATION,
};
use crate::clock::{Clock, FakeClock};

fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, h, m, s).unwrap()
}

fn cron_job(schedule: &str, policy: &str) -> CronJob {
    let mut cj = CronJob::named("default", "every");
    cj.metadata.uid = "cj-uid".into();
    cj.metadata.creation_timestamp = Some(Time::from(t(12, 0, 30)));
    cj.spec.schedule = schedule.into();
    cj.spec.concurrency_policy = policy.into();
    cj.spec
        .job_template
        .metadata
        .labels
        .insert("app".into(), "periodic".into());
    cj
}

fn last_scheduled(mut cj: CronJob, at: DateTime<Utc>) -> CronJob {
    cj.status.last_schedule_time = Some(Time::from(at));
    cj
}

/// A Job of the CronJob for `scheduled`: `state` is `running`, `complete` or `failed`.
fn job(cj: &CronJob, scheduled: DateTime<Utc>, state: &str) -> Arc<Job> {
    let mut j = build_job(cj, scheduled);
    j.metadata.uid = format!("uid-{}", j.metadata.name);
    j.status.start_time = Some(Time::from(scheduled));
    match state {
        "complete" => {
            j.status.conditions.push(Condition {
                status: "True".into(),
                type_: "Complete".into(),
                ..Condition::default()
            });
            j.status.completion_time = Some(Time::from(scheduled + chrono::Duration::seconds(20)));
        }
        "failed" => j.status.conditions.push(Condition {
            status: "True".into(),
            type_: "Failed".into(),
            ..Condition::default()
        }),
        _ => {}
    }
    Arc::new(j)
}

fn active(mut cj: CronJob, jobs: &[&Arc<Job>]) -> CronJob {
    cj.status.active = jobs.iter().map(|j| object_reference(j.as_ref())).collect();
    cj
}

fn minutes(at: DateTime<Utc>) -> i64 {
    at.timestamp() / 60
}

fn describe(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::DeleteJob { name, why, .. } => format!("delete {name} ({why:?})"),
            Action::CreateJob { name, scheduled } => {
                format!("create {name} for {}", scheduled.format("%H:%M"))
            }
            Action::UpdateStatus(s) => format!(
                "status active=[{}] last={} success={}",
                s.active
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                s.last_schedule_time
                    .map_or("-".into(), |t| t.0.format("%H:%M").to_string()),
                s.last_successful_time
                    .map_or("-".into(), |t| t.0.format("%H:%M:%S").to_string()),
            ),
            Action::Event {
                warning, reason, ..
            } => format!("{} {reason}", if *warning { "warning" } else { "event" }),
            Action::ReportedMiss(at) => format!("reported {}", at.format("%H:%M")),
            Action::RequeueAfter(d) => format!("requeue {}ms", d.as_millis()),
        })
        .collect()
}

fn run(
    cj: &CronJob,
    jobs: &[Arc<Job>],
    now: DateTime<Utc>,
    reported: Option<DateTime<Utc>>,
) -> Vec<String> {
    let missing = HashSet::new();
    describe(&reconcile(
        cj,
        &Observed {
            jobs,
            missing: &missing,
            now,
            last_reported_miss: reported,
        },
    ))
}

#[test]
fn cron_job_decisions() {
    let every = cron_job("*/1 * * * *", "Allow");
    let m1 = minutes(t(12, 1, 0));
    let running_1201 = job(&every, t(12, 1, 0), "running");
    let name = |at| job_name("every", at);
    type Row<'a> = (&'a str, CronJob, Vec<Arc<Job>>, DateTime<Utc>, Vec<String>);
    let cases: Vec<Row<'_>> = vec![
        (
            "before the first scheduled time nothing runs",
            every.clone(),
            vec![],
            t(12, 0, 50),
            vec!["requeue 10000ms".into()],
        ),
        (
            "at the scheduled time one Job is created, named by its minute",
            every.clone(),
            vec![],
            t(12, 1, 0),
            vec![
                format!("create every-{m1} for 12:01"),
                "status active=[] last=12:01 success=-".into(),
                "requeue 60000ms".into(),
            ],
        ),
        (
            "a scheduled time never runs twice",
            active(last_scheduled(every.clone(), t(12, 1, 0)), &[&running_1201]),
            vec![running_1201.clone()],
            t(12, 1, 30),
            vec!["requeue 30000ms".into()],
        ),
        (
            "a Job that exists for the time counts as the run (status write lost)",
            every.clone(),
            vec![running_1201.clone()],
            t(12, 1, 10),
            vec![
                format!("status active=[{}] last=12:01 success=-", name(t(12, 1, 0))),
                "requeue 50000ms".into(),
            ],
        ),
        (
            "Allow runs concurrently",
            active(last_scheduled(every.clone(), t(12, 1, 0)), &[&running_1201]),
            vec![running_1201.clone()],
            t(12, 2, 0),
            vec![
                format!("create {} for 12:02", name(t(12, 2, 0))),
                format!("status active=[{}] last=12:02 success=-", name(t(12, 1, 0))),
                "requeue 60000ms".into(),
            ],
        ),
        (
            "Forbid skips while a run is active",
            active(
                last_scheduled(cron_job("*/1 * * * *", "Forbid"), t(12, 1, 0)),
                &[&running_1201],
            ),
            vec![running_1201.clone()],
            t(12, 2, 0),
            vec!["event JobAlreadyActive".into(), "requeue 60000ms".into()],
        ),
        (
            "Replace deletes the active run and starts the new one",
            active(
                last_scheduled(cron_job("*/1 * * * *", "Replace"), t(12, 1, 0)),
                &[&running_1201],
            ),
            vec![running_1201.clone()],
            t(12, 2, 0),
            vec![
                format!("delete {} (Replace)", name(t(12, 1, 0))),
                format!("create {} for 12:02", name(t(12, 2, 0))),
                "status active=[] last=12:02 success=-".into(),
                "requeue 60000ms".into(),
            ],
        ),
        (
            "a suspended CronJob starts nothing",
            {
                let mut cj = every.clone();
                cj.spec.suspend = Some(true);
                cj
            },
            vec![],
            t(12, 5, 0),
            vec![],
        ),
        (
            "a run that could not start within startingDeadlineSeconds is reported missed",
            {
                let mut cj = last_scheduled(every.clone(), t(12, 0, 0));
                cj.spec.starting_deadline_seconds = Some(15);
                cj
            },
            vec![],
            t(12, 1, 20),
            vec![
                "warning MissSchedule".into(),
                "reported 12:01".into(),
                "requeue 40000ms".into(),
            ],
        ),
        (
            "within startingDeadlineSeconds it still starts",
            {
                let mut cj = last_scheduled(every.clone(), t(12, 0, 0));
                cj.spec.starting_deadline_seconds = Some(15);
                cj
            },
            vec![],
            t(12, 1, 10),
            vec![
                format!("create {} for 12:01", name(t(12, 1, 0))),
                "status active=[] last=12:01 success=-".into(),
                "requeue 50000ms".into(),
            ],
        ),
        (
            "more than 100 missed start times: a warning, and only the latest runs",
            {
                let mut cj = every.clone();
                cj.metadata.creation_timestamp = Some(Time::from(t(10, 0, 0)));
                cj
            },
            vec![],
            t(12, 0, 30),
            vec![
                "warning TooManyMissedTimes".into(),
                format!("create {} for 12:00", name(t(12, 0, 0))),
                "status active=[] last=12:00 success=-".into(),
                "requeue 30000ms".into(),
            ],
        ),
        (
            "a finished Job leaves the active list and sets lastSuccessfulTime",
            active(last_scheduled(every.clone(), t(12, 1, 0)), &[&running_1201]),
            vec![job(&every, t(12, 1, 0), "complete")],
            t(12, 1, 40),
            vec![
                "event SawCompletedJob".into(),
                "status active=[] last=12:01 success=12:01:20".into(),
                "requeue 20000ms".into(),
            ],
        ),
        (
            "finished Jobs beyond the history limits are deleted, oldest first",
            last_scheduled(every.clone(), t(12, 6, 0)),
            vec![
                job(&every, t(12, 1, 0), "complete"),
                job(&every, t(12, 2, 0), "failed"),
                job(&every, t(12, 3, 0), "complete"),
                job(&every, t(12, 4, 0), "complete"),
                job(&every, t(12, 5, 0), "failed"),
                job(&every, t(12, 6, 0), "complete"),
            ],
            t(12, 6, 30),
            vec![
                format!("delete {} (History)", name(t(12, 1, 0))),
                format!("delete {} (History)", name(t(12, 2, 0))),
                "status active=[] last=12:06 success=12:06:20".into(),
                "requeue 30000ms".into(),
            ],
        ),
        (
            "an unparseable schedule is reported",
            cron_job("every minute", "Allow"),
            vec![],
            t(12, 1, 0),
            vec!["warning UnparseableSchedule".into()],
        ),
    ];
    for (case, cj, jobs, now, want) in cases {
        assert_eq!(run(&cj, &jobs, now, None), want, "case: {case}");
    }
    // Reported once: the same skipped run is not reported again.
    let mut cj = last_scheduled(every.clone(), t(12, 0, 0));
    cj.spec.starting_deadline_seconds = Some(15);
    assert_eq!(
        run(&cj, &[], t(12, 1, 25), Some(t(12, 1, 0))),
        ["requeue 35000ms"]
    );
}

#[test]
fn a_vanished_active_job_leaves_the_list() {
    let every = last_scheduled(cron_job("*/1 * * * *", "Forbid"), t(12, 1, 0));
    let gone = job(&every, t(12, 1, 0), "running");
    let cj = active(every, &[&gone]);
    let missing: HashSet<String> = [gone.metadata.uid.clone()].into();
    let actions = reconcile(
        &cj,
        &Observed {
            jobs: &[],
            missing: &missing,
            now: t(12, 1, 30),
            last_reported_miss: None,
        },
    );
    assert_eq!(
        describe(&actions),
        [
            "warning MissingJob",
            "status active=[] last=12:01 success=-",
            "requeue 30000ms"
        ]
    );
    // Not in the cache but not confirmed gone either (just created): it stays active.
    let actions = reconcile(
        &cj,
        &Observed {
            jobs: &[],
            missing: &HashSet::new(),
            now: t(12, 1, 30),
            last_reported_miss: None,
        },
    );
    assert_eq!(describe(&actions), ["requeue 30000ms"]);
}

#[test]
fn jobs_are_built_from_the_template() {
    let cj = cron_job("*/1 * * * *", "Allow");
    let j = build_job(&cj, t(12, 1, 0));
    assert_eq!(j.metadata.name, format!("every-{}", minutes(t(12, 1, 0))));
    assert_eq!(j.metadata.labels["app"], "periodic");
    assert_eq!(
        j.metadata.annotations[SCHEDULED_TIMESTAMP_ANNOTATION],
        "2024-05-01T12:01:00Z"
    );
    let owner: &OwnerReference = j.metadata.controller_ref().unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("CronJob", "cj-uid")
    );
}

/// Ten minutes of an every-minute CronJob on a fake clock, stepping 7 s at a time. Jobs run
/// 20 s. Once, the status write after a creation is lost (as when the leader dies between
/// the two writes). Exactly one Job per minute is created, and history stays within limits.
#[test]
fn an_every_minute_schedule_over_ten_minutes() {
    let clock = FakeClock::new(t(12, 0, 30));
    let mut cj = cron_job("*/1 * * * *", "Allow");
    let mut jobs: Vec<Arc<Job>> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    let mut lose_next_status = false;
    while clock.now() < t(12, 10, 30) {
        let now = clock.now();
        // Jobs finish 20 s after their scheduled time.
        jobs = jobs
            .iter()
            .map(|j| {
                let scheduled = j.status.start_time.unwrap().0;
                if now >= scheduled + chrono::Duration::seconds(20)
                    && j.status.conditions.is_empty()
                {
                    job(&cj, scheduled, "complete")
                } else {
                    j.clone()
                }
            })
            .collect();
        let missing = HashSet::new();
        for action in reconcile(
            &cj,
            &Observed {
                jobs: &jobs,
                missing: &missing,
                now,
                last_reported_miss: None,
            },
        ) {
            match action {
                Action::CreateJob { name, scheduled } => {
                    assert!(
                        !jobs.iter().any(|j| j.metadata.name == name),
                        "{name} created twice"
                    );
                    created.push(name);
                    jobs.push(job(&cj, scheduled, "running"));
                    // The third creation's status write is lost.
                    lose_next_status = created.len() == 3;
                }
                Action::UpdateStatus(mut status) => {
                    if std::mem::take(&mut lose_next_status) {
                        continue;
                    }
                    if let Some(j) = jobs.last() {
                        if j.status.conditions.is_empty()
                            && !status.active.iter().any(|r| r.uid == j.metadata.uid)
                        {
                            status.active.push(object_reference(j.as_ref()));
                        }
                    }
                    cj.status = status;
                }
                Action::DeleteJob { uid, why, .. } => {
                    assert_eq!(why, Deletion::History);
                    jobs.retain(|j| j.metadata.uid != uid);
                }
                _ => {}
            }
        }
        clock.advance(chrono::Duration::seconds(7));
    }
    let expected: Vec<String> = (1..=10).map(|m| job_name("every", t(12, m, 0))).collect();
    assert_eq!(created, expected);
    assert!(
        jobs.len() <= 4,
        "history is pruned to 3 successful plus the running one: {}",
        jobs.len()
    );
    assert_eq!(cj.status.last_schedule_time, Some(Time::from(t(12, 10, 0))));
}
