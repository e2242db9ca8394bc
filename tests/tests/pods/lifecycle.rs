//! Containers' lives: restart policies with exit 0 and 1, CrashLoopBackOff that grows,
//! unknown images, and what a container sees (env, `$(VAR)`, POD_IP).

use std::time::{Duration, Instant};

use serde_json::json;
use skiff_client::LogOptions;
use skiff_testkit::step;

use crate::util::{busybox, condition, main_status, pod, restart_count, waiting_reason, Cluster};

#[tokio::test]
async fn restart_policies_with_exit_0_and_1() {
    let c = Cluster::two_nodes().await;
    step("one pod per restartPolicy x exit code");
    let cases = [
        ("never-0", "Never", 0),
        ("never-1", "Never", 1),
        ("onfailure-0", "OnFailure", 0),
        ("onfailure-1", "OnFailure", 1),
        ("always-0", "Always", 0),
        ("always-1", "Always", 1),
    ];
    for (i, (name, policy, code)) in cases.iter().enumerate() {
        let node = if i % 2 == 0 { "n1" } else { "n2" };
        c.create(&busybox(
            name,
            node,
            &format!("echo run; sleep 1; exit {code}"),
            policy,
        ))
        .await;
    }

    step("Never and OnFailure with exit 0 succeed without restarts");
    for name in ["never-0", "onfailure-0"] {
        let p = c
            .wait_pod(name, "Succeeded", 30, |p| p.status.phase == "Succeeded")
            .await;
        let t = main_status(&p)
            .unwrap()
            .state
            .terminated
            .clone()
            .expect("terminated");
        assert_eq!((t.exit_code, t.reason.as_str()), (0, "Completed"), "{name}");
        assert_eq!(restart_count(&p), 0, "{name}");
        assert_eq!(condition(&p, "Ready"), "False");
        let ready = p
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.reason, "PodCompleted", "{name}");
        assert!(t.started_at.is_some() && t.finished_at.is_some());
        assert!(t.container_id.starts_with("skiff://"), "{}", t.container_id);
    }

    step("Never with exit 1 fails without restarts");
    let p = c
        .wait_pod("never-1", "Failed", 30, |p| p.status.phase == "Failed")
        .await;
    let t = main_status(&p)
        .unwrap()
        .state
        .terminated
        .clone()
        .expect("terminated");
    assert_eq!((t.exit_code, t.reason.as_str()), (1, "Error"));
    assert_eq!(restart_count(&p), 0);

    step("OnFailure with exit 1 and Always restart, staying Running");
    for name in ["onfailure-1", "always-0", "always-1"] {
        let p = c
            .wait_pod(name, "restarted twice", 40, |p| restart_count(p) >= 2)
            .await;
        assert_eq!(p.status.phase, "Running", "{name}");
        let last = main_status(&p)
            .unwrap()
            .last_state
            .terminated
            .clone()
            .expect("lastState");
        let want = if name == "always-0" {
            (0, "Completed")
        } else {
            (1, "Error")
        };
        assert_eq!((last.exit_code, last.reason.as_str()), want, "{name}");
    }

    step("a pod past its activeDeadlineSeconds fails and its container is stopped");
    let mut late = busybox("deadline", "n1", "exec sleep 3600", "Always");
    late.spec.active_deadline_seconds = Some(2);
    c.create(&late).await;
    let p = c
        .wait_pod("deadline", "Failed", 30, |p| p.status.phase == "Failed")
        .await;
    assert_eq!(p.status.reason, "DeadlineExceeded");
    let p = c
        .wait_pod("deadline", "its container stopped", 10, |p| {
            main_status(p).is_some_and(|s| s.state.terminated.is_some())
        })
        .await;
    assert_eq!(
        main_status(&p)
            .unwrap()
            .state
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        143
    );
    c.wait_event(
        "deadline",
        "DeadlineExceeded",
        "Pod was active on the node longer than the specified deadline",
        5,
    )
    .await;

    step("finished pods stay finished");
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (name, phase) in [
        ("never-0", "Succeeded"),
        ("never-1", "Failed"),
        ("onfailure-0", "Succeeded"),
    ] {
        let p = c.get(name).await.unwrap();
        assert_eq!(p.status.phase, phase, "{name}");
        assert_eq!(restart_count(&p), 0, "{name}");
    }
}

