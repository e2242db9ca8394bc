//! SIGKILL the nodelet and start it again: running containers keep their process and
//! restart count, one that ended meanwhile reports its real exit code, and containers of a
//! pod deleted meanwhile are stopped and removed.

use std::time::Duration;

use serde_json::json;
use skiff_api::types::Pod;
use skiff_client::{DeleteOptions, LogOptions};
use skiff_testkit::step;

use crate::util::{alive, busybox, main_status, pod, restart_count, Cluster};

#[tokio::test]
async fn a_killed_nodelet_readopts_its_containers() {
    let mut c = Cluster::two_nodes().await;
    step("pods on n1: a probed server, a PID printer, a short job, and one to delete");
    let probe = json!({"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1});
    let server = c
        .create(&pod(
            "server",
            "n1",
            json!({"containers": [{"name": "kubia", "image": "luksa/kubia", "livenessProbe": probe, "readinessProbe": probe}]}),
        ))
        .await;
    // `$$` is Kubernetes' escaped `$`: the shell sees `$$`.
    let printer = c
        .create(&busybox(
            "printer",
            "n1",
            "echo pid=$$$$; exec sleep 3600",
            "Always",
        ))
        .await;
    let job = c
        .create(&busybox("job", "n1", "sleep 8; exit 3", "Never"))
        .await;
    let doomed = c
        .create(&busybox("doomed", "n1", "exec sleep 3600", "Always"))
        .await;
    for name in ["server", "printer", "job", "doomed"] {
        c.wait_pod(name, "Running", 20, |p| p.status.phase == "Running")
            .await;
    }
    c.wait_pod("server", "Ready", 20, |p| {
        main_status(p).is_some_and(|s| s.ready)
    })
    .await;
    let server_pid = c
        .container_pid("n1", &server, "kubia", 0)
        .expect("server pid");
    let printer_pid = c
        .container_pid("n1", &printer, "main", 0)
        .expect("printer pid");
    let doomed_pid = c
        .container_pid("n1", &doomed, "main", 0)
        .expect("doomed pid");
    let log = c.logs("printer", LogOptions::default()).await.expect("log");
    assert_eq!(
        log,
        format!("pid={printer_pid}\n"),
        "the container's own PID is the recorded one"
    );

    step("SIGKILL the nodelet; meanwhile the job ends and a pod is force-deleted");
    c.tc.kill("nodelet-n1");
    let force = DeleteOptions {
        grace_period_seconds: Some(0),
        ..DeleteOptions::default()
    };
    c.admin
        .delete::<Pod>("default", "doomed", &force)
        .await
        .expect("force delete");
    c.wait_gone("doomed", 10).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        alive(server_pid) && alive(printer_pid),
        "containers outlive their nodelet"
    );

    step("start the nodelet again");
    c.tc.start_component("nodelet-n1");
    let p = c
        .wait_pod("job", "Failed with its real exit code", 30, |p| {
            p.status.phase == "Failed"
        })
        .await;
    let t = main_status(&p)
        .unwrap()
        .state
        .terminated
        .clone()
        .expect("terminated");
    assert_eq!((t.exit_code, t.reason.as_str()), (3, "Error"));
    assert_eq!(restart_count(&p), 0);
    assert_eq!(c.container_pid("n1", &job, "main", 0).map(|_| ()), Some(()));

    step("the force-deleted pod's container is stopped and its state removed");
    skiff_testkit::wait_for(
        "the orphan to be stopped",
        Duration::from_secs(15),
        || async { (!alive(doomed_pid)).then_some(()) },
    )
    .await;
    skiff_testkit::wait_for(
        "the orphan's state to be removed",
        Duration::from_secs(15),
        || async { (!c.instance_dir("n1", &doomed, "main", 0).exists()).then_some(()) },
    )
    .await;

    step("the running ones kept their process and restart count");
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (name, pod, container, pid) in [
        ("server", &server, "kubia", server_pid),
        ("printer", &printer, "main", printer_pid),
    ] {
        let p = c.get(name).await.unwrap();
        assert_eq!(p.status.phase, "Running", "{name}");
        assert_eq!(restart_count(&p), 0, "{name} was restarted");
        assert_eq!(
            c.container_pid("n1", pod, container, 0),
            Some(pid),
            "{name}"
        );
        assert!(alive(pid), "{name}");
        assert!(
            !c.instance_dir("n1", pod, container, 1).exists(),
            "{name} got a new instance"
        );
    }
    let p = c.get("server").await.unwrap();
    assert!(main_status(&p).unwrap().ready, "the server is still ready");
    let log = c.logs("printer", LogOptions::default()).await.expect("log");
    assert_eq!(
        log,
        format!("pid={printer_pid}\n"),
        "the container was not started again"
    );
}
