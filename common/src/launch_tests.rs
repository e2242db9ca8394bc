use super::*;

fn ports() -> impl FnMut() -> u16 {
    let mut next = 40000;
    move || {
        next += 1;
        next
    }
}

#[test]
fn store_members_use_etcds_flags() {
    let mut plan = StorePlan::new(3, Path::new("/d"), |i| format!("store-{i}"), true, ports());
    assert_eq!(
        plan.initial_cluster(),
        "s1=http://127.0.0.1:40002,s2=http://127.0.0.1:40005,s3=http://127.0.0.1:40008"
    );
    assert_eq!(plan.members[1].endpoint(), "127.0.0.1:40004");
    plan.cluster_token = Some("t".into());
    plan.extra_args = vec!["--snapshot-count".into(), "10".into()];
    assert_eq!(
        plan.args(1),
        [
            "--name",
            "s2",
            "--data-dir",
            "/d/store-2",
            "--listen-client-urls",
            "http://127.0.0.1:40004",
            "--advertise-client-urls",
            "http://127.0.0.1:40004",
            "--listen-peer-urls",
            "http://127.0.0.1:40005",
            "--initial-advertise-peer-urls",
            "http://127.0.0.1:40005",
            "--initial-cluster",
            "s1=http://127.0.0.1:40002,s2=http://127.0.0.1:40005,s3=http://127.0.0.1:40008",
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            "t",
            "--listen-metrics-urls",
            "http://127.0.0.1:40006",
            "--snapshot-count",
            "10",
        ]
    );
    let bare = StorePlan::new(1, Path::new("/d"), |i| format!("s{i}"), false, ports());
    assert!(!bare
        .args(0)
        .iter()
        .any(|a| a.contains("metrics") || a.contains("token")));
}

#[test]
fn components_and_tokens() {
    let api = ApiserverPlan {
        port: 6443,
        metrics_port: 6444,
        store_endpoints: vec!["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()],
        token_file: "/d/tokens.csv".into(),
        https: None,
        pki: None,
    };
    assert_eq!(
        api.args().join(" "),
        "--listen 127.0.0.1:6443 --store-endpoints http://127.0.0.1:1,http://127.0.0.1:2 \
         --token-file /d/tokens.csv --metrics-listen 127.0.0.1:6444"
    );
    let client = ClientPlan {
        apiservers: vec![api.address(), "127.0.0.1:7443".into()],
        token: "tok".into(),
        metrics_port: 10257,
        ca: None,
    };
    assert_eq!(
        client.control_plane_args("cm-1").join(" "),
        "--apiserver 127.0.0.1:6443,127.0.0.1:7443 --token tok \
         --metrics-listen 127.0.0.1:10257 --identity cm-1"
    );
    let node = NodeletPlan {
        client,
        node_name: "n1".into(),
        data_dir: "/d/n1".into(),
        listen_port: 10250,
        pod_cidr: "127.9.0.0/16".into(),
        labels: vec![("disk".into(), "ssd".into()), ("zone".into(), "a".into())],
        pki: None,
    };
    assert!(node.args().join(" ").ends_with(
        "--node-name n1 --data-dir /d/n1 --listen 127.0.0.1:10250 \
         --pod-cidr 127.9.0.0/16 --labels disk=ssd,zone=a"
    ));
    assert_eq!(
        token_file(&[
            TokenEntry::admin("a", "admin"),
            TokenEntry::node("n", "node-1"),
            TokenEntry::new("v", "vera", "u-v", &["skiff:viewers", "devs"]),
        ]),
        "a,admin,uid-admin,\"system:masters\"\n\
         n,system:node:node-1,uid-node-node-1,\"system:nodes\"\n\
         v,vera,u-v,\"skiff:viewers,devs\"\n"
    );
}
