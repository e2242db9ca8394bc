//! A member that was down while the log was compacted catches up through a
//! snapshot sent by the leader.

use std::time::Duration;

use skiff_proto::etcdserverpb::RangeRequest;

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_member_catches_up_from_a_snapshot() {
    let mut cluster = start(3, &["--snapshot-count", "100"]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let lagger = (leader + 1) % 3;
    step(&format!("SIGKILL follower s{}", lagger + 1));
    cluster.kill(lagger);

    step("write 600 keys, far past --snapshot-count");
    let mut kv = cluster.kv(leader).await;
    for n in 0..600 {
        put(&mut kv, &format!("/snap/{n:04}"), &format!("value-{n}"))
            .await
            .expect("put");
    }
    let commit = cluster.status(leader).await.expect("status").raft_index;

    step(&format!("restart s{} from its data dir", lagger + 1));
    cluster.start_member(lagger);
    cluster
        .wait_applied(lagger, commit, Duration::from_secs(30))
        .await;
    let installed = cluster
        .metric(lagger, "skiff_store_snapshots_applied_total")
        .await;
    assert!(
        installed.unwrap_or(0.0) >= 1.0,
        "the member caught up without a snapshot (metric {installed:?})"
    );

    step("the member serves every key locally");
    let mut kv = cluster.kv(lagger).await;
    let resp = kv
        .range(RangeRequest {
            key: b"/snap/".to_vec(),
            range_end: prefix_end(b"/snap/"),
            serializable: true,
            ..Default::default()
        })
        .await
        .expect("range")
        .into_inner();
    assert_eq!(resp.kvs.len(), 600);
    assert_eq!(resp.kvs[599].value, b"value-599");

    step("each of the two holds its snapshot as one file beside the database");
    for member in [leader, lagger] {
        let snaps: Vec<String> = std::fs::read_dir(cluster.data_dir(member).join("snap"))
            .expect("the member's snap directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            snaps.len() == 1 && snaps[0].ends_with(".snap"),
            "s{}: {snaps:?}",
            member + 1
        );
    }

    step("and keeps following the log afterwards");
    put(&mut cluster.kv(leader).await, "/snap/after", "x")
        .await
        .expect("put");
    let commit = cluster.status(leader).await.expect("status").raft_index;
    cluster
        .wait_applied(lagger, commit, Duration::from_secs(10))
        .await;
    let got = read_local(&mut kv, "/snap/after").await;
    if got.as_deref() != Ok(&b"x"[..]) {
        let lag = cluster.status(lagger).await;
        let lead = cluster.status(leader).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let later = read_local(&mut kv, "/snap/after").await;
        panic!(
            "s{} lacks /snap/after ({got:?}; 2 s later: {later:?})\nlagger status {lag:?}\nleader status {lead:?}\nlagger log:\n{}",
            lagger + 1,
            cluster.log(lagger)
        );
    }
}
