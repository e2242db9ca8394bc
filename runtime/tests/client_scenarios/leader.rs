//! Leader election between real electors over gRPC: one leader, step-down before expiry, takeover, release, CAS races.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;
use skiff_client::Client;
use skiff_runtime::leader::{read_leader, LeaderConfig, LeaderElector, LeaderStatus};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{client, init_tracing, step, within, FakeServer, Shared};

const NAMESPACE: &str = "kube-system";
const LEASE: &str = "skiff-controller-manager";

/// Counts leaders acting at once, across every elector of a test.
#[derive(Clone, Default)]
struct Acting {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

/// One term of leadership: when its work started and when it saw its token cancelled.
#[derive(Clone, Copy, Debug)]
struct Term {
    started: Instant,
    ended: Option<Instant>,
}

struct Candidate {
    status: watch::Receiver<LeaderStatus>,
    terms: Arc<Mutex<Vec<Term>>>,
    shutdown: CancellationToken,
    handle: JoinHandle<()>,
}

impl Candidate {
    async fn wait_leading(&mut self, secs: u64, what: &str) {
        within(secs, what, self.status.wait_for(|s| s.is_leader))
            .await
            .unwrap();
    }

    fn terms(&self) -> Vec<Term> {
        self.terms.lock().clone()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        within(10, "elector stops on shutdown", self.handle)
            .await
            .unwrap();
    }
}

fn timings(config: &mut LeaderConfig, lease: u64, renew_ms: u64, retry_ms: u64) {
    config.lease_duration = Duration::from_secs(lease);
    config.renew_deadline = Duration::from_millis(renew_ms);
    config.retry_period = Duration::from_millis(retry_ms);
}

fn candidate(client: Client, config: LeaderConfig, acting: &Acting) -> Candidate {
    let elector = LeaderElector::new(client, config).unwrap();
    let status = elector.status();
    let terms = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let (work_terms, acting) = (terms.clone(), acting.clone());
    let handle = tokio::spawn(
        elector.run(shutdown.clone(), move |leading: CancellationToken| {
            let (terms, acting) = (work_terms.clone(), acting.clone());
            async move {
                let index = {
                    let mut terms = terms.lock();
                    terms.push(Term {
                        started: Instant::now(),
                        ended: None,
                    });
                    terms.len() - 1
                };
                let now = acting.now.fetch_add(1, Ordering::SeqCst) + 1;
                acting.most.fetch_max(now, Ordering::SeqCst);
                leading.cancelled().await;
                acting.now.fetch_sub(1, Ordering::SeqCst);
                terms.lock()[index].ended = Some(Instant::now());
            }
        }),
    );
    Candidate {
        status,
        terms,
        shutdown,
        handle,
    }
}

async fn setup(tokens: &[&str]) -> (Arc<Shared>, FakeServer) {
    init_tracing();
    let shared = Shared::new();
    for token in tokens {
        shared.add_token(token, token, "admin");
    }
    let server = FakeServer::start(&shared).await;
    (shared, server)
}

#[tokio::test]
async fn a_leader_that_cannot_renew_stops_before_the_standby_takes_over() {
    let (shared, server) = setup(&["a", "b"]).await;
    let acting = Acting::default();
    let config = |id: &str| {
        let mut c = LeaderConfig::new(NAMESPACE, LEASE, id);
        timings(&mut c, 2, 1000, 250);
        c
    };
    let mut a = candidate(
        client(&[server.endpoint()], Some("a")),
        config("a"),
        &acting,
    );
    a.wait_leading(5, "a leads").await;
    let mut b = candidate(
        client(&[server.endpoint()], Some("b")),
        config("b"),
        &acting,
    );

    step("while a renews, b waits, for longer than the lease duration");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!b.status.borrow().is_leader);
    assert_eq!(b.status.borrow().holder.as_deref(), Some("a"));
    assert_eq!(a.terms().len(), 1);

    step("a is cut off from the apiserver");
    let cut = Instant::now();
    shared.block_token("a", true);
    b.wait_leading(10, "b takes over").await;
    let a_term = a.terms()[0];
    let b_term = b.terms()[0];
    let a_stopped = a_term.ended.expect("a still acts after losing its lease");
    println!(
        "a stopped {:?} after the cut, b started {:?} after it",
        a_stopped - cut,
        b_term.started - cut
    );
    assert!(
        a_stopped - cut <= Duration::from_millis(1500),
        "a acted past its renew deadline"
    );
    assert!(a_stopped < b_term.started, "two leaders acted at once");
    assert!(
        b_term.started - cut >= Duration::from_millis(1500),
        "b took the lease before it could have expired"
    );
    assert_eq!(acting.most.load(Ordering::SeqCst), 1);
    let info = read_leader(&client(&[server.endpoint()], Some("b")), NAMESPACE, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.holder.as_deref(), Some("b"));
    assert_eq!(info.lease_transitions, 1);

