//! `skiff history`: an RC created, scaled, one of its pods deleted; each revision with the
//! right writer and the exact field diffs; `--revision` gives the old object; after the
//! apiserver's history retention the old revisions are compacted and the command says so.

use std::time::Duration;

use skiff_api::types::Pod;
use skiff_testkit::{step, wait_for};

use crate::util::{blocks, cluster, running, skiff, skiff_ok, Block, WITHIN};

fn fixture(file: &str) -> String {
    format!("{}/../fixtures/seed/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn find<'a>(blocks: &'a [Block], writer: &str, diff: &str) -> &'a Block {
    blocks
        .iter()
        .find(|b| b.writer == writer && b.diffs.iter().any(|d| d == diff))
        .unwrap_or_else(|| panic!("no revision by {writer} with `{diff}` in {blocks:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn history_shows_each_writer_and_diff_then_compaction() {
    let (mut tc, admin) = cluster().await;

    step("the admin creates rc/crane (3 replicas) and scales it to 4");
    skiff_ok(&tc, &["create", "-f", &fixture("rc-crane.yaml")]);
    running(&admin, "crane", 3).await;
    skiff_ok(&tc, &["scale", "rc", "crane", "--replicas=4"]);
    let pods = running(&admin, "crane", 4).await;

    step("the admin deletes one pod; its node lets it go");
    let victim: Pod = pods[0].clone();
    let (name, node) = (victim.metadata.name.clone(), victim.spec.node_name.clone());
    skiff_ok(&tc, &["delete", "pod", &name]);
    wait_for("the deleted pod to be gone", WITHIN, || async {
        admin
            .get_opt::<Pod>("default", &name)
            .await
            .ok()
            .and_then(|p| p.is_none().then_some(()))
    })
    .await;

    step("history of the rc: created and scaled by admin, status by the controller-manager");
    let rc = blocks(&skiff_ok(&tc, &["history", "rc/crane"]));
    assert_eq!(
        (rc[0].writer.as_str(), rc[0].change.as_str()),
        ("admin", "created"),
        "{rc:#?}"
    );
    let scaled = find(&rc, "admin", "spec.replicas: 3 -> 4");
    assert!(
        scaled
            .diffs
            .contains(&"metadata.generation: 1 -> 2".to_string()),
        "{scaled:?}"
    );
    find(&rc, "skiff-controller-manager", "status.replicas: 3 -> 4");
    assert!(
        rc.windows(2).all(|w| w[0].revision < w[1].revision),
        "{rc:#?}"
    );

    step("get -o yaml leaves managedFields out unless --show-managed-fields, as kubectl");
    let plain = skiff_ok(&tc, &["get", "rc", "crane", "-o", "yaml"]);
    assert!(!plain.contains("managedFields"), "{plain}");
    let shown = skiff_ok(
        &tc,
        &["get", "rc", "crane", "-o", "yaml", "--show-managed-fields"],
    );
    assert!(
        shown.contains("manager: admin") && shown.contains("manager: skiff-controller-manager"),
        "{shown}"
    );

    step("history of the deleted pod: controller-manager, scheduler, nodelet, admin, deletion");
    let pod = blocks(&skiff_ok(&tc, &["history", &format!("pod/{name}")]));
    assert_eq!(
        (pod[0].writer.as_str(), pod[0].change.as_str()),
        ("skiff-controller-manager", "created"),
        "{pod:#?}"
    );
    let scheduled = find(
        &pod,
        "skiff-scheduler",
        &format!("spec.nodeName: \"\" -> {node}"),
    );
    find(&pod, "skiff-nodelet", "status.phase: Pending -> Running");
    let asked = pod
        .iter()
        .find(|b| b.writer == "admin")
        .unwrap_or_else(|| panic!("no admin revision: {pod:#?}"));
    assert!(
        asked
            .diffs
            .iter()
            .any(|d| d.starts_with("metadata.deletionTimestamp: \"\" -> ")),
        "{asked:?}"
    );
    let last = pod.last().unwrap();
    assert_eq!(last.change, "deleted", "{pod:#?}");

    step("--revision gives the pod as it was before and after it was scheduled");
    let created = skiff_ok(
        &tc,
        &[
            "history",
            "pod",
            &name,
            "--revision",
            &pod[0].revision.to_string(),
            "-o",
            "yaml",
        ],
    );
    assert!(!created.contains("nodeName:"), "{created}");
    let bound = skiff_ok(
        &tc,
        &[
            "history",
            &format!("pod/{name}"),
            "--revision",
            &scheduled.revision.to_string(),
        ],
    );
    assert!(bound.contains(&format!("nodeName: {node}")), "{bound}");

    step("restart the apiserver with --history-retention 2s: the old revisions are compacted");
    tc.restart_with(
        "apiserver-1",
        &[("--history-retention", "2s")],
        Duration::from_secs(5),
    );
    let first = rc[0].revision.to_string();
    let note = wait_for("the rc's creation to be compacted", WITHIN, || async {
        let run = skiff(&tc, &["history", "rc/crane"]);
        let compacted = run.stdout.starts_with("revisions before ")
            && !blocks(&run.stdout).iter().any(|b| b.change == "created");
        (run.ok && compacted).then_some(run.stdout)
    })
    .await;
    let kept = blocks(&note);
    assert_eq!(kept[0].change, "(as of the compaction)", "{note}");
    assert!(kept[0].revision > rc[0].revision, "{note}");
    let old = skiff(&tc, &["history", "rc/crane", "--revision", &first]);
    assert!(
        !old.ok && old.stderr.contains("is compacted"),
        "{}{}",
        old.stdout,
        old.stderr
    );
    let gone = skiff(&tc, &["history", &format!("pod/{name}")]);
    assert!(
        !gone.ok && gone.stderr.contains("NotFound") && gone.stderr.contains("compacted"),
        "{}{}",
        gone.stdout,
        gone.stderr
    );
}
