//! The supervisor of a `skiff up` cluster: SIGKILLed components (controller-manager, scheduler, a store member, a nodelet, the apiserver) come back with new PIDs and are healthy again, `skiff status` counts the restarts, the cluster still runs a ReplicationController; a dead supervisor is started again by `skiff up`; `skiff down` leaves no process behind.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use skiff_cli::up::procs;
use skiff_cli::up::state::{Component, Health};

use crate::util::{alive, fixture, step, up, Cluster};

/// How long a killed component may take to run again, and then to be healthy.
const BACK_WITHIN: Duration = Duration::from_secs(20);
const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

fn sigkill(pid: u32) {
    let pid = Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    kill_process(pid, Signal::KILL).unwrap();
}

fn component(cluster: &Cluster, name: &str) -> Component {
    cluster
        .state()
        .components
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn running_crane_pods(out: &str) -> bool {
    out.lines()
        .filter(|l| l.starts_with("crane-") && l.contains(" Running "))
        .count()
        == 3
}

/// `GET /health` answers 200.
fn http_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = TcpStream::connect(host) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("200")
}

/// The row of `name` in the PROCESS table of `skiff status`: (pid, state, restarts).
fn process_row(status: &str, name: &str) -> Option<(String, String, String)> {
    let at = status.find("PROCESS ")?;
    status[at..].lines().find_map(|line| {
        let cells: Vec<&str> = line.split("  ").filter(|c| !c.is_empty()).collect();
        match cells.as_slice() {
            [n, pid, state, restarts] if n.trim() == name => Some((
                pid.trim().to_string(),
                state.trim().to_string(),
                restarts.trim().to_string(),
            )),
            _ => None,
        }
    })
}

