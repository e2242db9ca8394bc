//! `skiff trace`: kubia-unhealthy's timeline (create, schedule with the node, start, three
//! probe failures, kill, restart) in order with monotonic offsets; an unsatisfiable
//! nodeSelector shows the scheduler's reasons.

use skiff_api::types::Pod;
use skiff_testkit::{step, wait_for};

use crate::util::{cluster, skiff_ok, WITHIN};

const KUBIA: &str = "apiVersion: v1
kind: Pod
metadata:
  name: kubia-liveness
spec:
  containers:
  - name: kubia
    image: luksa/kubia-unhealthy
    livenessProbe:
      httpGet: {path: /, port: 8080}
      initialDelaySeconds: 2
      periodSeconds: 1
      failureThreshold: 3
";

const NOWHERE: &str = "apiVersion: v1
kind: Pod
metadata:
  name: nowhere
spec:
  nodeSelector: {disk: floppy}
  containers:
  - {name: c, image: busybox, command: [sleep, '3600']}
";

/// The timeline's lines as (offset in ms, the rest).
fn steps(text: &str) -> Vec<(i64, String)> {
    text.lines()
        .map(|l| {
            let l = l.trim_start();
            let (offset, rest) = l
                .split_once("ms")
                .unwrap_or_else(|| panic!("no offset: {l}"));
            let ms = offset
                .trim_start_matches('+')
                .parse()
                .expect("offset in ms");
            (ms, rest.trim().to_string())
        })
        .collect()
}

fn position(steps: &[(i64, String)], after: usize, what: &str) -> usize {
    steps[after..]
        .iter()
        .position(|(_, s)| s.contains(what))
        .map(|i| i + after)
        .unwrap_or_else(|| panic!("no `{what}` after step {after} in {steps:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_tells_kubia_unhealthys_life_and_the_schedulers_reasons() {
    let (tc, admin) = cluster().await;
    let dir = tc.dir.path().to_path_buf();
    std::fs::write(dir.join("kubia.yaml"), KUBIA).expect("write manifest");
    std::fs::write(dir.join("nowhere.yaml"), NOWHERE).expect("write manifest");

    step("kubia-unhealthy fails its liveness probe three times and is restarted");
    skiff_ok(
        &tc,
        &["create", "-f", dir.join("kubia.yaml").to_str().unwrap()],
    );
    let pod: Pod = wait_for("kubia-liveness restarted and running", WITHIN, || async {
        let p = admin.get::<Pod>("default", "kubia-liveness").await.ok()?;
        let s = p.status.container_statuses.first()?;
        (s.restart_count >= 1 && s.state.running.is_some()).then_some(p)
    })
    .await;
    let node = pod.spec.node_name.clone();

    step("the trace has create, schedule, start, 3 probe failures, kill, restart in order");
    let text = wait_for("the restart in the trace", WITHIN, || async {
        let text = skiff_ok(&tc, &["trace", "pod/kubia-liveness"]);
        text.contains("restarted (restart count 1)").then_some(text)
    })
    .await;
    eprintln!("{text}");
    let s = steps(&text);
    assert!(
        s.windows(2).all(|w| w[0].0 <= w[1].0),
        "offsets go back: {text}"
    );
    assert_eq!(s[0].0, 0, "{text}");
    let created = position(&s, 0, "admin");
    assert!(s[created].1.ends_with("created"), "{text}");
    let scheduled = position(&s, created, &format!("scheduled to {node}"));
    let started = position(&s, scheduled, "container kubia started");
    let killed = position(&s, started, "Killing:");
    let failures = s[started..killed]
        .iter()
        .filter(|(_, l)| l.contains("Unhealthy: Liveness probe failed"))
        .count();
    assert_eq!(failures, 3, "{text}");
    let restarted = position(&s, killed, "restarted (restart count 1)");
    assert!(
        s[created].0 < s[started].0 && s[started].0 < s[killed].0,
        "{text}"
    );
    assert!(s[killed].0 <= s[restarted].0, "{text}");
    let why = position(
        &s,
        0,
        "Scheduled: Successfully assigned default/kubia-liveness to",
    );
    assert!(s[why].1.contains("(scores: "), "{text}");

    step("a pod no node can take: the trace gives the scheduler's reasons");
    skiff_ok(
        &tc,
        &["create", "-f", dir.join("nowhere.yaml").to_str().unwrap()],
    );
    let text = wait_for("FailedScheduling in the trace", WITHIN, || async {
        let text = skiff_ok(&tc, &["trace", "pod/nowhere"]);
        text.contains("FailedScheduling").then_some(text)
    })
    .await;
    eprintln!("{text}");
    assert!(
        text.contains("FailedScheduling: 0/2 nodes are available: 2 node(s) didn't match Pod's node selector."),
        "{text}"
    );
    assert!(
        text.contains("PodScheduled=False (Unschedulable)"),
        "{text}"
    );
}
