//! End-to-end: skiff-bench drives a real 3-member etcd cluster it started itself.
//! Needs an etcd binary (/usr/bin/etcd from Debian's etcd-server, or $SKIFF_ETCD); without
//! one it fails rather than passing without having run.

use std::path::PathBuf;
use std::time::Duration;

use skiff_bench::cli::{Kind, Target};
use skiff_bench::cluster::Cluster;
use skiff_bench::load::{self, LoadSpec, Op};
use skiff_bench::rss::RssReport;
use skiff_bench::{failover, BenchError};

/// The etcd binary; a missing one fails the test (CI installs Debian's etcd-server).
fn etcd() -> PathBuf {
    skiff_testkit::binary::etcd().unwrap_or_else(|| {
        panic!(
            "no etcd binary at /usr/bin/etcd or $SKIFF_ETCD: install etcd-server \
             (`apt-get install etcd-server`, as .ci/run does)"
        )
    })
}

async fn within<T>(what: &str, secs: u64, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_failover_and_rss_against_a_real_etcd_cluster() {
    let etcd = etcd();
    eprintln!("=== start a 3-member etcd cluster");
    let mut cluster = within(
        "cluster start",
        60,
        Cluster::start(&etcd, Kind::Etcd, 3, Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let urls = cluster.client_urls();
    assert_eq!(urls.len(), 3);

    eprintln!("=== put, 8 clients over 2 connections to every member");
    let spec = LoadSpec {
        endpoints: urls.clone(),
        clients: 8,
        conns: 2,
        total: 400,
        op: Op::Put {
            val_size: 256,
            key_space: 50,
        },
        tls: None,
    };
    let r = within("put load", 60, load::run(&spec)).await.unwrap();
    assert_eq!((r.ok, r.errors), (400, 0), "{r}");
    let lat = r.latency.unwrap();
    assert!(lat.p50 <= lat.p99 && lat.p99 <= lat.max, "{r}");
    assert!(r.throughput() > 0.0);

    eprintln!("=== linearizable and serializable range through the leader only");
    let leader_only = load::resolve_target(&urls, Target::Leader, None)
        .await
        .unwrap();
    assert_eq!(leader_only.len(), 1);
    assert!(urls.contains(&leader_only[0]));
    for serializable in [false, true] {
        let spec = LoadSpec {
            endpoints: leader_only.clone(),
            clients: 4,
            conns: 1,
            total: 200,
            op: Op::Range {
                key: b"bench-test-key".to_vec(),
                serializable,
                val_size: 64,
            },
            tls: None,
        };
        let r = within("range load", 60, load::run(&spec)).await.unwrap();
        assert_eq!(
            (r.ok, r.errors),
            (200, 0),
            "serializable={serializable}: {r}"
        );
    }

    eprintln!("=== RSS of every member");
    let rss = RssReport::measure(&cluster).unwrap();
    assert_eq!(rss.members.len(), 3);
    assert!(rss.members.iter().all(|(_, b)| *b > 1 << 20), "{rss}");

    eprintln!("=== one failover round: kill the leader, time the next write, restart it");
    let pids: Vec<u32> = (0..3).map(|i| cluster.pid(i).unwrap()).collect();
    let report = within(
        "failover",
        120,
        failover::run(&mut cluster, 1, |_, r| eprintln!("{r}")),
    )
    .await
    .unwrap();
    let round = &report.rounds[0];
    assert_ne!(round.killed, round.new_leader);
    // etcd elects within a few election timeouts (1 s each here).
    assert!(
        round.downtime > Duration::from_millis(100) && round.downtime < Duration::from_secs(10),
        "{report}"
    );
    let killed = (0..3).find(|&i| cluster.name(i) == round.killed).unwrap();
    assert_ne!(
        cluster.pid(killed),
        Some(pids[killed]),
        "the killed member was restarted as a new process"
    );
    assert!(!std::path::Path::new(&format!("/proc/{}", pids[killed])).exists());

    eprintln!("=== dropping the cluster kills every member and removes its directory");
    let dir = cluster.dir().to_path_buf();
    let live: Vec<u32> = (0..3).filter_map(|i| cluster.pid(i)).collect();
    drop(cluster);
    for pid in live {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "member {pid} survived"
        );
    }
    assert!(!dir.exists());
}

#[tokio::test]
async fn a_dead_endpoint_is_a_connect_error() {
    let port = skiff_testkit::free_port().unwrap();
    let spec = LoadSpec {
        endpoints: vec![format!("http://127.0.0.1:{port}")],
        clients: 1,
        conns: 1,
        total: 1,
        op: Op::Put {
            val_size: 1,
            key_space: 1,
        },
        tls: None,
    };
    let err = within("connect", 30, load::run(&spec)).await.unwrap_err();
    assert!(matches!(err, BenchError::Connect { .. }), "{err}");
}
