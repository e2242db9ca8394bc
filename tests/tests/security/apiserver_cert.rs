//! Every client of the apiserver (the skiff CLI, the client crate, the controller-manager,
//! the scheduler, the nodelet) refuses an apiserver whose certificate the cluster CA did not
//! sign.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skiff_client::{Client, ClientConfig};
use skiff_common::launch::ApiserverPlan;
use skiff_common::pki_layout::{issue_cluster, PkiLayout};
use skiff_testkit::binary::binary;
use skiff_testkit::cluster::{free_port, ClusterSpec, TestCluster, ADMIN_TOKEN};
use skiff_testkit::process::Process;
use skiff_testkit::step;

/// Waits until `process`'s log holds `needle`.
fn wait_log(process: &Process, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !process.log_text().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "{}'s log does not say {needle:?}:\n{}",
            process.name,
            process.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn every_client_refuses_an_apiserver_the_cluster_ca_did_not_sign() {
    let cluster = TestCluster::start(ClusterSpec::default()).await;
    let pki = cluster.pki().expect("TLS is the default").clone();
    let dir = cluster.dir.path();

    step("an impostor apiserver on the same store, its certificate from another CA");
    let other = PkiLayout::new(&dir.join("other-pki"));
    issue_cluster(&other, &[], &[], &[]).expect("another CA");
    let mut plan = ApiserverPlan {
        port: free_port(),
        metrics_port: free_port(),
        store_endpoints: cluster.store_endpoints(),
        token_file: dir.join("tokens.csv"),
        https: None,
        pki: Some(pki.clone()),
    };
    let mut args = plan.args();
    let serving = other.apiserver();
    for (flag, file) in [
        ("--tls-cert-file", &serving.cert),
        ("--tls-private-key-file", &serving.key),
    ] {
        let i = args.iter().position(|a| a == flag).expect(flag);
        args[i + 1] = file.display().to_string();
    }
    plan.pki = None;
    let mut impostor = Process::new(
        "impostor",
        &binary("skiff-apiserver"),
        args,
        dir.join("impostor.log"),
    );
    impostor.start();
    let address = plan.address();

    step("control: the impostor answers a client that trusts its CA");
    let trusting = Client::new(
        ClientConfig::new([address.clone()])
            .with_token(ADMIN_TOKEN)
            .with_ca_pem(Some(std::fs::read(other.ca_cert()).expect("ca"))),
    )
    .expect("client");
    skiff_testkit::wait::wait_for("the impostor to answer", Duration::from_secs(20), || {
        let c = trusting.clone();
        async move { c.who_am_i().await.ok() }
    })
    .await;

    step("the client crate with the cluster CA refuses it");
    let careful = Client::new(
        ClientConfig::new([address.clone()])
            .with_token(ADMIN_TOKEN)
            .with_timeout(Duration::from_secs(3))
            .with_ca_pem(cluster.ca_pem()),
    )
    .expect("client");
    let err = careful.who_am_i().await.expect_err("refused");
    assert!(
        err.to_string().contains("invalid peer certificate"),
        "{err}"
    );

    step("the skiff CLI with the cluster CA refuses it, and says why");
    let out = Command::new(binary("skiff"))
        .args(["get", "pods", "--server", &address, "--token", ADMIN_TOKEN])
        .arg("--certificate-authority")
        .arg(pki.ca_cert())
        .env_remove("SKIFF_CONFIG")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("skiff");
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{said}");
    eprintln!("skiff: {said}");
    assert!(said.contains("certificate"), "{said}");
    let good = Command::new(binary("skiff"))
        .args(["get", "pods", "--server", &cluster.apiserver_endpoints()[0]])
        .args(["--token", ADMIN_TOKEN, "--certificate-authority"])
        .arg(pki.ca_cert())
        .env_remove("SKIFF_CONFIG")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("skiff");
    assert!(
        good.status.success(),
        "the real apiserver: {}",
        String::from_utf8_lossy(&good.stderr)
    );

    step("the controller-manager, the scheduler and a nodelet refuse it");
    let common = |metrics: u16| {
        vec![
            "--apiserver".to_string(),
            address.clone(),
            "--token".to_string(),
            ADMIN_TOKEN.to_string(),
            "--certificate-authority".to_string(),
            pki.ca_cert().display().to_string(),
            "--metrics-listen".to_string(),
            format!("127.0.0.1:{metrics}"),
        ]
    };
    let mut procs = Vec::new();
    for (name, program, extra) in [
        ("cm", "skiff-controller-manager", vec![]),
        ("sched", "skiff-scheduler", vec![]),
        (
            "nodelet",
            "skiff-nodelet",
            vec![
                "--node-name".to_string(),
                "impostor-node".to_string(),
                "--data-dir".to_string(),
                dir.join("impostor-node").display().to_string(),
                "--listen".to_string(),
                format!("127.0.0.1:{}", free_port()),
                // Without this a nodelet run as root makes the default pod bridge (skiff0)
                // on the host before it reaches the apiserver, and nothing removes it.
                "--sandbox".to_string(),
                "none".to_string(),
            ],
        ),
    ] {
        let mut args = common(free_port());
        args.extend(extra);
        let mut p = Process::new(
            name,
            &binary(program),
            args,
            dir.join(format!("{name}.log")),
        );
        p.start();
        procs.push(p);
    }
    for p in &procs {
        wait_log(p, "invalid peer certificate");
    }
    let admin = cluster.admin_client();
    let nodes = admin
        .list_json("nodes", None, &Default::default())
        .await
        .expect("list nodes");
    assert!(
        !format!("{:?}", nodes.items).contains("impostor-node"),
        "the nodelet registered through the impostor"
    );
}
