//! The Job chapter of the notes, with real processes (luksa/batch-job working 2 s): 5 completions one after another, 5 with parallelism 2, and parallelism raised while a Job runs.

use std::time::Duration;

use skiff_api::meta::condition_is_true;
use skiff_api::types::{Job, Pod};
use skiff_testkit::{step, wait_for};

use crate::util::{batch_seconds, cluster, fixture, live, nodes, pods, wait_event, Runtime, Setup};

const WITHIN: Duration = Duration::from_secs(30);

/// Polls the Job's pods until it completes; returns the most pods seen active at once.
async fn run_to_completion(admin: &skiff_client::Client, job: &str, within: Duration) -> usize {
    let mut most = 0;
    let selector = format!("job-name={job}");
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let active = pods(admin, &selector)
            .await
            .iter()
            .filter(|p| live(p))
            .count();
        most = most.max(active);
        let j: Job = admin.get("default", job).await.expect("job");
        if condition_is_true(&j.status.conditions, "Complete") {
            return most;
        }
        if tokio::time::Instant::now() >= deadline {
            let states: Vec<String> = pods(admin, &selector)
                .await
                .iter()
                .map(|p| {
                    format!(
                        "{} on {:?}: {} {:?}",
                        p.metadata.name,
                        p.spec.node_name,
                        p.status.phase,
                        p.status.container_statuses
                    )
                })
                .collect();
            panic!(
                "job {job} did not complete within {within:?}: {:?}; pods: {states:#?}",
                j.status
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The Job's final state: exactly `completions` pods succeeded, none failed, all kept.
async fn check_completed(admin: &skiff_client::Client, job: &str, completions: usize) {
    let j: Job = admin.get("default", job).await.expect("job");
    assert_eq!(
        j.status.succeeded as usize, completions,
        "{job}: {:?}",
        j.status
    );
    assert_eq!(
        (j.status.active, j.status.failed),
        (0, 0),
        "{job}: {:?}",
        j.status
    );
    assert!(j.status.start_time.is_some() && j.status.completion_time.is_some());
    let all: Vec<Pod> = pods(admin, &format!("job-name={job}")).await;
    let succeeded = all.iter().filter(|p| p.status.phase == "Succeeded").count();
    assert_eq!(
        succeeded, completions,
        "{job}: finished pods are kept and exactly {completions} succeeded"
    );
    assert_eq!(all.len(), completions, "{job}: no extra pods");
}

#[tokio::test]
async fn jobs_run_to_completion() {
    let (cluster, admin) = cluster(Setup::new(
        nodes(&["n1", "n2"]),
        Runtime::Process { batch_seconds: 2 },
    ))
    .await;

    step("create multi-completion-batch-job (5 completions) and multi-completion-parallel-batch-job (5, parallelism 2)");
    let mut sequential = fixture::<Job>("job-multi-completion.yaml");
    let mut parallel = fixture::<Job>("job-multi-completion-parallel.yaml");
    batch_seconds(&mut sequential.spec.template, 2);
    batch_seconds(&mut parallel.spec.template, 2);
    admin.create(&sequential).await.expect("create job");
    admin.create(&parallel).await.expect("create job");
    let (most_sequential, most_parallel) = tokio::join!(
        run_to_completion(
            &admin,
            "multi-completion-batch-job",
            Duration::from_secs(90)
        ),
        run_to_completion(
            &admin,
            "multi-completion-parallel-batch-job",
            Duration::from_secs(60)
        ),
    );
    assert_eq!(most_sequential, 1, "one pod at a time");
    assert_eq!(
        most_parallel, 2,
        "never more than parallelism 2, and 2 at some point"
    );
    check_completed(&admin, "multi-completion-batch-job", 5).await;
    check_completed(&admin, "multi-completion-parallel-batch-job", 5).await;
    let completed = wait_event(&admin, "Completed", "multi-completion-batch-job", WITHIN).await;
    assert_eq!(completed.source.component, "job-controller");

    step("raise a running Job's parallelism from 1 to 3 (skiff scale job --replicas 3)");
    let mut scaled = fixture::<Job>("job-multi-completion.yaml");
    scaled.metadata.name = "scaled-batch-job".into();
    scaled.spec.completions = Some(6);
    batch_seconds(&mut scaled.spec.template, 2);
    admin.create(&scaled).await.expect("create job");
    wait_for("its first pod to run", Duration::from_secs(30), || async {
        pods(&admin, "job-name=scaled-batch-job")
            .await
            .iter()
            .any(|p| p.status.phase == "Running")
            .then_some(())
    })
    .await;
    admin
        .update_scale("jobs", "default", "scaled-batch-job", 3, None)
        .await
        .expect("scale job");
    let most = run_to_completion(&admin, "scaled-batch-job", Duration::from_secs(60)).await;
    assert_eq!(most, 3, "three at once after scaling, never more");
    check_completed(&admin, "scaled-batch-job", 6).await;
    drop(cluster);
}
