//! The CronJob chapter of the notes, on an every-minute schedule: one Job per minute, named by its minute, started right at it; completed Jobs noticed; history pruned. And `startingDeadlineSeconds`: a run the controller-manager missed starts late within the deadline and is skipped (MissSchedule) beyond it.

use std::collections::BTreeMap;
use std::time::Duration;

use skiff_api::meta::condition_is_true;
use skiff_api::types::{CronJob, Job};
use skiff_client::ListOptions;
use skiff_testkit::{step, wait_for};

use crate::util::{cluster, events, fixture, nodes, wait_event, Runtime, Setup};

/// An every-minute CronJob whose Jobs' pods pretend to run 3 s on a hollow node.
fn every_minute(name: &str) -> CronJob {
    let mut cj = fixture::<CronJob>("cronjob-every-fifteen-minutes.yaml");
    cj.metadata.name = name.into();
    cj.spec.schedule = "*/1 * * * *".into();
    let annotations = &mut cj.spec.job_template.spec.template.metadata.annotations;
    annotations.insert("skiff.io/fake-exit-code".into(), "0".into());
    annotations.insert("skiff.io/fake-run-seconds".into(), "3".into());
    cj
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// The controller-manager is down across one minute boundary and comes back 20 s after it:
/// the CronJob whose deadline (300 s) still covers the missed run starts it late; the one
/// whose deadline (10 s) has passed skips it with a MissSchedule warning. One real minute
/// boundary, so the test takes about a minute.
#[tokio::test]
async fn starting_deadline_seconds_decides_whether_a_missed_run_starts_late() {
    let (mut cluster, admin) = cluster(Setup::new(nodes(&["n1"]), Runtime::Fake)).await;

    step("stop the controller-manager; create CronJobs 'lenient' (deadline 300 s) and 'strict' (10 s)");
    cluster.stop("controller-manager-1", Duration::from_secs(10));
    let mut created = 0;
    for (name, deadline) in [("lenient", 300), ("strict", 10)] {
        let mut cj = every_minute(name);
        cj.spec.starting_deadline_seconds = Some(deadline);
        let cj = admin.create(&cj).await.expect("create cronjob");
        let at = cj
            .metadata
            .creation_timestamp
            .expect("creation time")
            .0
            .timestamp();
        created = created.max(at);
    }
    // The first scheduled time after both exist: nobody runs it on time.
    let missed_minute = created / 60 + 1;
    let back_at = missed_minute * 60 + 20;
    step(&format!(
        "wait {} s, past the missed minute {missed_minute} by 20 s",
        back_at - unix_now()
    ));
    tokio::time::sleep(Duration::from_secs((back_at - unix_now()).max(0) as u64)).await;

    step("start the controller-manager again");
    cluster.start_component("controller-manager-1");
    let late = format!("lenient-{missed_minute}");
    let job: Job = wait_for(
        &format!("the missed run of 'lenient' ({late}) to start late"),
        Duration::from_secs(45),
        || async { admin.get_opt::<Job>("default", &late).await.ok()? },
    )
    .await;
    let started = job
        .metadata
        .creation_timestamp
        .expect("creation time")
        .0
        .timestamp();
    assert!(
        started >= back_at,
        "{late} was created at {started}, before the controller-manager came back at {back_at}"
    );
    let miss = wait_event(&admin, "MissSchedule", "strict", Duration::from_secs(45)).await;
    assert!(
        miss.message
            .starts_with("Missed scheduled time to start a job"),
        "{}",
        miss.message
    );
    assert_eq!(miss.type_, "Warning");
    let skipped = format!("strict-{missed_minute}");
    assert!(
        admin
            .get_opt::<Job>("default", &skipped)
            .await
            .expect("get job")
            .is_none(),
        "{skipped} ran although its starting deadline had passed"
    );
    let strict: CronJob = admin.get("default", "strict").await.expect("cronjob");
    assert!(
        strict
            .status
            .last_schedule_time
            .is_none_or(|t| t.0.timestamp() / 60 > missed_minute),
        "strict's missed run was recorded as scheduled: {:?}",
        strict.status
    );
    drop(cluster);
}

#[tokio::test]
async fn cron_job_creates_one_job_per_minute() {
    let (cluster, admin) = cluster(Setup::new(nodes(&["n1"]), Runtime::Fake)).await;

    step("create the batch-job CronJob with schedule */1 (jobs run 3 s on the hollow node), history limit 2");
    let mut cj = every_minute("every-minute");
    cj.spec.successful_jobs_history_limit = Some(2);
    admin.create(&cj).await.expect("create cronjob");

    step("wait for three scheduled runs");
    // Job name -> seconds between its scheduled minute and its creation.
    let mut seen: BTreeMap<String, i64> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(200);
    while seen.len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {seen:?} after 200 s"
        );
        let jobs = admin
            .list::<Job>(Some("default"), &ListOptions::default())
            .await
            .expect("list jobs")
            .items;
        for job in jobs {
            let minute: i64 = job
                .metadata
                .name
                .strip_prefix("every-minute-")
                .and_then(|m| m.parse().ok())
                .expect("job named by its minute");
            let created = job
                .metadata
                .creation_timestamp
                .expect("creation time")
                .0
                .timestamp();
            seen.insert(job.metadata.name.clone(), created - minute * 60);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let minutes: Vec<i64> = seen
        .keys()
        .map(|n| {
            n.trim_start_matches("every-minute-")
                .parse()
                .expect("minute")
        })
        .collect();
    assert!(
        minutes.windows(2).all(|w| w[1] == w[0] + 1),
        "one job per consecutive minute: {seen:?}"
    );
    for (name, late) in &seen {
        assert!(
            (0..10).contains(late),
            "{name} created {late} s after its scheduled time"
        );
    }
    let creates = events(&admin, "SuccessfulCreate")
        .await
        .into_iter()
        .filter(|e| e.involved_object.name == "every-minute")
        .count();
    assert_eq!(creates, seen.len(), "no scheduled time ran twice");

    step("completed jobs are noticed; beyond the history limit the oldest is deleted");
    wait_event(
        &admin,
        "SawCompletedJob",
        "every-minute",
        Duration::from_secs(30),
    )
    .await;
    let oldest = seen.keys().next().cloned().expect("a job");
    wait_for(
        "the oldest job to be pruned",
        Duration::from_secs(30),
        || async {
            admin
                .get_opt::<Job>("default", &oldest)
                .await
                .ok()?
                .is_none()
                .then_some(())
        },
    )
    .await;
    wait_for(
        "a SuccessfulDelete event for it",
        Duration::from_secs(10),
        || async {
            let deletes = events(&admin, "SuccessfulDelete").await;
            deletes
                .iter()
                .any(|e| e.involved_object.name == "every-minute" && e.message.contains(&oldest))
                .then_some(())
        },
    )
    .await;
    let cj: CronJob = admin.get("default", "every-minute").await.expect("cronjob");
    let last = cj
        .status
        .last_schedule_time
        .expect("lastScheduleTime")
        .0
        .timestamp()
        / 60;
    assert!(last >= *minutes.last().expect("minute"), "{:?}", cj.status);
    assert!(cj.status.last_successful_time.is_some(), "{:?}", cj.status);
    let jobs = admin
        .list::<Job>(Some("default"), &ListOptions::default())
        .await
        .expect("list jobs")
        .items;
    let complete = jobs
        .iter()
        .filter(|j| condition_is_true(&j.status.conditions, "Complete"))
        .count();
    assert!(
        complete <= 2,
        "history limit 2, found {complete} completed jobs"
    );
    drop(cluster);
}