/// SIGKILLs `name` and waits until the supervisor started it again (a new PID, running,
/// `restarts` counted) and until it, and the whole cluster, are healthy.
fn kill_and_see_it_back(cluster: &Cluster, name: &str, restarts: u32) -> Component {
    step(&format!("kill -9 {name}"));
    let before = component(cluster, name);
    let (pid, start) = (before.pid.unwrap(), before.start_time.unwrap());
    sigkill(pid);
    let killed_at = Instant::now();
    let deadline = killed_at + BACK_WITHIN;
    let after = loop {
        let now = component(cluster, name);
        if now.pid != Some(pid) && procs::is_running(&now) {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "{name} (pid {pid}) was not started again within {BACK_WITHIN:?}; supervisor.log:\n{}",
            std::fs::read_to_string(cluster.dir.join("logs/supervisor.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!alive(pid, start), "the killed {name} is gone");
    assert_eq!(after.restarts, restarts, "{name}'s restart count");
    assert_eq!(
        (&after.args, &after.log),
        (&before.args, &before.log),
        "same command line and log"
    );
    eprintln!(
        "{name}: pid {pid} -> {} after {:?}",
        after.pid.unwrap(),
        killed_at.elapsed()
    );
    let new_pid = after.pid.unwrap().to_string();
    step(&format!(
        "{name} is healthy again and `skiff status` counts it"
    ));
    if let Health::Http { url } = &after.health {
        let deadline = Instant::now() + HEALTHY_WITHIN;
        while !http_ok(url) {
            assert!(Instant::now() < deadline, "{url} never answered 200");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // `skiff status` exits 0 only when every store member has a leader, the apiserver
    // answers, the leases are held, every node is Ready and every process runs.
    cluster.wait_for(
        &format!("a healthy cluster with {name} restarted {restarts} time(s)"),
        HEALTHY_WITHIN,
        &["status"],
        |out| {
            process_row(out, name)
                == Some((new_pid.clone(), "running".into(), restarts.to_string()))
        },
    );
    after
}

fn supervisor_log(cluster: &Cluster) -> String {
    std::fs::read_to_string(cluster.dir.join("logs/supervisor.log")).unwrap()
}

#[test]
fn killed_components_come_back_healthy() {
    let cluster = up();
    let supervisor = cluster.state().supervisor.expect("a supervisor");
    assert!(alive(supervisor.pid, supervisor.start_time));
    assert_eq!(
        cluster.ok(&["create", "-f", &fixture("rc-crane.yaml")]),
        "replicationcontroller/crane created\n"
    );
    cluster.wait_for(
        "3 crane pods Running",
        Duration::from_secs(60),
        &["get", "po"],
        running_crane_pods,
    );
    let mut first_pids = Vec::new();
    for name in [
        "controller-manager",
        "scheduler",
        "store-2",
        "nodelet-node-2",
        "apiserver",
    ] {
        let before = component(&cluster, name);
        first_pids.push(before.pid.unwrap());
        kill_and_see_it_back(&cluster, name, 1);
    }
    let log = supervisor_log(&cluster);
    let cm = first_pids[0];
    assert!(
        log.contains(&format!(
            "controller-manager (pid {cm}) exited; restarting in 1s"
        )),
        "{log}"
    );
    assert!(
        log.contains("started controller-manager again (pid "),
        "{log}"
    );

    step("killed again soon, the scheduler waits longer: the back-off doubled");
    let scheduler = component(&cluster, "scheduler");
    kill_and_see_it_back(&cluster, "scheduler", 2);
    let log = supervisor_log(&cluster);
    assert!(
        log.contains(&format!(
            "scheduler (pid {}) exited (killed by signal 9); restarting in 2s",
            scheduler.pid.unwrap()
        )),
        "the supervisor, its parent, saw the signal:\n{log}"
    );

    step("the cluster still works: a deleted pod is replaced and Running");
    let pods = cluster.ok(&["get", "po", "-o", "name"]);
    let victim = pods.lines().find(|l| l.starts_with("pod/crane-")).unwrap();
    cluster.ok(&["delete", victim]);
    cluster.wait_for(
        "3 crane pods Running after the restarts",
        Duration::from_secs(60),
        &["get", "po"],
        |out| running_crane_pods(out) && !out.contains(victim.trim_start_matches("pod/")),
    );
    assert_eq!(
        cluster.state().supervisor,
        Some(supervisor),
        "one supervisor"
    );

    step("skiff down stops the supervisor first and leaves no process");
    let mut all = cluster.pids();
    all.push((supervisor.pid, supervisor.start_time));
    let sessions: Vec<i32> = all.iter().map(|(p, _)| *p as i32).collect();
    let containers = procs::leftovers(&cluster.dir.join("data"), &sessions);
    let down = cluster.ok(&["down", "--dir", &cluster.dir.display().to_string()]);
    assert!(
        down.contains(&format!("supervisor (pid {})", supervisor.pid)),
        "{down}"
    );
    for (pid, start) in all.iter().chain(&containers) {
        assert!(!alive(*pid, *start), "pid {pid} survived skiff down");
    }
    assert!(
        procs::leftovers(&cluster.dir.join("data"), &sessions).is_empty(),
        "nothing is left in the components' sessions or data directory"
    );
    let state = cluster.state();
    assert_eq!(state.supervisor, None);
    assert!(state.components.iter().all(|c| c.pid.is_none()));
}

#[test]
fn a_dead_supervisor_is_started_again_by_skiff_up() {
    let cluster = up();
    let first = cluster.state().supervisor.expect("a supervisor");

    step("kill -9 the supervisor: status says so, and nothing restarts a dead component");
    sigkill(first.pid);
    let cm = component(&cluster, "controller-manager");
    sigkill(cm.pid.unwrap());
    std::thread::sleep(Duration::from_secs(4));
    let run = cluster.run(&["status"]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        process_row(&run.stdout, "supervisor"),
        Some((
            first.pid.to_string(),
            "exited (run `skiff up` to start it again)".into(),
            "-".into()
        )),
        "{}",
        run.stdout
    );
    assert_eq!(
        process_row(&run.stdout, "controller-manager"),
        Some((cm.pid.unwrap().to_string(), "exited".into(), "0".into())),
        "{}",
        run.stdout
    );
    assert_eq!(component(&cluster, "controller-manager").pid, cm.pid);

    step("skiff up starts the supervisor again, which restarts the controller-manager");
    let up = cluster.ok(&["up", "--dir", &cluster.dir.display().to_string()]);
    assert!(
        up.contains("Its supervisor was not running: started it again (pid ")
            && up.contains("controller-manager"),
        "{up}"
    );
    let second = cluster.state().supervisor.expect("a new supervisor");
    assert_ne!(second, first);
    assert!(alive(second.pid, second.start_time));
    let deadline = Instant::now() + BACK_WITHIN;
    while !procs::is_running(&component(&cluster, "controller-manager")) {
        assert!(Instant::now() < deadline, "{}", supervisor_log(&cluster));
        std::thread::sleep(Duration::from_millis(200));
    }
    cluster.wait_for("a healthy cluster", HEALTHY_WITHIN, &["status"], |out| {
        process_row(out, "controller-manager").is_some_and(|r| r.2 == "1")
    });

    step("a third skiff up changes nothing");
    let before = cluster.state();
    let up = cluster.ok(&["up", "--dir", &cluster.dir.display().to_string()]);
    assert!(
        up.contains(&format!(
            "already running in {} (8 processes, supervisor pid {})",
            std::fs::canonicalize(&cluster.dir).unwrap().display(),
            second.pid
        )),
        "{up}"
    );
    assert_eq!(cluster.state(), before);

    step("skiff down leaves no process, supervisor included");
    let pids = cluster.pids();
    let down = cluster.ok(&["down", "--dir", &cluster.dir.display().to_string()]);
    assert!(
        down.contains(&format!("supervisor (pid {})", second.pid)),
        "{down}"
    );
    for (pid, start) in pids.iter().chain([&(second.pid, second.start_time)]) {
        assert!(!alive(*pid, *start), "pid {pid} survived skiff down");
    }
}
