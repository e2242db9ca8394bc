//! `skiff up` twice, `status`, `version`, `completion`, `--help`, `skiff down` leaving no process (the supervisor included), a restart on the same data, `--purge`, and a clear error for missing binaries.

use std::process::Command;
use std::time::Duration;

use skiff_cli::up::procs;

use crate::util::{alive, fixture, mask, skiff_bin, step, up_default};

fn running_crane_pods(out: &str) -> bool {
    out.lines()
        .filter(|l| l.starts_with("crane-") && l.contains(" Running "))
        .count()
        == 3
}

#[test]
fn up_twice_status_down_and_restart() {
    let cluster = up_default();
    let dir = cluster.dir.display().to_string();

    step("~/.skiff/config reaches the cluster; node-1 is labelled disk=ssd");
    let home_config = cluster.home.path().join(".skiff/config");
    assert_eq!(
        std::fs::read_to_string(&home_config).unwrap(),
        std::fs::read_to_string(cluster.config()).unwrap()
    );
    assert_eq!(
        mask(&cluster.ok(&["get", "nodes"])),
        "NAME  STATUS  ROLES  AGE  VERSION\nnode-1  Ready  <none>  <age>  skiff-0.1.0\nnode-2  Ready  <none>  <age>  skiff-0.1.0\n"
    );
    assert_eq!(
        cluster.ok(&["get", "no", "-l", "disk=ssd", "-o", "name"]),
        "node/node-1\n"
    );
    let config = std::fs::read_to_string(cluster.config()).unwrap();
    assert!(
        config.contains("apiservers:") && config.contains("token:"),
        "{config}"
    );
    let tokens = std::fs::read_to_string(cluster.dir.join("tokens.csv")).unwrap();
    assert_eq!(
        tokens.lines().count(),
        3,
        "an admin token and one per node:\n{tokens}"
    );
    assert!(
        tokens.contains(",system:node:node-2,uid-node-node-2,\"system:nodes\""),
        "{tokens}"
    );

    step("--server and --token need no config file; a bad token is refused");
    let state = cluster.state();
    let server = state.apiservers.join(",");
    let elsewhere = [("HOME", "/nonexistent")];
    let ca = state
        .pki
        .as_ref()
        .expect("TLS by default")
        .join("ca.crt")
        .display()
        .to_string();
    let run = cluster.run_env(
        &[
            "--server",
            &server,
            "--token",
            &state.admin_token,
            "--certificate-authority",
            &ca,
            "get",
            "no",
            "-o",
            "name",
        ],
        &elsewhere,
    );
    assert_eq!(
        (run.status, run.stdout.as_str()),
        (0, "node/node-1\nnode/node-2\n"),
        "{}",
        run.stderr
    );
    let run = cluster.run(&["--token", "wrong", "get", "po"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .starts_with("error: You must be logged in to the server ("),
        "{}",
        run.stderr
    );
    let run = cluster.run_env(&["get", "po"], &elsewhere);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .starts_with("error: no configuration: /nonexistent/.skiff/config does not exist."),
        "{}",
        run.stderr
    );
    let run = cluster.run(&["--config", "/nonexistent/config", "get", "po"]);
    assert_eq!(
        run.stderr,
        "error: the config file /nonexistent/config does not exist\n"
    );

    step("a second skiff up says so and changes nothing");
    let before = cluster.state();
    let run = cluster.run(&["up"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("already running"), "{}", run.stdout);
    assert_eq!(cluster.state(), before);

    step("status: store members with a leader, apiserver, lease holders, nodes, processes");
    let status = cluster.ok(&["status"]);
    let members: Vec<&str> = status
        .lines()
        .filter(|l| l.starts_with('s') && l.contains("https://127.0.0.1:"))
        .collect();
    assert_eq!(members.len(), 3, "{status}");
    // Role and database size of each member (from Maintenance.Status).
    assert!(
        members
            .iter()
            .all(|l| l.contains(" voter ") && (l.contains(" kB") || l.contains(" MB"))),
        "{status}"
    );
    assert_eq!(
        members
            .iter()
            .filter(|l| l.split_whitespace().nth(3) == Some("yes"))
            .count(),
        1,
        "one leader:\n{status}"
    );
    assert!(
        status.contains("ok (you are \"admin\", role admin)"),
        "{status}"
    );
    let masked = mask(&status);
    assert!(masked.contains("controller-manager  kube-system/skiff-controller-manager  controller-manager-1  <age> ago"), "{masked}");
    assert!(
        masked.contains("scheduler  kube-system/skiff-scheduler  scheduler-1  <age> ago"),
        "{masked}"
    );
    assert!(
        masked.contains("node-1  Ready  <age> ago") && masked.contains("node-2  Ready  <age> ago"),
        "{masked}"
    );
    assert!(
        masked.contains("nodelet-node-2  ") && masked.contains("  running"),
        "{masked}"
    );
    let supervisor = before.supervisor.expect("skiff up records its supervisor");
    assert!(alive(supervisor.pid, supervisor.start_time));
    assert!(
        masked.contains(&format!("supervisor  {}  running  -", supervisor.pid)),
        "{masked}"
    );
    assert!(
        masked.contains("PROCESS  PID  STATE  RESTARTS")
            && masked.contains(&format!(
                "store-1  {}  running  0",
                before.components[0].pid.unwrap()
            )),
        "{masked}"
    );

    step("version, completion and help");
    let version = cluster.ok(&["version"]);
    assert!(
        version.starts_with("Client Version: v0.1.0\nServer: https://127.0.0.1:"),
        "{version}"
    );
    assert_eq!(
        cluster.ok(&["version", "--client"]),
        "Client Version: v0.1.0\n"
    );
    assert!(cluster
        .ok(&["completion", "bash"])
        .contains("complete -F _skiff"));
    assert!(cluster
        .ok(&["completion", "zsh"])
        .starts_with("#compdef skiff"));
    assert!(cluster
        .ok(&["completion", "fish"])
        .contains("complete -c skiff"));
    for command in [
        "up",
        "down",
        "status",
        "create",
        "apply",
        "get",
        "describe",
        "delete",
        "label",
        "scale",
        "edit",
        "logs",
        "version",
        "completion",
    ] {
        let help = cluster.ok(&[command, "--help"]);
        assert!(
            help.contains("Examples:"),
            "skiff {command} --help has no examples:\n{help}"
        );
    }
    assert_eq!(
        cluster.run(&["get", "--bogus"]).status,
        1,
        "usage errors exit 1"
    );

    step("pods run, so the nodes have containers for skiff down to stop");
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
    let components = cluster.pids();
    assert_eq!(components.len(), 8);
    let sessions: Vec<i32> = components.iter().map(|(p, _)| *p as i32).collect();
    let containers = procs::leftovers(&cluster.dir.join("data"), &sessions);
    let containers: Vec<(u32, u64)> = containers
        .into_iter()
        .filter(|c| !components.contains(c))
        .collect();
    assert!(
        containers.len() >= 3,
        "the crane containers and their supervisors: {containers:?}"
    );

    step("skiff down stops every process it started, containers included");
    let down = cluster.ok(&["down"]);
    assert!(down.starts_with("Stopped store-1 (pid "), "{down}");
    assert!(
        down.contains(&format!("supervisor (pid {})", supervisor.pid)),
        "{down}"
    );
    let supervisor_pid = (supervisor.pid, supervisor.start_time);
    for (pid, start) in components
        .iter()
        .chain(&containers)
        .chain([&supervisor_pid])
    {
        assert!(!alive(*pid, *start), "pid {pid} survived skiff down");
    }
    assert!(cluster.state().components.iter().all(|c| c.pid.is_none()));
    assert_eq!(cluster.state().supervisor, None);
    assert!(cluster
        .run(&["down", "--dir", &dir])
        .stdout
        .contains("was not running"));

    step("skiff up again brings the same cluster back, with its objects");
    let again = cluster.run(&["up", "--dir", &dir]);
    assert_eq!(again.status, 0, "{}{}", again.stdout, again.stderr);
    assert!(cluster.ok(&["get", "rc", "crane", "-o", "name"]) == "replicationcontroller/crane\n");
    cluster.wait_for(
        "the crane pods Running again",
        Duration::from_secs(60),
        &["get", "po"],
        running_crane_pods,
    );

    step("skiff down --purge deletes the data");
    let mut pids = cluster.pids();
    let supervisor = cluster.state().supervisor.expect("a new supervisor");
    pids.push((supervisor.pid, supervisor.start_time));
    let purged = cluster.ok(&["down", "--dir", &dir, "--purge"]);
    assert!(purged.contains("Deleted the cluster's data"), "{purged}");
    assert!(pids.iter().all(|(p, s)| !alive(*p, *s)));
    assert!(
        !cluster.dir.exists() && !home_config.exists(),
        "the cluster's files and ~/.skiff/config are gone"
    );
}

#[test]
fn a_missing_component_binary_is_named_with_the_build_command() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A skiff whose directory holds no component binaries.
    std::fs::copy(skiff_bin(), bin.join("skiff")).unwrap();
    let output = Command::new(bin.join("skiff"))
        .args(["up", "--dir", &root.path().join("c").display().to_string()])
        .env("HOME", root.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("error: skiff-store not found in {}: build the component binaries with `cargo build --bins`", bin.display())),
        "{stderr}"
    );
    assert!(
        !root.path().join("c/state.json").exists(),
        "nothing was started"
    );
}
