//! The store client's retry on another member: a first attempt held by a stopped member is
//! never applied after the retry, so a create answered through the retry cannot bring the
//! object back after its delete. Against skiff-store, which honours the client's write fence
//! (etcd ignores it).

use std::time::Duration;

use skiff_apiserver::store::{Cas, Store};
use skiff_testkit::store::{StoreCluster, StoreSpec};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_retried_on_another_member_stays_deleted_when_the_first_member_resumes() {
    let members = StoreCluster::start(&StoreSpec::skiff(3)).await;
    within(Duration::from_secs(90), "retried create", async {
        let leader = members.wait_for_leader(Duration::from_secs(10)).await;
        let held = (leader + 1) % 3;
        let urls = members.client_urls();
        // The held member first, so the client starts there and has a connection to it.
        let ordered: Vec<String> = (0..3).map(|k| urls[(held + k) % 3].clone()).collect();
        let store = Store::new(&ordered, Duration::from_secs(3)).unwrap();
        while store.ping("/").await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let key = "/registry/pods/default/held";

        step("SIGSTOP the member the client talks to; create through the client");
        members
            .process_ref(held)
            .signal(rustix::process::Signal::STOP);
        let (created, retried) = store
            .create_if_absent(key, b"created".to_vec(), 0)
            .await
            .expect("create");
        assert!(retried, "the create was answered by the stopped member");
        let Cas::Done { revision } = created else {
            panic!("the create lost: {created:?}");
        };

        step("delete it, then SIGCONT the member still holding the first attempt");
        let (deleted, _) = store.delete_if(key, revision).await.expect("delete");
        assert!(matches!(deleted, Cas::Done { .. }), "{deleted:?}");
        members
            .process_ref(held)
            .signal(rustix::process::Signal::CONT);

        step("the first attempt never lands: the key stays deleted on every member");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let status = members.status(leader).await.expect("leader status");
        for i in 0..3 {
            members
                .wait_applied(i, status.raft_index, Duration::from_secs(10))
                .await;
        }
        assert_eq!(store.get(key).await.expect("get").map(|kv| kv.value), None);
    })
    .await;
}
