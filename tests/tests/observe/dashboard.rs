//! `skiff dashboard` against a `skiff up` cluster, in headless Chromium: the page shows the
//! store leader, both nodes and an RC's pods; after the store leader is SIGKILLed it shows
//! the new leader and the member down (and back once `skiff up`'s supervisor has restarted
//! it); its watches outlive an apiserver SIGKILL; clicking a pod shows its trace and history;
//! with 1000 pods (not scheduled) each update renders in under 100 ms (the page's own measurement,
//! `window.skiffRenderMs`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use skiff_testkit::up::UpCluster;
use skiff_testkit::{step, wait_for};

use crate::cdp::{Browser, CHROMIUM};
use crate::util::WITHIN;

const RC: &str = "apiVersion: v1
kind: ReplicationController
metadata:
  name: web
spec:
  replicas: 2
  selector: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: c, image: busybox, command: [sleep, '3600']}
";

/// How many pods the performance check puts on the page.
const MANY: usize = 1000;

/// Where screenshots go: under the workspace's target/ directory.
fn artifact(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("test-artifacts").join(name)
}

/// The store members as the page shows them: (endpoint, up, leader).
async fn members(browser: &Browser) -> Vec<(String, bool, bool)> {
    let rows = browser
        .eval(
            "[...document.querySelectorAll('#stores [data-endpoint]')]
               .map(r => [r.dataset.endpoint, r.dataset.up === 'true', r.dataset.leader === 'true'])",
        )
        .await;
    serde_json::from_value(rows).unwrap_or_default()
}

fn leader(members: &[(String, bool, bool)]) -> Option<String> {
    members.iter().find(|m| m.2).map(|m| m.0.clone())
}

/// The names of the running, not terminating, pods in `skiff get po -o json` output.
fn running_names(list: &str) -> Vec<String> {
    let list: Value = serde_json::from_str(list).unwrap_or_default();
    let items = list["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|p| {
            p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()
        })
        .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
        .collect()
}

/// The running pods of the RC `app`, once there are `count`.
fn running_pods(up: &UpCluster, app: &str, count: usize) -> Vec<String> {
    let selector = format!("app={app}");
    let out = up.wait_for(
        &format!("{count} running {app} pods"),
        WITHIN,
        &["get", "po", "-l", &selector, "-o", "json"],
        |o| running_names(o).len() == count,
    );
    running_names(&out)
}

