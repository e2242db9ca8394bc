//! Every component's `/metrics` answer is valid Prometheus text (read by a strict parser),
//! with its latency histograms filled in, after some real work.

use std::time::Duration;

use skiff_api::types::ReplicationController;
use skiff_testkit::http::http_get;
use skiff_testkit::prometheus;
use skiff_testkit::step;

use crate::util::{cluster, fixture, nodes, wait_running, Runtime, Setup};

#[tokio::test]
async fn every_component_serves_valid_prometheus_text() {
    let (cluster, admin) = cluster(Setup::new(nodes(&["n1"]), Runtime::Fake)).await;

    step("some work for every component: an rc of 2 pods, scheduled, run, reported");
    let mut rc = fixture::<ReplicationController>("rc-crane.yaml");
    rc.spec.replicas = Some(2);
    admin.create(&rc).await.expect("create rc");
    wait_running(&admin, "app=crane", 2, Duration::from_secs(30)).await;

    step("scrape and parse every component's /metrics");
    let histograms = [
        ("store-1", None),
        (
            "apiserver-1",
            Some("skiff_apiserver_request_duration_seconds"),
        ),
        (
            "scheduler-1",
            Some("skiff_scheduler_scheduling_duration_seconds"),
        ),
        (
            "controller-manager-1",
            Some("skiff_controller_sync_duration_seconds"),
        ),
        (
            "nodelet-n1",
            Some("skiff_nodelet_pod_sync_duration_seconds"),
        ),
    ];
    for (component, histogram) in histograms {
        let port = cluster
            .metrics_port(component)
            .unwrap_or_else(|| panic!("{component} serves no metrics"));
        let (status, text) = http_get(port, "/metrics")
            .await
            .unwrap_or_else(|| panic!("{component}'s /metrics did not answer"));
        assert_eq!(status, 200, "{component}");
        let exposition = prometheus::parse(&text)
            .unwrap_or_else(|e| panic!("{component}'s /metrics is not valid Prometheus text: {e}"));
        assert!(!exposition.samples.is_empty(), "{component}: no samples");
        if let Some(name) = histogram {
            assert_eq!(
                exposition.types.get(name).map(String::as_str),
                Some("histogram"),
                "{component}: no histogram {name}"
            );
            let observed: f64 = exposition
                .samples
                .iter()
                .filter(|s| s.name == format!("{name}_count"))
                .map(|s| s.value)
                .sum();
            assert!(observed > 0.0, "{component}: {name} observed nothing");
        }
    }
    drop(cluster);
}
