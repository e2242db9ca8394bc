//! Failover between apiserver endpoints, and which requests may be repeated on another one.

use skiff_api::error::Reason;
use skiff_api::types::Pod;
use skiff_client::ListOptions;

use crate::fake::dead_endpoint;
use crate::{client, init_tracing, pod, step, within, FakeServer, Shared};

#[tokio::test]
async fn a_dead_first_endpoint_is_skipped_and_the_working_one_remembered() {
    init_tracing();
    let shared = Shared::new();
    let live = FakeServer::start(&shared).await;
    let client = client(&[dead_endpoint(), live.endpoint()], None);
    within(20, "failover from a dead endpoint", async {
        step("a write fails over: a refused connection means it was never sent");
        client.create(&pod("default", "a", "x")).await.unwrap();
        assert_eq!(
            client.current_endpoint(),
            format!("http://{}", live.endpoint())
        );
        step("later requests go straight to the working endpoint");
        let before = live.requests();
        for _ in 0..3 {
            client.get::<Pod>("default", "a").await.unwrap();
        }
        assert_eq!(live.requests(), before + 3);
    })
    .await;
}

#[tokio::test]
async fn requests_move_to_the_second_apiserver_when_the_first_stops_and_stay_there() {
    init_tracing();
    let shared = Shared::new();
    let first = FakeServer::start(&shared).await;
    let second = FakeServer::start(&shared).await;
    let first_addr = first.addr;
    let client = client(&[first.endpoint(), second.endpoint()], None);
    within(30, "failover between two apiservers", async {
        step("both up: the first endpoint serves");
        client.create(&pod("default", "a", "x")).await.unwrap();
        assert_eq!(first.requests(), 1);
        assert_eq!(second.requests(), 0);

        step("the first stops: reads and writes go to the second");
        first.stop().await;
        client.create(&pod("default", "b", "x")).await.unwrap();
        let pods = client
            .list::<Pod>(Some("default"), &ListOptions::default())
            .await
            .unwrap();
        assert_eq!(pods.items.len(), 2);
        assert_eq!(
            client.current_endpoint(),
            format!("http://{}", second.endpoint())
        );

        step("the first comes back on its port: the client stays with the second");
        let first = FakeServer::start_on(&shared, first_addr).await;
        let before = second.requests();
        client.get::<Pod>("default", "b").await.unwrap();
        assert_eq!(first.requests(), 0);
        assert_eq!(second.requests(), before + 1);

        step("with every endpoint down the error names them all");
        first.stop().await;
        second.stop().await;
        let error = client.get::<Pod>("default", "b").await.unwrap_err();
        assert_eq!(error.reason, Reason::ServiceUnavailable);
        assert!(error.message.contains(&first_addr.to_string()), "{error}");
    })
    .await;
}

#[tokio::test]
async fn an_ambiguous_failure_repeats_only_what_is_safe_to_repeat() {
    init_tracing();
    let shared = Shared::new();
    let flaky = FakeServer::start(&shared).await;
    let healthy = FakeServer::start(&shared).await;
    let client = client(&[flaky.endpoint(), healthy.endpoint()], None);
    within(20, "retry classes", async {
        client.create(&pod("default", "a", "x")).await.unwrap();
        flaky.set_flaky_writes(true);

        step("a create that broke mid-request is not sent again");
        let before = healthy.requests();
        let error = client.create(&pod("default", "b", "x")).await.unwrap_err();
        assert_eq!(error.reason, Reason::ServiceUnavailable);
        assert!(
            error.message.contains("may or may not have been applied"),
            "{error}"
        );
        assert_eq!(
            healthy.requests(),
            before,
            "an unsafe write was repeated on another apiserver"
        );

        step("so is an update without a resourceVersion");
        let mut current: Pod = client.get("default", "a").await.unwrap();
        let before = healthy.requests();
        let mut blind = current.clone();
        blind.metadata.resource_version.clear();
        assert!(client.update(&blind).await.is_err());
        assert_eq!(healthy.requests(), before);

        step("a compare-and-swap update is repeated: it cannot apply twice");
        current
            .metadata
            .labels
            .insert("v".to_string(), "2".to_string());
        let updated = client.update(&current).await.unwrap();
        assert_eq!(updated.metadata.labels["v"], "2");
        assert_eq!(healthy.requests(), before + 1);
    })
    .await;
}