#[tokio::test]
async fn crash_loop_back_off_grows() {
    let c = Cluster::two_nodes().await;
    step("a container that exits 1 at once");
    let created = c.create(&busybox("crash", "n1", "exit 1", "Always")).await;
    let uid = created.metadata.uid.clone();

    step("restarts come after 0, 1, 2, 4 s of back-off");
    let mut messages: Vec<String> = Vec::new();
    let mut restarts_at: Vec<(i32, Instant)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while restarts_at.last().is_none_or(|(n, _)| *n < 4) {
        assert!(
            Instant::now() < deadline,
            "no 4th restart; saw {messages:?}"
        );
        if let Some(p) = c.get("crash").await {
            let n = restart_count(&p);
            if restarts_at.last().is_none_or(|(m, _)| *m < n) {
                restarts_at.push((n, Instant::now()));
            }
            if let Some(w) = main_status(&p).and_then(|s| s.state.waiting.clone()) {
                if w.reason == "CrashLoopBackOff" && !messages.contains(&w.message) {
                    messages.push(w.message);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected =
        |d: &str| format!("back-off {d} restarting failed container=main pod=crash_default({uid})");
    for d in ["1s", "2s", "4s"] {
        assert!(
            messages.contains(&expected(d)),
            "missing {:?} in {messages:?}",
            expected(d)
        );
    }
    let at = |n: i32| {
        restarts_at
            .iter()
            .find(|(m, _)| *m >= n)
            .map(|(_, t)| *t)
            .unwrap()
    };
    let gap_3_4 = at(4) - at(3);
    let gap_2_3 = at(3) - at(2);
    assert!(
        gap_3_4 >= Duration::from_millis(3000),
        "4 s back-off took {gap_3_4:?}"
    );
    assert!(
        gap_3_4 > gap_2_3,
        "back-off did not grow: {gap_2_3:?} then {gap_3_4:?}"
    );

    let p = c.get("crash").await.unwrap();
    assert_eq!(
        p.status.phase, "Running",
        "a crash-looping pod with restartPolicy Always is Running"
    );
    let back_off = c
        .wait_event(
            "crash",
            "BackOff",
            "Back-off restarting failed container main in pod crash_default",
            5,
        )
        .await;
    assert_eq!(back_off.type_, "Warning");
    assert_eq!(back_off.source.component, "kubelet");
    assert_eq!(back_off.source.host, "n1");
    assert!(
        back_off.count >= 2,
        "repeats are folded: count {}",
        back_off.count
    );
}

#[tokio::test]
async fn an_unknown_image_waits_with_err_image_pull() {
    let mut c = Cluster::two_nodes().await;
    step("a pod with an image no catalog has");
    c.create(&pod(
        "noimage",
        "n1",
        json!({"containers": [{"name": "web", "image": "nginx:1.25"}]}),
    ))
    .await;
    let p = c
        .wait_pod("noimage", "ErrImagePull or ImagePullBackOff", 15, |p| {
            matches!(
                waiting_reason(p).as_str(),
                "ErrImagePull" | "ImagePullBackOff"
            )
        })
        .await;
    let w = main_status(&p).unwrap().state.waiting.clone().unwrap();
    assert!(w.message.contains("nginx:1.25"), "{}", w.message);
    assert_eq!(p.status.phase, "Pending");
    let p = c
        .wait_pod("noimage", "ImagePullBackOff", 15, |p| {
            waiting_reason(p) == "ImagePullBackOff"
        })
        .await;
    assert_eq!(
        main_status(&p)
            .unwrap()
            .state
            .waiting
            .clone()
            .unwrap()
            .message,
        "Back-off pulling image \"nginx:1.25\""
    );
    c.wait_event(
        "noimage",
        "Failed",
        "Failed to pull image \"nginx:1.25\"",
        5,
    )
    .await;
    c.wait_event("noimage", "Failed", "Error: ErrImagePull", 5)
        .await;
    assert!(c.tc.is_running("nodelet-n1"), "the nodelet must not crash");

    step("the node keeps running other pods");
    c.create(&busybox("fine", "n1", "sleep 3600", "Always"))
        .await;
    c.wait_pod("fine", "Running", 20, |p| p.status.phase == "Running")
        .await;
}

#[tokio::test]
async fn containers_see_their_pod_and_env() {
    let c = Cluster::two_nodes().await;
    step("a pod that prints what it sees");
    let script = "echo ip=$POD_IP name=$POD_NAME ns=$POD_NAMESPACE host=$HOSTNAME msg=$MSG node=$NODE arg=$(MSG); pwd";
    let spec = json!({
        "restartPolicy": "Never",
        "containers": [{
            "name": "main", "image": "busybox", "command": ["sh", "-c", script], "workingDir": "/tmp",
            "env": [
                {"name": "MSG", "value": "hello-$(POD_NAME)"},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
            ]
        }]
    });
    c.create(&pod("envpod", "n2", spec)).await;
    let p = c
        .wait_pod("envpod", "Succeeded", 30, |p| p.status.phase == "Succeeded")
        .await;
    assert!(
        p.status.pod_ip.starts_with("127."),
        "podIP {}",
        p.status.pod_ip
    );
    assert_eq!(p.status.host_ip, "127.0.0.1");
    assert!(p.status.start_time.is_some());
    let log = c.logs("envpod", LogOptions::default()).await.expect("logs");
    let want = format!(
        "ip={} name=envpod ns=default host=envpod msg=hello-envpod node=n2 arg=hello-envpod\n/tmp\n",
        p.status.pod_ip
    );
    assert_eq!(log, want);
    for (reason, text) in [
        (
            "Pulled",
            "Container image \"busybox\" already present on machine",
        ),
        ("Created", "Created container main"),
        ("Started", "Started container main"),
    ] {
        let e = c.wait_event("envpod", reason, text, 5).await;
        assert_eq!(e.involved_object.field_path, "spec.containers{main}");
    }
}
