//! All members SIGKILLed at once and restarted: nothing acknowledged is lost.

use std::time::Duration;

use skiff_proto::etcdserverpb::RangeRequest;

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_of_every_member_loses_no_acknowledged_write() {
    let mut cluster = start(3, &["--snapshot-count", "150"]).await;
    step("300 acknowledged writes from 3 concurrent writers, one per member");
    let mut tasks = Vec::new();
    for m in 0..3 {
        let mut kv = cluster.kv(m).await;
        tasks.push(tokio::spawn(async move {
            for n in 0..100 {
                put(&mut kv, &format!("/d/{m}/{n:03}"), &format!("{m}-{n}"))
                    .await
                    .expect("put");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    step("SIGKILL all members, restart them");
    for i in 0..3 {
        cluster.kill(i);
    }
    for i in 0..3 {
        cluster.start_member(i);
    }
    cluster.wait_for_leader(Duration::from_secs(20)).await;

    step("every write is there, read linearizably through every member");
    for i in 0..3 {
        let resp = cluster
            .kv(i)
            .await
            .range(RangeRequest {
                key: b"/d/".to_vec(),
                range_end: prefix_end(b"/d/"),
                ..Default::default()
            })
            .await
            .expect("range")
            .into_inner();
        assert_eq!(
            resp.kvs.len(),
            300,
            "member s{} sees {} keys",
            i + 1,
            resp.kvs.len()
        );
        for kv in &resp.kvs {
            let key = String::from_utf8_lossy(&kv.key);
            let parts: Vec<&str> = key.split('/').collect();
            let expected = format!("{}-{}", parts[2], parts[3].parse::<u32>().unwrap());
            assert_eq!(kv.value, expected.as_bytes(), "{key}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_member_cluster_works_and_resumes_from_its_data_dir() {
    let mut cluster = start(1, &[]).await;
    let mut kv = cluster.kv(0).await;
    for n in 0..20 {
        put(&mut kv, &format!("/one/{n}"), "x").await.expect("put");
    }
    cluster.kill(0);
    cluster.start_member(0);
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    let resp = cluster
        .kv(0)
        .await
        .range(RangeRequest {
            key: b"/one/".to_vec(),
            range_end: prefix_end(b"/one/"),
            count_only: true,
            ..Default::default()
        })
        .await
        .expect("range")
        .into_inner();
    assert_eq!(resp.count, 20);
}

/// SIGTERM drains: the servers and the background tasks (lessor, member publishing, metrics)
/// stop, the data is flushed, and the process exits 0 promptly; the member resumes from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_member_cleanly_and_keeps_its_data() {
    let mut cluster = start(1, &[]).await;
    let mut kv = cluster.kv(0).await;
    put(&mut kv, "/kept", "yes").await.expect("put");
    step("SIGTERM: a clean exit within 10 s");
    let status = cluster
        .stop(0, Duration::from_secs(10))
        .expect("the member exits by itself after SIGTERM");
    assert!(status.success(), "{status}\n{}", cluster.log(0));
    assert!(
        cluster.log(0).contains("shutting down"),
        "{}",
        cluster.log(0)
    );
    step("started again, it has the key");
    cluster.start_member(0);
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    let mut kv = cluster.kv(0).await;
    assert_eq!(
        get_local(&mut kv, "/kept").await.as_deref(),
        Some(&b"yes"[..])
    );
}
