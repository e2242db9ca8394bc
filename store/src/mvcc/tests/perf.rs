//! Throughput figures of the state machine (printed; bounds are loose so they hold in
//! unoptimized test builds on a busy machine).

use std::time::Instant;

use skiff_proto::etcdserverpb::PutRequest;
use skiff_proto::skiffstore::internal_request::Request;

use super::{range_req, Fixture};

#[test]
fn apply_and_range_throughput() {
    let mut f = Fixture::new();
    let value = vec![b'v'; 256];
    let batches = 100;
    let start = Instant::now();
    for b in 0..batches {
        let reqs = (0..100)
            .map(|i| {
                Request::Put(PutRequest {
                    key: format!("bench/{:05}", (b * 100 + i) % 1000).into(),
                    value: value.clone(),
                    ..Default::default()
                })
            })
            .collect();
        f.apply_all(reqs);
    }
    let elapsed = start.elapsed();
    let puts_per_sec = (batches * 100) as f64 / elapsed.as_secs_f64();
    println!(
        "apply: {} one-key puts in batches of 100: {:?} ({puts_per_sec:.0} puts/s)",
        batches * 100,
        elapsed
    );
    assert_eq!(f.sm.revision(), 1 + batches as i64 * 100);

    let rounds = 50;
    let start = Instant::now();
    for _ in 0..rounds {
        let resp = f.range(range_req("bench/", "bench0")).unwrap();
        assert_eq!(resp.kvs.len(), 1000);
    }
    let per_range = start.elapsed() / rounds;
    println!("range: 1000 keys of 256 B under a prefix: {per_range:?} per range");
    let start = Instant::now();
    for i in 0..1000 {
        let resp = f.range(range_req(&format!("bench/{i:05}"), "")).unwrap();
        assert_eq!(resp.kvs.len(), 1);
    }
    println!("range: one key: {:?} per get", start.elapsed() / 1000);
    let start = Instant::now();
    f.compact(f.sm.revision()).unwrap();
    let compacted = start.elapsed();
    println!("compact: 9000 of 10000 revisions dropped in {compacted:?}");
    assert_eq!(
        f.range(range_req("bench/", "bench0")).unwrap().kvs.len(),
        1000
    );
    assert!(puts_per_sec > 2_000.0, "{puts_per_sec} puts/s");
    assert!(per_range.as_millis() < 200, "{per_range:?}");
    assert!(compacted.as_secs() < 10, "{compacted:?}");
}