/// A manifest of `n` pods that no node can take (a node selector nothing matches): they
/// stay on the page's "not scheduled" list. (Pods bound to a node without a nodelet would
/// be evicted by the node lifecycle controller within seconds.)
fn unschedulable_pods(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: idle-{i:04}, labels: {{app: idle}}}}\n\
                 spec: {{nodeSelector: {{disk: none-such}}, containers: [{{name: c, image: busybox}}]}}\n"
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_a_skiff_up_cluster_live_and_renders_1000_pods_fast() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "no {CHROMIUM} to load the dashboard in (`.ci/run` installs Debian's chromium)"
    );
    let up = UpCluster::up(&[]);
    let state = up.state();
    let rc = up.write("rc.yaml", RC);
    up.ok(&["create", "-f", &rc]);
    let pods = running_pods(&up, "web", 2);

    step("`skiff dashboard` with nothing but the config `skiff up` wrote, in headless chromium");
    let dashboard = up.stream(&["dashboard", "--listen", "127.0.0.1:0"]);
    let printed = dashboard.until(WITHIN, |l| l.starts_with("dashboard: http://"));
    let url = printed.last().expect("a line")["dashboard: ".len()..].to_string();
    let browser = Browser::launch(up.scratch.path()).await;
    browser.navigate(&url).await;

    step("the page shows the store leader, both nodes, the RC and its pods");
    let first_leader = wait_for("a store leader on the page", WITHIN, || async {
        let shown = members(&browser).await;
        (shown.len() == state.stores.len() && shown.iter().all(|m| m.1))
            .then(|| leader(&shown))
            .flatten()
    })
    .await;
    wait_for("both nodes, rc/web and its pods on the page", WITHIN, || async {
        let page = browser
            .eval(
                "({nodes: [...document.querySelectorAll('#nodes [data-node]')].map(n => n.dataset.node),
                   pods: [...document.querySelectorAll('[data-pod]')].map(p => p.dataset.pod + ' ' + p.dataset.phase),
                   rc: !!document.querySelector('[data-controller=\"rc/web\"]')})",
            )
            .await;
        let nodes: Vec<String> = serde_json::from_value(page["nodes"].clone()).ok()?;
        let shown: Vec<String> = serde_json::from_value(page["pods"].clone()).ok()?;
        let all_running = pods
            .iter()
            .all(|p| shown.contains(&format!("default/{p} Running")));
        let all_nodes = state.nodes.iter().all(|n| nodes.contains(n));
        (all_nodes && page["rc"] == json!(true) && all_running).then_some(())
    })
    .await;
    browser.screenshot(&artifact("dashboard.png")).await;

    step("clicking a pod shows its trace and history");
    let pod = &pods[0];
    browser
        .eval(&format!(
            "document.querySelector('[data-pod=\"default/{pod}\"]').click(); true"
        ))
        .await;
    wait_for("the pod's trace and history in the panel", WITHIN, || async {
        let text = browser
            .eval("[document.getElementById('detail-trace').textContent, document.getElementById('detail-history').textContent]")
            .await;
        let trace = text[0].as_str()?;
        let history = text[1].as_str()?;
        (trace.contains(&format!("pod/{pod}")) && trace.contains("scheduled to") && history.contains("REVISION"))
            .then_some(())
    })
    .await;
    browser
        .eval("document.getElementById('close').click(); true")
        .await;

    step("SIGKILL the store leader: the page shows it down, the new leader, then it back");
    let index = state
        .stores
        .iter()
        .position(|e| *e == first_leader)
        .expect("the leader is one of the store endpoints");
    let member = format!("store-{}", index + 1);
    up.sigkill_component(&member);
    let killed_at = Instant::now();
    let new_leader = wait_for(
        "a new store leader on the page",
        Duration::from_secs(20),
        || async {
            let shown = members(&browser).await;
            let old_down = shown.iter().any(|m| m.0 == first_leader && !m.1);
            leader(&shown).filter(|l| *l != first_leader && old_down)
        },
    )
    .await;
    eprintln!(
        "new store leader {new_leader} shown {} ms after the SIGKILL of {member}",
        killed_at.elapsed().as_millis()
    );
    browser
        .screenshot(&artifact("dashboard-new-leader.png"))
        .await;
    wait_for("the restarted member shown up again", WITHIN, || async {
        let shown = members(&browser).await;
        shown
            .iter()
            .any(|m| m.0 == first_leader && m.1)
            .then_some(())
    })
    .await;

    step("SIGKILL the apiserver: the page says its watches are down, then catches up");
    // `skiff up` restarts the apiserver within a second or two: the page remembers that it
    // showed the watches down, however briefly.
    browser
        .eval(
            "window.sawWatchDown = false;
             new MutationObserver(() => {
               if (document.getElementById('feeds').textContent.includes('watch down')) window.sawWatchDown = true;
             }).observe(document.getElementById('feeds'), {childList: true, subtree: true, characterData: true});
             true",
        )
        .await;
    up.sigkill_component("apiserver");
    wait_for("the page to report its watches down", WITHIN, || async {
        (browser.eval("window.sawWatchDown").await == json!(true)).then_some(())
    })
    .await;
    up.wait_for(
        "the apiserver back",
        WITHIN,
        &["get", "ns", "default", "-o", "name"],
        |o| o.trim() == "namespace/default",
    );
    up.ok(&["scale", "rc", "web", "--replicas", "3"]);
    wait_for(
        "rc/web's three pods and no watch down on the page",
        WITHIN,
        || async {
            let page = browser
                .eval(
                    "({pods: document.querySelectorAll('[data-pod^=\"default/web-\"]').length,
                   feeds: document.getElementById('feeds').textContent})",
                )
                .await;
            (page["pods"] == json!(3) && page["feeds"] == json!("")).then_some(())
        },
    )
    .await;

    step("1000 pods no node can take: every update renders in under 100 ms");
    let many = up.write("idle.yaml", &unschedulable_pods(MANY));
    up.ok(&["create", "-f", &many]);
    wait_for("1000 not scheduled pods on the page", WITHIN, || async {
        let count = browser
            .eval("document.querySelectorAll('[data-node=\"\"] .pod').length")
            .await;
        (count == json!(MANY)).then_some(())
    })
    .await;
    browser.eval("window.skiffRenderMs = []; true").await;
    let renders: Vec<f64> = wait_for("ten updates with 1000 pods shown", WITHIN, || async {
        let ms: Vec<f64> =
            serde_json::from_value(browser.eval("window.skiffRenderMs").await).ok()?;
        (ms.len() >= 10).then_some(ms)
    })
    .await;
    let worst = renders.iter().cloned().fold(0.0, f64::max);
    let mean = renders.iter().sum::<f64>() / renders.len() as f64;
    eprintln!(
        "render with {MANY} pods: {} updates, mean {mean:.1} ms, worst {worst:.1} ms",
        renders.len()
    );
    browser
        .screenshot(&artifact("dashboard-1000-pods.png"))
        .await;
    assert!(
        worst < 100.0,
        "an update took {worst:.1} ms to render with {MANY} pods: {renders:?}"
    );
    drop(dashboard);
}
