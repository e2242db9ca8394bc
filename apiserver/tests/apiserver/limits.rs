//! Size limits and event expiry.

use std::time::{Duration, Instant};

use serde_json::json;
use skiff_api::error::Reason;

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_mebibyte_object_is_refused_and_nothing_is_stored() {
    let cluster = Cluster::start(1, &[]).await;
    within(Duration::from_secs(60), "size limit", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        let mut big = pod("big", json!({}));
        big["metadata"]["annotations"] = json!({"blob": "x".repeat(2 * 1024 * 1024)});
        step("create a 2 MiB pod");
        let e = create(&mut c, "pods", "default", &big).await.unwrap_err();
        assert_eq!(reason(&e), Reason::RequestEntityTooLarge, "{}", message(&e));
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(message(&e).contains("limit is 1572864"), "{}", message(&e));
        assert!(
            cluster.store_keys("/registry/pods/").await.is_empty(),
            "nothing stored"
        );
        step("an update or patch growing an object past the limit is refused too");
        let small = create(&mut c, "pods", "default", &pod("small", json!({})))
            .await
            .unwrap();
        let mut grown = small.clone();
        grown["metadata"]["annotations"] = json!({"blob": "x".repeat(2 * 1024 * 1024)});
        assert_eq!(
            reason(&update(&mut c, "pods", "default", &grown).await.unwrap_err()),
            Reason::RequestEntityTooLarge
        );
        let p = json!({"metadata": {"annotations": {"blob": "x".repeat(2 * 1024 * 1024)}}});
        assert_eq!(
            reason(
                &patch(&mut c, "pods", "default", "small", &p)
                    .await
                    .unwrap_err()
            ),
            Reason::RequestEntityTooLarge
        );
        assert_eq!(
            rv(&get(&mut c, "pods", "default", "small").await.unwrap()),
            rv(&small)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_expire_after_the_event_ttl() {
    let cluster = Cluster::start(1, &["--event-ttl", "3s"]).await;
    within(Duration::from_secs(60), "event ttl", async {
        let mut c = cluster.apiservers[0].client(ADMIN).await;
        let ev = |name: &str| {
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Started", "type": "Normal"})
        };
        step("two events written together share one lease");
        create(&mut c, "events", "default", &ev("e1")).await.unwrap();
        create(&mut c, "events", "default", &ev("e2")).await.unwrap();
        let mut kv = cluster.any_kv().await;
        let leases: Vec<i64> = {
            use skiff_proto::etcdserverpb::RangeRequest;
            let r = kv
                .range(RangeRequest { key: b"/registry/events/".to_vec(), range_end: b"/registry/events0".to_vec(), ..Default::default() })
                .await
                .unwrap()
                .into_inner();
            r.kvs.iter().map(|k| k.lease).collect()
        };
        assert_eq!(leases.len(), 2);
        assert!(leases[0] != 0 && leases[0] == leases[1], "{leases:?}");
        step("they are gone after the TTL");
        let started = Instant::now();
        loop {
            let (items, _) = list(&mut c, "events", "default", "", "").await.unwrap();
            if items.is_empty() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "events still there after 30 s");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!("events expired after {:?}", started.elapsed());
        assert!(started.elapsed() >= Duration::from_secs(2), "not before the TTL");
    })
    .await;
}