    step("a comes back: it sees b's lease and does not lead");
    shared.block_token("a", false);
    within(
        5,
        "a sees b",
        a.status.wait_for(|s| s.holder.as_deref() == Some("b")),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(a.terms().len(), 1);
    assert!(b.status.borrow().is_leader);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_leader_shutting_down_releases_the_lease_for_an_immediate_takeover() {
    let (_shared, server) = setup(&[]).await;
    let acting = Acting::default();
    let config = |id: &str| {
        let mut c = LeaderConfig::new(NAMESPACE, LEASE, id);
        // A long lease: a takeover within a second can only come from the release.
        timings(&mut c, 30, 10_000, 250);
        c
    };
    let mut a = candidate(client(&[server.endpoint()], None), config("a"), &acting);
    a.wait_leading(5, "a leads").await;
    let mut b = candidate(client(&[server.endpoint()], None), config("b"), &acting);
    within(
        5,
        "b sees a",
        b.status.wait_for(|s| s.holder.as_deref() == Some("a")),
    )
    .await
    .unwrap();

    step("a shuts down");
    let stopped = Instant::now();
    let a_terms = a.terms.clone();
    a.stop().await;
    assert!(a_terms.lock()[0].ended.is_some());
    b.wait_leading(3, "b takes the released lease").await;
    assert!(stopped.elapsed() < Duration::from_secs(2));
    let info = read_leader(&client(&[server.endpoint()], None), NAMESPACE, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.holder.as_deref(), Some("b"));
    assert_eq!(info.lease_transitions, 1);
    assert_eq!(acting.most.load(Ordering::SeqCst), 1);
    b.stop().await;
}

#[tokio::test]
async fn a_renewal_that_loses_a_compare_and_swap_race_gives_up_leadership() {
    let (shared, server) = setup(&[]).await;
    let acting = Acting::default();
    let mut config = LeaderConfig::new(NAMESPACE, LEASE, "a");
    timings(&mut config, 2, 1000, 250);
    let mut a = candidate(client(&[server.endpoint()], None), config, &acting);
    a.wait_leading(5, "a leads").await;

    step("another writer takes the lease between a's read and a's write");
    let raced = Arc::new(Mutex::new(None));
    let raced_at = raced.clone();
    shared.before_next_update(
        "leases",
        Box::new(move |state| {
            state
                .patch(
                    "leases",
                    NAMESPACE,
                    LEASE,
                    &json!({"spec": {"holderIdentity": "intruder"}}),
                )
                .unwrap();
            *raced_at.lock() = Some(Instant::now());
        }),
    );
    within(5, "a steps down", a.status.wait_for(|s| !s.is_leader))
        .await
        .unwrap();
    let raced = raced.lock().expect("the race was not staged");
    let ended = a.terms()[0].ended.expect("a's work was not cancelled");
    assert!(
        ended - raced < Duration::from_millis(800),
        "a kept acting after the lease was taken"
    );
    assert_eq!(a.status.borrow().holder.as_deref(), Some("intruder"));

    step("the intruder never renews: a takes the lease back after it expires");
    a.wait_leading(6, "a leads again").await;
    assert!(a.terms()[1].started - raced >= Duration::from_millis(1900));
    let info = read_leader(&client(&[server.endpoint()], None), NAMESPACE, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.holder.as_deref(), Some("a"));
    assert_eq!(
        info.lease_transitions, 1,
        "intruder's write did not count a transition; a's takeover did"
    );
    a.stop().await;
}

#[tokio::test]
async fn of_several_electors_starting_together_exactly_one_leads() {
    let (_shared, server) = setup(&[]).await;
    let acting = Acting::default();
    let mut candidates: Vec<Candidate> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            let mut config = LeaderConfig::new(NAMESPACE, LEASE, id);
            timings(&mut config, 2, 1000, 250);
            candidate(client(&[server.endpoint()], None), config, &acting)
        })
        .collect();
    within(5, "someone leads", async {
        while acting.now.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let leaders: Vec<usize> = (0..3)
        .filter(|&i| candidates[i].status.borrow().is_leader)
        .collect();
    assert_eq!(leaders.len(), 1);
    assert_eq!(acting.most.load(Ordering::SeqCst), 1);
    let leader = ["a", "b", "c"][leaders[0]];
    for c in &mut candidates {
        within(
            5,
            "everyone sees the leader",
            c.status.wait_for(|s| s.holder.as_deref() == Some(leader)),
        )
        .await
        .unwrap();
    }
    for c in candidates {
        c.stop().await;
    }
}
