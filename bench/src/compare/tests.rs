//! Tests of the report rendering with hand-made measurements.

use super::*;
use crate::failover::Round;
use crate::stats::Summary;

fn settings() -> Settings {
    Settings {
        put_total_1: 3000,
        put_total_256: 30000,
        get_total_1: 3000,
        get_total_256: 30000,
        failover_rounds: 2,
        idle: Duration::from_secs(10),
        target: Target::All,
    }
}

fn report(ok: u64, secs: u64, p50_us: u64) -> LoadReport {
    let samples = vec![Duration::from_micros(p50_us); ok as usize];
    LoadReport {
        ok,
        errors: 0,
        elapsed: Duration::from_secs(secs),
        latency: Summary::from_samples(samples),
        first_error: None,
    }
}

fn column(label: &'static str, scale: u64) -> Column {
    let loads = scenarios(&settings())
        .iter()
        .map(|s| Ok(report(s.total, 1, 1000 * scale)))
        .collect();
    let round = |ms| Round {
        killed: "m1".into(),
        new_leader: "m2".into(),
        downtime: Duration::from_millis(ms * scale),
        rejoin: Duration::from_millis(500),
    };
    Column {
        label,
        binary: PathBuf::from("/bin/x"),
        launch: Some(format!("/bin/x --name=m1 # {label}")),
        cluster_error: None,
        loads,
        rss_after_load: Ok(RssReport {
            members: vec![("m1".into(), 40 << 20)],
        }),
        failover: Ok(FailoverReport {
            rounds: vec![round(1000), round(1400)],
        }),
        rss_idle: Ok(RssReport {
            members: vec![("m1".into(), 20 << 20), ("m2".into(), 30 << 20)],
        }),
    }
}

#[test]
fn scenarios_cover_the_four_load_runs() {
    let s = scenarios(&settings());
    let shape: Vec<_> = s
        .iter()
        .map(|s| (s.put, s.clients, s.conns, s.total))
        .collect();
    assert_eq!(
        shape,
        [
            (true, 1, 1, 3000),
            (true, 256, 16, 30000),
            (false, 1, 1, 3000),
            (false, 256, 16, 30000)
        ]
    );
    assert_eq!(
        s[1].command("$E", Target::All),
        "skiff-bench put --endpoints $E --clients 256 --conns 16 --total 30000 --target all --val-size 256 --key-space 100000"
    );
    assert!(s[2].command("$E", Target::Leader).contains(
        "range --endpoints $E --clients 1 --conns 1 --total 3000 --target leader --consistency l"
    ));
}

#[test]
fn table_puts_columns_side_by_side_with_ratios() {
    let machine = Machine {
        nproc: 2,
        kernel: "Linux 6".into(),
        cpu: "Test CPU".into(),
        date: "2030-01-01".into(),
        load_1m: None,
    };
    let etcd = column("etcd", 1);
    let skiff = column("skiff-store", 2);
    let md = render(
        &machine,
        "skiff-bench compare ...",
        &settings(),
        &etcd,
        &skiff,
    );
    assert!(
        md.contains("| metric | etcd | skiff-store | ratio (skiff-store / etcd) |"),
        "{md}"
    );
    assert!(
        md.contains("| put, 1 client: throughput (req/s) | 3000 | 3000 | 1.00x |"),
        "{md}"
    );
    assert!(
        md.contains("| put, 1 client: p99 latency (ms) | 1.00 | 2.00 | 2.00x |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| leader failover (SIGKILL -> next write): median (ms) | 1200 | 2400 | 2.00x |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| idle RSS per member, fresh cluster: max (MB) | 30.0 | 30.0 | 1.00x |"),
        "{md}"
    );
    assert!(
        md.contains("| idle RSS per member, fresh cluster: mean (MB) | 25.0 | 25.0 | 1.00x |"),
        "{md}"
    );
    assert!(
        md.contains("Machine: 2 CPUs (Test CPU), Linux 6, measured 2030-01-01."),
        "{md}"
    );
    assert!(md.contains("/bin/x --name=m1 # skiff-store"), "{md}");
}

#[test]
fn failed_parts_show_as_na_with_the_reason() {
    let machine = Machine {
        nproc: 2,
        kernel: "k".into(),
        cpu: "c".into(),
        date: "d".into(),
        load_1m: Some(1.5),
    };
    let etcd = column("etcd", 1);
    let mut skiff = column("skiff-store", 1);
    skiff.failover = Err("cluster did not start: boom".into());
    skiff.loads[0] = Err("connection refused".into());
    let md = render(&machine, "inv", &settings(), &etcd, &skiff);
    assert!(
        md.contains("| put, 1 client: throughput (req/s) | 3000 | n/a | - |"),
        "{md}"
    );
    assert!(
        md.contains("| leader failover (SIGKILL -> next write): max (ms) | 1400 | n/a | - |"),
        "{md}"
    );
    assert!(
        md.contains("- failover: failed: cluster did not start: boom"),
        "{md}"
    );
    assert!(
        md.contains("- put, 1 client: failed: connection refused"),
        "{md}"
    );
}

#[test]
fn ratio_guards_against_zero() {
    assert_eq!(ratio(0.0, 5.0), None);
    assert_eq!(ratio(2.0, 5.0), Some(2.5));
}

#[test]
fn invocation_spells_out_every_setting() {
    let inv = invocation(
        Path::new("/usr/bin/etcd"),
        Path::new("target/release/skiff-store"),
        &settings(),
    );
    assert_eq!(
        inv,
        "skiff-bench compare --etcd /usr/bin/etcd --skiff target/release/skiff-store --put-total-1 3000 \
         --put-total-256 30000 --get-total-1 3000 --get-total-256 30000 --failover-rounds 2 --idle-secs 10 --target all"
    );
}

#[test]
fn a_cluster_that_did_not_start_is_explained_once() {
    let machine = Machine {
        nproc: 2,
        kernel: "k".into(),
        cpu: "c".into(),
        date: "d".into(),
        load_1m: Some(1.5),
    };
    let etcd = column("etcd", 1);
    let mut skiff = column("skiff-store", 1);
    skiff.cluster_error = Some("cluster did not start: member m1 exited".into());
    skiff.loads = scenarios(&settings())
        .iter()
        .map(|_| Err("cluster did not start".into()))
        .collect();
    let md = render(&machine, "inv", &settings(), &etcd, &skiff);
    assert_eq!(md.matches("member m1 exited").count(), 1, "{md}");
    assert!(md.contains("**Warning:** other work was running"), "{md}");
    assert!(
        md.contains("| linearizable get, 1 client: p50 latency (ms) | 1.00 | n/a | - |"),
        "{md}"
    );
}
