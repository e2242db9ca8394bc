//! Writers keep writing while the leader is SIGKILLed: every acknowledged
//! write survives on every member, a new leader is elected, writes resume.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::RangeRequest;

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_leader_sigkill() {
    let mut cluster = start(3, &[]).await;
    let old_leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    step(&format!(
        "leader is s{}; starting 6 writers",
        old_leader + 1
    ));

    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6 {
        let urls: Vec<String> = cluster.members().iter().map(|m| m.client_url()).collect();
        let (acked, stop) = (acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut target = w % urls.len();
            let mut kv =
                skiff_proto::etcdserverpb::kv_client::KvClient::new(channel(&urls[target]).await);
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (key, value) = (format!("/w/{w}/{n:05}"), format!("v{n}"));
                n += 1;
                match put(&mut kv, &key, &value).await {
                    Ok(_) => {
                        acked.lock().unwrap().insert(key, value);
                    }
                    Err(_) => {
                        // The member may be dead: move to the next one.
                        target = (target + 1) % urls.len();
                        kv = skiff_proto::etcdserverpb::kv_client::KvClient::new(
                            channel(&urls[target]).await,
                        );
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_kill = acked.lock().unwrap().len();
    assert!(before_kill > 0, "no write was acknowledged before the kill");

    step(&format!(
        "SIGKILL leader s{} after {before_kill} acknowledged writes",
        old_leader + 1
    ));
    let killed_at = Instant::now();
    cluster.kill(old_leader);
    let new_leader = cluster.wait_for_leader(Duration::from_secs(15)).await;
    assert_ne!(new_leader, old_leader);
    step(&format!(
        "new leader s{} after {:?}",
        new_leader + 1,
        killed_at.elapsed()
    ));

    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let after_kill = acked.len() - before_kill;
    step(&format!(
        "{} writes acknowledged in all, {after_kill} after the kill",
        acked.len()
    ));
    assert!(
        after_kill > 0,
        "writes did not resume after the leader was killed"
    );

    step("restart the old leader and let it catch up");
    cluster.start_member(old_leader);
    let commit = cluster
        .status(new_leader)
        .await
        .expect("leader status")
        .raft_index;
    for i in 0..3 {
        cluster
            .wait_applied(i, commit, Duration::from_secs(20))
            .await;
    }

    step("every acknowledged write is on every member");
    for i in 0..3 {
        let mut kv = cluster.kv(i).await;
        let resp = kv
            .range(RangeRequest {
                key: b"/w/".to_vec(),
                range_end: prefix_end(b"/w/"),
                serializable: true,
                ..Default::default()
            })
            .await
            .expect("range")
            .into_inner();
        let have: BTreeMap<String, String> = resp
            .kvs
            .into_iter()
            .map(|kv| {
                (
                    String::from_utf8(kv.key).unwrap(),
                    String::from_utf8(kv.value).unwrap(),
                )
            })
            .collect();
        for (key, value) in &acked {
            assert_eq!(
                have.get(key),
                Some(value),
                "member s{} lost acknowledged write {key}",
                i + 1
            );
        }
    }
}

/// A killed leader's connections close at once, and the survivors take that as the sign to
/// campaign instead of waiting out the election timeout. With a 4 s timeout, a new leader
/// and a successful write within 2.5 s of the kill can only come from that.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_leader_is_replaced_before_the_election_timeout() {
    let mut cluster = start(3, &["--election-timeout", "4000"]).await;
    let old_leader = cluster.wait_for_leader(Duration::from_secs(30)).await;
    let survivor = (old_leader + 1) % 3;
    let mut kv = cluster.kv(survivor).await;
    put(&mut kv, "/early/before", "x").await.expect("put");

    step(&format!("SIGKILL leader s{}", old_leader + 1));
    let killed_at = Instant::now();
    cluster.kill(old_leader);
    let new_leader = cluster.wait_for_leader(Duration::from_secs(15)).await;
    let elected_after = killed_at.elapsed();
    assert_ne!(new_leader, old_leader);
    put(&mut kv, "/early/after", "y")
        .await
        .expect("a write after the failover");
    let written_after = killed_at.elapsed();
    step(&format!(
        "new leader s{} after {elected_after:?}, first write after {written_after:?}",
        new_leader + 1
    ));
    assert!(
        written_after < Duration::from_millis(2500),
        "the failover took {written_after:?}: the survivors waited out the 4 s election timeout"
    );
}
