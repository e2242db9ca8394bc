//! store/README.md's "Replacing a dead store member of a `skiff up` cluster", step by step:
//! store-3 is killed and its data dir deleted; etcdctl removes it and adds it back as a
//! learner; store-3 is switched to `--initial-cluster-state existing` in `state.json`, and the
//! supervisor starts it again with its TLS flags; it joins, catches up and is promoted. The
//! cluster ends with three healthy voters holding the same data, and the apiserver still runs
//! pods.

use std::time::Duration;

use serde_json::Value;

use crate::util::{step, wait_for, StoreCluster};

const MINUTE: Duration = Duration::from_secs(60);
const KEYS: usize = 40;

fn members(cluster: &StoreCluster, endpoint: &str) -> Vec<Value> {
    cluster.etcdctl_json(endpoint, &["member", "list"])["members"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn name(member: &Value) -> &str {
    member["name"].as_str().unwrap_or("")
}

fn id(member: &Value) -> u64 {
    member["ID"].as_u64().expect("a member ID")
}

fn pid_of(cluster: &StoreCluster, component: &str) -> u32 {
    cluster
        .state()
        .components
        .iter()
        .find(|c| c.name == component)
        .and_then(|c| c.pid)
        .unwrap_or_else(|| panic!("{component} has no PID in state.json"))
}

/// `endpoint hashkv --rev R` on every member, at the lowest revision all of them reached
/// (the controllers keep writing, so their latest revisions differ).
fn hashes(cluster: &StoreCluster, all: &str) -> Vec<(String, u64)> {
    let status = cluster.etcdctl_json(all, &["endpoint", "status"]);
    let revision = status
        .as_array()
        .expect("a status per endpoint")
        .iter()
        .map(|s| {
            s["Status"]["header"]["revision"]
                .as_u64()
                .expect("revision")
        })
        .min()
        .expect("three endpoints");
    let rev = format!("--rev={revision}");
    let answer = cluster.etcdctl_json(all, &["endpoint", "hashkv", &rev]);
    answer
        .as_array()
        .expect("a hash per endpoint")
        .iter()
        .map(|h| {
            (
                h["Endpoint"].as_str().unwrap_or("").to_string(),
                h["HashKV"]["hash"].as_u64().expect("hash"),
            )
        })
        .collect()
}

#[test]
fn a_dead_store_member_is_replaced_as_the_readme_says() {
    let cluster = StoreCluster::up();
    let state = cluster.state();
    let dir = cluster.dir.display().to_string();
    let all = state.stores.join(",");
    let live = state.stores[0].clone();
    let s3_client = state.stores[2].clone();

    step("keys written through etcdctl with the etcd-client certificate");
    for i in 0..KEYS {
        cluster.etcdctl_ok(
            &live,
            &["put", &format!("/replace/k{i:02}"), &i.to_string()],
        );
    }

    step("store-3's disk dies: SIGKILL and its data dir deleted");
    let old_pid = pid_of(&cluster, "store-3");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(old_pid as i32).expect("a pid"),
        rustix::process::Signal::KILL,
    )
    .expect("kill store-3");
    std::fs::remove_dir_all(cluster.data_dir("store-3")).expect("delete store-3's data");
    wait_for("the supervisor to start store-3 again", MINUTE, || {
        let pid = pid_of(&cluster, "store-3");
        (pid != old_pid)
            .then_some(pid)
            .ok_or_else(|| "not yet".to_string())
    });

    step("etcdctl member list / member remove / member add --learner");
    let listed = members(&cluster, &live);
    assert_eq!(listed.len(), 3, "{listed:?}");
    let old = listed
        .iter()
        .find(|m| name(m) == "s3")
        .unwrap_or_else(|| panic!("no s3 in {listed:?}"));
    let old_id = id(old);
    let peer_url = old["peerURLs"][0]
        .as_str()
        .expect("s3's peer URL")
        .to_string();
    assert!(peer_url.starts_with("https://"), "{peer_url}");
    cluster.etcdctl_ok(&live, &["member", "remove", &format!("{old_id:x}")]);
    let added = cluster.etcdctl_json(
        &live,
        &[
            "member",
            "add",
            "s3",
            "--learner",
            &format!("--peer-urls={peer_url}"),
        ],
    );
    let new_id = id(&added["member"]);
    assert_ne!(new_id, old_id, "a new member id");
    assert_eq!(added["member"]["isLearner"], Value::Bool(true), "{added}");

    step("under state.lock: store-3 switched to `existing`, killed, its data dir deleted");
    let pid = pid_of(&cluster, "store-3");
    // The README's command, word for word but for DIR and PID.
    let script = format!(
        r#"(
  flock 9
  sed -i '/"name": "store-3"/,/"new"/ s/"new"/"existing"/' {dir}/state.json
  kill -9 {pid}; rm -rf {dir}/data/store-3
) 9>{dir}/state.lock"#
    );
    cluster.shell(&script);
    let store3 = cluster
        .state()
        .components
        .into_iter()
        .find(|c| c.name == "store-3")
        .expect("store-3");
    let flag = store3
        .args
        .iter()
        .position(|a| a == "--initial-cluster-state")
        .expect("--initial-cluster-state");
    assert_eq!(store3.args[flag + 1], "existing", "{:?}", store3.args);
    for other in ["store-1", "store-2"] {
        let c = cluster
            .state()
            .components
            .into_iter()
            .find(|c| c.name == other);
        let args = c.expect("member").args;
        assert!(
            args.windows(2)
                .any(|w| w[0] == "--initial-cluster-state" && w[1] == "new"),
            "the README's edit touches only store-3: {other} {args:?}"
        );
    }

    step("store-3 joins as the learner; etcdctl member promote until accepted");
    let hex = format!("{new_id:x}");
    wait_for("the learner to be promoted", 2 * MINUTE, || {
        let out = cluster.etcdctl(&live, &["member", "promote", &hex]);
        out.status.success().then_some(()).ok_or_else(|| {
            format!(
                "{}\nstore-3's log:\n{}",
                String::from_utf8_lossy(&out.stderr),
                cluster.log("store-3")
            )
        })
    });

    step("three healthy voters: s1, s2 and the new s3");
    // A new member is listed without a name (etcd's "unstarted") until its own
    // announcement of its name is applied, which can come just after the promotion.
    wait_for("the new member's name in the member list", MINUTE, || {
        let listed = members(&cluster, &live);
        listed
            .iter()
            .all(|m| !name(m).is_empty())
            .then_some(())
            .ok_or_else(|| format!("{listed:?}"))
    });
    let listed = members(&cluster, &live);
    let mut names: Vec<&str> = listed.iter().map(name).collect();
    names.sort_unstable();
    assert_eq!(names, ["s1", "s2", "s3"], "{listed:?}");
    assert!(
        listed.iter().all(|m| m["isLearner"] != Value::Bool(true)),
        "{listed:?}"
    );
    assert!(listed.iter().any(|m| id(m) == new_id), "{listed:?}");
    wait_for("every endpoint healthy", MINUTE, || {
        let out = cluster.etcdctl(&all, &["endpoint", "health"]);
        out.status
            .success()
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
    });
    let status = cluster.ok(&["status"]);
    for member in ["s1", "s2", "s3"] {
        let row = status
            .lines()
            .find(|l| l.split_whitespace().next() == Some(member))
            .unwrap_or_else(|| panic!("no {member} in skiff status:\n{status}"));
        assert!(
            row.contains(" ok ") && row.contains("voter"),
            "{member} is not a healthy voter:\n{status}"
        );
    }

    step("the same data: every key on the new member, endpoint hashkv equal");
    let keys = cluster.etcdctl_ok(
        &s3_client,
        &[
            "get",
            "--prefix",
            "/replace/",
            "--keys-only",
            "--consistency=s",
        ],
    );
    assert_eq!(
        keys.lines().filter(|l| !l.is_empty()).count(),
        KEYS,
        "{keys}"
    );
    let hashes = hashes(&cluster, &all);
    assert_eq!(hashes.len(), 3, "{hashes:?}");
    assert!(
        hashes.iter().all(|(_, h)| *h == hashes[0].1),
        "hashkv differs: {hashes:?}"
    );

    step("the apiserver still works: skiff get nodes, a pod created and Running");
    let nodes = cluster.ok(&["get", "nodes"]);
    assert!(
        nodes.contains("node-1") && nodes.contains("Ready"),
        "{nodes}"
    );
    let manifest = cluster.dir.join("after-replace.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: after-replace\nspec:\n  containers:\n  - name: kubia\n    image: luksa/kubia\n    ports:\n    - containerPort: 8080\n",
    )
    .expect("write the manifest");
    let created = cluster.ok(&["create", "-f", &manifest.display().to_string()]);
    assert_eq!(created.trim(), "pod/after-replace created");
    wait_for("the pod Running", 2 * MINUTE, || {
        let out = cluster.run(&["get", "po", "after-replace", "-o", "json"]);
        let pod: Value = serde_json::from_str(&out.stdout).map_err(|e| e.to_string())?;
        let phase = pod["status"]["phase"].as_str().unwrap_or("").to_string();
        (phase == "Running").then_some(()).ok_or(phase)
    });
}
