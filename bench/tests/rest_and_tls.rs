//! The REST-against-gRPC and the TLS benchmarks, tiny, so CI keeps them working: they must
//! produce figures, and every request must succeed. The full runs are `skiff-bench rest` and
//! `skiff-bench tls` (figures in BENCHMARKS.md). Needs this build's binaries
//! (`cargo build --workspace --bins`) and, for the TLS benchmark, etcd.

use std::time::Duration;

use skiff_bench::apiserver::LocalCluster;
use skiff_bench::cli::Kind;
use skiff_bench::machine::Machine;
use skiff_bench::rest::{self, Endpoints, RestArgs};
use skiff_bench::tls_bench::{self, TlsBenchArgs};
use skiff_testkit::binary::binary;

async fn within<T>(what: &str, secs: u64, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_benchmark_measures_both_apis_on_a_tls_cluster() {
    eprintln!("=== start 3 store members and an apiserver, TLS on every port");
    let store = binary("skiff-store");
    let local = within(
        "cluster start",
        90,
        LocalCluster::start(&store, &binary("skiff-apiserver"), true),
    )
    .await
    .unwrap();
    let at = Endpoints::of(&local).unwrap();
    assert!(at.rest_url.starts_with("https://"), "{}", at.rest_url);
    assert!(at.grpc.url.starts_with("https://"), "{}", at.grpc.url);
    let args = RestArgs {
        store_bin: store,
        clients: 4,
        creates: 24,
        rounds: 2,
        watchers: 6,
        events: 5,
        list_pods: 30,
        list_calls: 2,
    };
    eprintln!("=== the three measurements, tiny");
    let report = within("the REST benchmark", 240, rest::measure(&at, &args))
        .await
        .unwrap();
    let c = &report.creates;
    for (api, batch) in [("REST", &c.rest), ("gRPC", &c.grpc)] {
        assert_eq!(
            (batch.samples.len(), batch.errors),
            (24, 0),
            "{api} creates: {:?}",
            batch.first_error
        );
        let l = batch.latency();
        assert!(
            l.p50 > Duration::ZERO && l.p50 <= l.p99 && l.p99 <= l.max,
            "{l}"
        );
    }
    assert!(report.p99_ratio().is_some_and(|r| r > 0.0));
    let f = &report.fanout;
    assert_eq!(f.delivered, 6 * 5, "every watcher gets every change");
    assert!(f.first.p50 <= f.all.p50 && f.all.p50 <= f.all.max, "{f:?}");
    let l = &report.list;
    assert_eq!((l.pods, l.calls), (30, 2));
    // Both replies hold 30 pods (checked row by row inside), so neither can be tiny.
    assert!(l.rest_bytes > 30 * 100 && l.grpc_bytes > 30 * 100, "{l:?}");
    let md = rest::render(&Machine::current(), &args, &report);
    assert!(md.contains("REST p99 / gRPC p99 = **"), "{md}");
}

#[tokio::test]
async fn rest_benchmark_refuses_a_cluster_without_the_rest_api() {
    let local = within(
        "cluster start",
        90,
        LocalCluster::start(&binary("skiff-store"), &binary("skiff-apiserver"), false),
    )
    .await
    .unwrap();
    let err = Endpoints::of(&local).unwrap_err().to_string();
    assert!(err.contains("serves no REST API"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_benchmark_runs_etcd_and_skiff_store_plain_and_with_client_certificates() {
    let etcd = skiff_testkit::binary::etcd().unwrap_or_else(|| {
        panic!("no etcd binary at /usr/bin/etcd or $SKIFF_ETCD: install etcd-server")
    });
    let args = TlsBenchArgs {
        etcd,
        skiff: binary("skiff-store"),
        put_total_1: 20,
        put_total_256: 300,
    };
    let mut say = |line: String| eprintln!("{line}");
    let columns = within(
        "the TLS benchmark",
        300,
        tls_bench::measure(&args, &mut say),
    )
    .await;
    assert_eq!(columns.len(), 4);
    for c in &columns {
        let (many, one) = c
            .runs
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", c.label()));
        assert_eq!((many.ok, many.errors), (300, 0), "{}: {many}", c.label());
        assert_eq!((one.ok, one.errors), (20, 0), "{}: {one}", c.label());
    }
    for kind in [Kind::Etcd, Kind::Skiff] {
        for tls in [true, false] {
            assert!(tls_bench::throughput(&columns, kind, tls).is_some_and(|t| t > 0.0));
        }
    }
    let md = tls_bench::render(&Machine::current(), &args, &columns);
    assert!(
        md.contains("skiff-store TLS / etcd TLS put throughput"),
        "{md}"
    );
}
