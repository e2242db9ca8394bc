//! What a pod's sandbox isolates: hostname, /tmp, processes; and that nothing stays
//! behind once the cluster is gone.

use serde_json::json;
use skiff_testkit::{step, NodeletSpec};

use crate::sandbox_util::{enter, mounts_under, sandbox_record};
use crate::util::{alive, condition, pod, Cluster};

fn healthy_file(name: &str) -> skiff_api::types::Pod {
    pod(
        name,
        "n1",
        json!({"containers": [{
            "name": "main", "image": "busybox",
            "command": ["sh", "-c", "touch /tmp/healthy; sleep 600"],
            "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]},
                              "initialDelaySeconds": 1, "periodSeconds": 1}
        }]}),
    )
}

#[tokio::test]
async fn pods_have_their_own_hostname_tmp_and_processes_and_leave_nothing() {
    let mut c = Cluster::start_sandboxed(vec![NodeletSpec::new("n1")]).await;
    let net = c.tc.sandbox_net().expect("a sandboxed cluster");

    step("two healthy-file pods on one node");
    c.create(&healthy_file("healthy-a")).await;
    let a = c
        .wait_pod("healthy-a", "Ready", 30, |p| {
            condition(p, "Ready") == "True"
        })
        .await;
    std::fs::remove_file("/tmp/healthy").ok();
    c.create(&pod(
        "plain-b",
        "n1",
        json!({"containers": [{"name": "main", "image": "busybox",
                               "command": ["sleep", "600"]}]}),
    ))
    .await;
    let b = c
        .wait_pod("plain-b", "Running", 30, |p| p.status.phase == "Running")
        .await;

    step("each pod's hostname is its name");
    assert_eq!(
        enter(&c, "n1", &a, &["cat", "/etc/hostname"]),
        (0, "healthy-a\n".into())
    );
    assert_eq!(enter(&c, "n1", &a, &["hostname"]).1.trim(), "healthy-a");
    assert_eq!(enter(&c, "n1", &b, &["hostname"]).1.trim(), "plain-b");

    step("/tmp is the pod's own: b does not see a's file, the host neither");
    assert_eq!(enter(&c, "n1", &a, &["cat", "/tmp/healthy"]).0, 0);
    let (code, out) = enter(&c, "n1", &b, &["cat", "/tmp/healthy"]);
    assert_ne!(code, 0, "pod b sees pod a's /tmp/healthy: {out}");
    assert!(!std::path::Path::new("/tmp/healthy").exists());

    step("ps inside a pod shows only its processes; its main process is PID 1");
    let (code, ps) = enter(&c, "n1", &a, &["ps", "-e", "-o", "pid=,comm="]);
    assert_eq!(code, 0, "{ps}");
    let procs: Vec<(u32, String)> = ps
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.parse().ok()?, f.next()?.to_string()))
        })
        .collect();
    assert!(
        procs.iter().any(|(pid, comm)| *pid == 1 && comm == "sh"),
        "{ps}"
    );
    assert!(procs.len() <= 4, "more than the pod's processes: {ps}");
    assert!(
        !procs.iter().any(|(_, comm)| comm.starts_with("skiff")),
        "{ps}"
    );

    step("the pod's IP is in the node's podCIDR, on eth0");
    let ip = a.status.pod_ip.clone();
    assert!(ip.starts_with("10."), "pod IP {ip}");
    let (_, addrs) = enter(&c, "n1", &a, &["cat", "/proc/net/fib_trie"]);
    assert!(addrs.contains(&ip), "{addrs}");

    step("the cluster goes: no pause process, veth, bridge, route, cgroup or mount stays");
    let pauses: Vec<u64> = [&a, &b]
        .iter()
        .map(|p| sandbox_record(&c, "n1", p)["pause_pid"].as_u64().unwrap())
        .collect();
    let veths: Vec<String> = [&a, &b]
        .iter()
        .map(|p| {
            sandbox_record(&c, "n1", p)["host_veth"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!net.links().is_empty() && !net.cgroups(1).is_empty());
    assert_eq!(net.forward_rules().len(), 2, "the bridge's FORWARD rules");
    c.tc.stop_all();
    for pid in pauses {
        assert!(!alive(pid as u32), "pause {pid} alive");
    }
    for veth in veths {
        assert!(
            !std::path::Path::new("/sys/class/net").join(&veth).exists(),
            "{veth} left"
        );
    }
    assert_eq!(net.links(), Vec::<String>::new());
    assert_eq!(net.routes(), Vec::<String>::new());
    assert_eq!(net.forward_rules(), Vec::<String>::new());
    assert_eq!(net.cgroups(1), Vec::<std::path::PathBuf>::new());
    assert_eq!(mounts_under(c.tc.dir.path()), Vec::<String>::new());
}
