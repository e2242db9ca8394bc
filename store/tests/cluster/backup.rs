//! Backups with etcdctl (URL-form endpoints): `snapshot save` during writes, restored
//! with `skiff-store restore` into a new 3-member cluster holding exactly the
//! snapshot's keys and revisions; `endpoint hashkv` equal on all six members; damaged
//! snapshot files refused before anything is created.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use skiff_common::launch::StorePlan;
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::{DeleteRangeRequest, RangeRequest};
use skiff_testkit::process::Process;

use crate::etcdctl::{etcdctl, ok};
use crate::grow::Writer;
use crate::util::*;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_skiff-store"))
}

/// `skiff-store restore --snapshot FILE` with member `i`'s flags.
fn restore(file: &Path, plan: &StorePlan, i: usize) -> std::process::Output {
    Command::new(binary())
        .arg("restore")
        .arg("--snapshot")
        .arg(file)
        .args(plan.args(i))
        .output()
        .expect("skiff-store restore runs")
}

/// Every key of the store at `revision`, as the member at `url` has it.
async fn everything_at(url: &str, revision: i64) -> Vec<(Vec<u8>, Vec<u8>, i64, i64, i64)> {
    let mut kv = KvClient::new(channel(url).await);
    let resp = kv
        .range(RangeRequest {
            key: vec![0],
            range_end: vec![0],
            revision,
            serializable: true,
            ..Default::default()
        })
        .await
        .expect("range at the snapshot's revision")
        .into_inner();
    resp.kvs
        .into_iter()
        .map(|kv| {
            (
                kv.key,
                kv.value,
                kv.create_revision,
                kv.mod_revision,
                kv.version,
            )
        })
        .collect()
}

/// `etcdctl endpoint hashkv --rev REV` over `urls`: one hash per endpoint.
fn hashes(urls: &[String], revision: i64) -> Vec<String> {
    let out = ok(
        &urls.join(","),
        &["endpoint", "hashkv", "--rev", &revision.to_string()],
    );
    let hashes: Vec<String> = out
        .lines()
        .map(|l| l.rsplit(", ").next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(hashes.len(), urls.len(), "{out}");
    hashes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_saved_during_writes_restores_into_a_new_cluster() {
    let source = start(3, &[]).await;
    let urls = source.client_urls();
    let ep = urls[0].clone();
    step("history with overwrites, deletes and a compaction");
    let mut kv = KvClient::new(channel(&ep).await);
    for i in 0..200 {
        put(&mut kv, &format!("/pre/{}", i % 50), &format!("v{i}"))
            .await
            .expect("put");
    }
    kv.delete_range(DeleteRangeRequest {
        key: b"/pre/7".to_vec(),
        ..Default::default()
    })
    .await
    .expect("delete");
    ok(&ep, &["compact", "120"]);
    let writer = Writer::start(Arc::new(Mutex::new(urls.clone())));
    tokio::time::sleep(Duration::from_millis(300)).await;

    step("snapshot save while writes go on");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("backup.db");
    let saved = ok(&ep, &["snapshot", "save", &file.display().to_string()]);
    assert!(saved.contains("Snapshot saved at"), "{saved}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer.finish().await;

    step("damaged snapshot files are refused before anything is created");
    let bytes = std::fs::read(&file).expect("snapshot file");
    let mut plan = StorePlan::new(3, dir.path(), |i| format!("r{i}"), false, free_port);
    plan.cluster_token = Some("restored".into());
    let truncated = dir.path().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).expect("write");
    let mut tampered_bytes = bytes.clone();
    let middle = tampered_bytes.len() / 2;
    tampered_bytes[middle] ^= 0x55;
    let tampered = dir.path().join("tampered.db");
    std::fs::write(&tampered, &tampered_bytes).expect("write");
    for bad in [&truncated, &tampered] {
        let out = restore(bad, &plan, 0);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad:?} was restored");
        assert!(stderr.contains("integrity hash mismatch"), "{stderr}");
        assert!(
            !plan.members[0].data_dir.exists(),
            "{bad:?} left a data dir"
        );
    }

    step("restore into a new 3-member cluster");
    let mut members = Vec::new();
    for i in 0..3 {
        let out = restore(&file, &plan, i);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = dir.path().join(format!("r{i}.log"));
        let mut p = Process::new(&plan.members[i].name, binary(), plan.args(i), log);
        p.start();
        members.push(p);
    }
    let restored_urls = plan.client_urls();
    let statuses = skiff_testkit::wait_for(
        "the restored cluster to elect",
        Duration::from_secs(30),
        || {
            let urls = restored_urls.clone();
            async move {
                let views =
                    skiff_testkit::store::views(&urls, None, Duration::from_millis(500)).await;
                skiff_testkit::store::leader_index(&views, &[0, 1, 2])?;
                skiff_testkit::store::status(&urls[0], None, Duration::from_millis(500)).await
            }
        },
    )
    .await;
    let header = statuses.header.expect("header");
    let revision = header.revision;
    let source_header = skiff_testkit::store::status(&ep, None, Duration::from_secs(1))
        .await
        .and_then(|s| s.header)
        .expect("source status");
    assert_ne!(
        header.cluster_id, source_header.cluster_id,
        "a new cluster id"
    );
    assert!(
        revision > 201,
        "snapshot taken after the writes began: {revision}"
    );

    step("every key at the snapshot's revision, with its revisions");
    let want = everything_at(&ep, revision).await;
    assert!(want.len() > 49, "{} keys", want.len());
    for url in &restored_urls {
        assert_eq!(everything_at(url, revision).await, want, "{url}");
    }
    let old = etcdctl(&restored_urls[1], &["get", "/pre/1", "--rev", "100"]);
    let stderr = String::from_utf8_lossy(&old.stderr);
    assert!(
        stderr.contains("compacted"),
        "compaction carried over: {stderr}"
    );

    step("endpoint hashkv equal on all six members at that revision");
    let mut all = urls.clone();
    all.extend(restored_urls.iter().cloned());
    let hashes = hashes(&all, revision);
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    drop(members);
}
