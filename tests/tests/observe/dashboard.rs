//! `skiff dashboard` in headless Chromium: the page shows the store leader, both nodes and an
//! RC's pods; after the store leader is SIGKILLed it shows the new leader and the member down
//! (and back once started again); its watches outlive an apiserver SIGKILL; clicking a pod shows its trace and history; with 1000 pods
//! each update renders in under 100 ms (the page's own measurement, `window.skiffRenderMs`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use skiff_testkit::binary::binary;
use skiff_testkit::cluster::{free_port, ADMIN_TOKEN};
use skiff_testkit::process::Process;
use skiff_testkit::{step, wait_for};

use crate::cdp::{Browser, CHROMIUM};
use crate::util::{cluster, running, skiff_ok, WITHIN};

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

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_the_cluster_live_and_renders_1000_pods_fast() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("SKIPPED: no {CHROMIUM} (apt-get install chromium) to load the dashboard in");
        return;
    }
    let (mut tc, admin) = cluster().await;
    let dir = tc.dir.path().to_path_buf();
    std::fs::write(dir.join("rc.yaml"), RC).expect("write manifest");
    skiff_ok(
        &tc,
        &["create", "-f", dir.join("rc.yaml").to_str().unwrap()],
    );
    let pods = running(&admin, "web", 2).await;

    step("start `skiff dashboard` and load it in headless chromium");
    let port = free_port();
    let mut args: Vec<String> = [
        "dashboard",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--store-endpoints",
        &tc.store_endpoints().join(","),
        "--server",
        &tc.apiserver_endpoints()[0],
        "--token",
        ADMIN_TOKEN,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(pki) = tc.pki() {
        let ca = pki.ca_cert();
        let pki_dir = ca.parent().expect("the pki directory");
        args.extend(["--certificate-authority".into(), ca.display().to_string()]);
        args.extend(["--pki-dir".into(), pki_dir.display().to_string()]);
    }
    let mut dashboard = Process::new(
        "dashboard",
        &binary("skiff"),
        args,
        dir.join("dashboard.log"),
    );
    dashboard
        .envs
        .push(("HOME".into(), dir.join("home").display().to_string()));
    dashboard.start();
    let browser = Browser::launch(&dir).await;
    wait_for("the dashboard to listen", WITHIN, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await;
    browser.navigate(&format!("http://127.0.0.1:{port}/")).await;

    step("the page shows the store leader, nodes n1 and n2, the RC and its pods");
    let first_leader = wait_for("a store leader on the page", WITHIN, || async {
        let shown = members(&browser).await;
        (shown.len() == 3 && shown.iter().all(|m| m.1))
            .then(|| leader(&shown))
            .flatten()
    })
    .await;
    let pod_names: Vec<String> = pods
        .iter()
        .map(|p| format!("default/{}", p.metadata.name))
        .collect();
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
        let all_running = pod_names
            .iter()
            .all(|p| shown.contains(&format!("{p} Running")));
        (nodes.contains(&"n1".into()) && nodes.contains(&"n2".into()) && page["rc"] == json!(true) && all_running)
            .then_some(())
    })
    .await;
    browser.screenshot(&artifact("dashboard.png")).await;

    step("clicking a pod shows its trace and history");
    let pod = &pods[0].metadata.name;
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

    step("SIGKILL the store leader: the page shows it down and the new leader");
    let index = tc
        .store_endpoints()
        .iter()
        .position(|e| *e == first_leader)
        .expect("the leader is one of the store endpoints");
    let member = format!("store-{}", index + 1);
    tc.kill(&member);
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
    tc.start_component(&member);
    wait_for("the restarted member shown up again", WITHIN, || async {
        let shown = members(&browser).await;
        shown
            .iter()
            .any(|m| m.0 == first_leader && m.1)
            .then_some(())
    })
    .await;

    step("SIGKILL the apiserver: the page says its watches are down, then catches up");
    tc.kill("apiserver-1");
    wait_for("the page to report its watches down", WITHIN, || async {
        let text = browser
            .eval("document.getElementById('feeds').textContent")
            .await;
        text.as_str()?.contains("watch down").then_some(())
    })
    .await;
    tc.start_component("apiserver-1");
    wait_for("the apiserver back", WITHIN, || async {
        admin.who_am_i().await.ok()
    })
    .await;
    skiff_ok(&tc, &["scale", "rc", "web", "--replicas", "3"]);
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

    step("1000 pods on a node without a nodelet: every update renders in under 100 ms");
    admin
        .create_json(
            "nodes",
            "",
            &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "hollow"}}),
        )
        .await
        .expect("create node hollow");
    let made = futures::stream::iter(0..MANY)
        .map(|i| {
            let admin = admin.clone();
            async move {
                let pod = json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("hollow-{i:04}"), "labels": {"app": "hollow"}},
                    "spec": {"nodeName": "hollow", "containers": [{"name": "c", "image": "busybox"}]}});
                admin.create_json("pods", "default", &pod).await
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    if let Some(Err(e)) = made.iter().find(|r| r.is_err()) {
        panic!("create a hollow pod: {e}");
    }
    wait_for(
        "1000 pods under node hollow on the page",
        WITHIN,
        || async {
            let count = browser
                .eval("document.querySelectorAll('[data-node=\"hollow\"] .pod').length")
                .await;
            (count == json!(MANY)).then_some(())
        },
    )
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
}
