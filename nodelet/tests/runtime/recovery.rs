//! Surviving the nodelet: containers keep running when the nodelet is SIGKILLed, and a new
//! runtime re-adopts them (same PID) or reports how they ended meanwhile.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use skiff_nodelet::runtime::{ContainerSpec, ContainerStatus, Runtime, RuntimeConfig};

use crate::util::{is_running, session_of, within, TestNode, NODELET};

const HELPER_DIR: &str = "SKIFF_TEST_NODELET_DIR";

fn spec(container: &str, argv: &[&str]) -> ContainerSpec {
    ContainerSpec {
        pod_uid: "uid-survivor".into(),
        pod_namespace: "default".into(),
        pod_name: "survivor".into(),
        container_name: container.into(),
        instance: 0,
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        working_dir: None,
        pod_ip: "127.0.0.1".parse().unwrap(),
        isolation: None,
    }
}

/// Not a test on its own: the stand-in nodelet process that
/// `containers_survive_a_sigkilled_nodelet` starts and SIGKILLs.
#[test]
#[ignore = "helper process for containers_survive_a_sigkilled_nodelet"]
fn helper_nodelet_process() {
    let Ok(dir) = std::env::var(HELPER_DIR) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let runtime = Runtime::new(RuntimeConfig::new(dir, NODELET)).unwrap();
        let long = runtime
            .start(spec("long", &["sleep", "1000"]))
            .await
            .unwrap();
        runtime
            .start(spec("short", &["sh", "-c", "sleep 1; echo bye; exit 7"]))
            .await
            .unwrap();
        let ContainerStatus::Running { pid, .. } = runtime.status(&long).unwrap() else {
            panic!("long is not running");
        };
        println!("READY {pid}");
        // The test SIGKILLs this process long before this ends.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

#[tokio::test]
async fn containers_survive_a_sigkilled_nodelet() {
    let mut node = TestNode::new();
    println!("=== start a nodelet process that starts two containers");
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "recovery::helper_nodelet_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_DIR, node.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    node.guard_pid(helper.id());
    let stdout = helper.stdout.take().unwrap();
    let long_pid: u32 = within(
        20,
        "helper ready",
        tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find_map(|l| l.strip_prefix("READY ").map(|p| p.trim().parse().unwrap()))
                .expect("helper ended without READY")
        }),
    )
    .await
    .unwrap();

    println!("=== SIGKILL the nodelet");
    helper.kill().unwrap();
    helper.wait().unwrap();
    assert!(is_running(long_pid), "the container died with the nodelet");
    // The container lives in its supervisor's session, not the nodelet's (ours).
    assert_ne!(session_of(long_pid), session_of(std::process::id()));

    println!("=== a new runtime recovers: same PID for the running one");
    let found = node.runtime.recover().unwrap();
    let names: Vec<&str> = found.iter().map(|c| c.id.container.as_str()).collect();
    assert_eq!(names, ["long", "short"]);
    let long = found[0].id.clone();
    let short = found[1].id.clone();
    assert_eq!(found[0].spec.argv, ["sleep", "1000"]);
    assert!(
        matches!(found[0].status, ContainerStatus::Running { pid, .. } if pid == long_pid),
        "{:?}",
        found[0].status
    );

    println!("=== the one that ends while nobody watches reports its real exit");
    let status = within(10, "short exits", node.runtime.wait(&short))
        .await
        .unwrap();
    let ContainerStatus::Exited(record) = status else {
        panic!("{status:?}")
    };
    assert_eq!((record.exit_code, record.reason.as_str()), (7, "Error"));
    assert_eq!(node.log(&short), "bye\n");

    println!("=== the re-adopted container is controllable");
    let status = node
        .runtime
        .stop(&long, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(status, ContainerStatus::Exited(ref r) if r.exit_code == 143),
        "{status:?}"
    );
    assert!(!is_running(long_pid));
}

#[tokio::test]
async fn a_dropped_runtime_leaves_containers_running_for_the_next() {
    let node = TestNode::new();
    let first = Runtime::new(node.runtime.config().clone()).unwrap();
    let id = first.start(spec("c", &["sleep", "1000"])).await.unwrap();
    let ContainerStatus::Running { pid, started_at } = first.status(&id).unwrap() else {
        panic!("not running")
    };
    drop(first);
    let found = node.runtime.recover().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].status,
        ContainerStatus::Running { pid, started_at }
    );
    // wait() on the re-adopted container returns when it ends.
    let waiter = {
        let runtime = node.runtime.clone();
        let id = id.clone();
        tokio::spawn(async move { runtime.wait(&id).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished());
    node.runtime.kill(&id).await.unwrap();
    let status = within(10, "waiter", waiter).await.unwrap().unwrap();
    assert!(matches!(status, ContainerStatus::Exited(ref r) if r.exit_code == 137));
}

#[tokio::test]
async fn a_container_whose_supervisor_died_is_unknown_and_recover_kills_it() {
    let node = TestNode::new();
    let id = node
        .runtime
        .start(spec("c", &["sleep", "1000"]))
        .await
        .unwrap();
    let ContainerStatus::Running { pid, .. } = node.runtime.status(&id).unwrap() else {
        panic!("not running")
    };
    let dir = node.dir.path().join("containers/uid-survivor/c/0");
    let sup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("supervisor.json")).unwrap())
            .unwrap();
    let sup_pid = sup["pid"].as_u64().unwrap() as i32;
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(sup_pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let status = within(10, "supervisor death noticed", node.runtime.wait(&id))
        .await
        .unwrap();
    assert!(
        matches!(status, ContainerStatus::Unknown { .. }),
        "{status:?}"
    );
    assert!(
        is_running(pid),
        "the container itself still runs, unsupervised"
    );

    // A start that died before writing its spec leaves a bare directory: recover drops it.
    std::fs::create_dir_all(node.dir.path().join("containers/uid-half/c/0")).unwrap();
    let found = node.runtime.recover().unwrap();
    assert_eq!(found.len(), 1);
    assert!(!node.dir.path().join("containers/uid-half/c/0").exists());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while is_running(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "orphan {pid} not killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
