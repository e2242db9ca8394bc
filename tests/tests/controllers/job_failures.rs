//! Jobs that fail, with real processes, under both restart policies: activeDeadlineSeconds (the running pod is killed, reason DeadlineExceeded) and backoffLimit (reason BackoffLimitExceeded; OnFailure counts container restarts in place, Never counts failed pods).

use std::time::Duration;

use skiff_api::meta::find_condition;
use skiff_api::types::{Container, Job, Resource};
use skiff_testkit::{step, wait_for};

use crate::util::{
    batch_seconds, cluster, events, fixture, nodes, pods, wait_event, Runtime, Setup,
};

const WITHIN: Duration = Duration::from_secs(60);

/// The time-limited-batch-job fixture with a short deadline and the given restart policy.
fn deadline_job(name: &str, policy: &str) -> Job {
    let mut job = fixture::<Job>("job-deadline.yaml");
    job.metadata.name = name.into();
    job.spec.active_deadline_seconds = Some(3);
    job.spec.template.spec.restart_policy = policy.into();
    job.spec
        .template
        .metadata
        .labels
        .insert("app".into(), name.into());
    batch_seconds(&mut job.spec.template, 30);
    job
}

/// A Job whose container always exits 1.
fn failing_job(name: &str, policy: &str, backoff_limit: i32) -> Job {
    let mut job = Job::named("default", name);
    job.spec.backoff_limit = Some(backoff_limit);
    job.spec
        .template
        .metadata
        .labels
        .insert("app".into(), name.into());
    job.spec.template.spec.restart_policy = policy.into();
    job.spec.template.spec.containers.push(Container {
        name: "main".into(),
        image: "busybox".into(),
        command: vec!["sh".into(), "-c".into(), "echo failing; exit 1".into()],
        ..Container::default()
    });
    job
}

/// Waits for the Job's Failed condition; returns the Job.
async fn wait_failed(admin: &skiff_client::Client, name: &str, reason: &str) -> Job {
    wait_for(
        &format!("job {name} to fail with {reason}"),
        WITHIN,
        || async {
            let job: Job = admin.get("default", name).await.ok()?;
            let failed = find_condition(&job.status.conditions, "Failed")?;
            assert_eq!(failed.reason, reason, "{name}: {failed:?}");
            (failed.status == "True").then_some(job)
        },
    )
    .await
}

#[tokio::test]
async fn jobs_fail_by_deadline_and_backoff_limit() {
    let setup = Setup {
        extra_nodelet_args: vec!["--crashloop-backoff-base".into(), "500ms".into()],
        ..Setup::new(nodes(&["n1", "n2"]), Runtime::Process { batch_seconds: 30 })
    };
    let (cluster, admin) = cluster(setup).await;

    step("create four Jobs: deadline 3 s (OnFailure, Never), always failing with backoffLimit 2 (OnFailure, Never)");
    for job in [
        deadline_job("deadline-onfailure", "OnFailure"),
        deadline_job("deadline-never", "Never"),
        failing_job("backoff-onfailure", "OnFailure", 2),
        failing_job("backoff-never", "Never", 2),
    ] {
        admin.create(&job).await.expect("create job");
    }

    step("past activeDeadlineSeconds: Failed/DeadlineExceeded, the running pod killed");
    for name in ["deadline-onfailure", "deadline-never"] {
        let job = wait_failed(&admin, name, "DeadlineExceeded").await;
        assert_eq!(job.status.active, 0);
        wait_event(&admin, "DeadlineExceeded", name, WITHIN).await;
        wait_for(&format!("{name}'s pod to be killed"), WITHIN, || async {
            pods(&admin, &format!("job-name={name}"))
                .await
                .iter()
                .all(|p| p.status.phase == "Failed" || p.metadata.deletion_timestamp.is_some())
                .then_some(())
        })
        .await;
    }

    step("OnFailure: the container restarts in place; 2 restarts exceed backoffLimit 2");
    let job = wait_failed(&admin, "backoff-onfailure", "BackoffLimitExceeded").await;
    assert_eq!(job.status.active, 0);
    wait_event(&admin, "BackoffLimitExceeded", "backoff-onfailure", WITHIN).await;
    let created = events(&admin, "SuccessfulCreate")
        .await
        .into_iter()
        .filter(|e| e.involved_object.name == "backoff-onfailure")
        .count();
    assert_eq!(
        created, 1,
        "OnFailure restarts the container, it does not replace the pod"
    );

    step("Never: each failure is a new pod; the third failed pod exceeds backoffLimit 2");
    let job = wait_failed(&admin, "backoff-never", "BackoffLimitExceeded").await;
    assert_eq!(job.status.failed, 3, "{:?}", job.status);
    wait_event(&admin, "BackoffLimitExceeded", "backoff-never", WITHIN).await;
    let failed = pods(&admin, "job-name=backoff-never")
        .await
        .iter()
        .filter(|p| p.status.phase == "Failed")
        .count();
    assert_eq!(failed, 3, "failed pods are kept");

    step("no job pod keeps running");
    wait_for("every job pod to be finished or gone", WITHIN, || async {
        let all = pods(&admin, "").await;
        all.iter()
            .all(|p| p.status.phase == "Failed" || p.status.phase == "Succeeded")
            .then_some(())
    })
    .await;
    assert!(job.name() == "backoff-never");
    drop(cluster);
}
