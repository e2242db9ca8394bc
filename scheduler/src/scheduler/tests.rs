//! The loop's bookkeeping without an apiserver: decisions see earlier assumptions, a failed
//! binding gives its resources back and is retried, refused bindings are final, and the
//! watch confirms successful ones.

use std::sync::Arc;
use std::time::Duration;

use skiff_api::meta::Condition;
use skiff_api::quantity::Quantity;
use skiff_api::types::{Container, Node, Pod, Resource};
use skiff_client::{Client, ClientConfig};
use skiff_runtime::informer::Store;

use super::*;
use crate::queue::Stage;

fn node(name: &str, cpu: &str) -> Node {
    let mut n = Node::named("", name);
    for (k, v) in [("cpu", cpu), ("memory", "8Gi"), ("pods", "110")] {
        n.status.allocatable.insert(k.into(), Quantity(v.into()));
    }
    n.status
        .conditions
        .push(Condition::new("Ready", true, "", ""));
    n
}

fn pod(name: &str, cpu: &str) -> Pod {
    let mut p = Pod::named("default", name);
    p.metadata.uid = format!("uid-{name}");
    let mut c = Container::default();
    c.resources
        .requests
        .insert("cpu".into(), Quantity(cpu.into()));
    p.spec.containers.push(c);
    p
}

/// A term over fixed caches; its client points at a closed port, so every real binding
/// fails to connect.
fn term(nodes: Vec<Node>, pods: Vec<Pod>) -> Term {
    let config = ClientConfig::new(["127.0.0.1:1"]).with_timeout(Duration::from_millis(500));
    let sources = Sources::detached(Store::from_objects(pods), Store::from_objects(nodes));
    let events = sources.sink.connect();
    let scheduler = Scheduler {
        client: Client::new(config).unwrap(),
        sources,
        recorder: None,
        metrics: Arc::default(),
        options: Options::default(),
    };
    let mut term = Term::new(scheduler, events);
    term.snapshot();
    term
}

fn count(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Replaces the real outcome of the one binding in flight with `result`.
async fn finish_binding(term: &mut Term, result: Result<(), ApiError>) {
    let (&id, (key, uid)) = term.bind_tasks.iter().next().expect("a binding in flight");
    let (key, uid) = (key.clone(), uid.clone());
    term.binds.abort_all();
    while term.binds.join_next().await.is_some() {}
    let pod = term.s.sources.pods.get_by_key(&key).unwrap();
    assert_eq!(pod.metadata.uid, uid);
    let node = term.cache.node_of(&key).unwrap().to_string();
    let binding = Binding {
        pod: object_reference(&*pod),
        key,
        node,
        explanation: String::new(),
        first_seen: Instant::now(),
    };
    term.on_bind_done(Ok((id, (binding, result))));
}

#[tokio::test]
async fn decisions_see_assumed_pods_and_a_failed_binding_is_undone_and_retried() {
    let mut term = term(
        vec![node("n1", "1")],
        vec![pod("a", "600m"), pod("b", "600m")],
    );
    assert_eq!(term.queue.counts().active, 2);
    assert!(term.schedule_one() && term.schedule_one());
    let (a_node, b_node) = (
        term.cache.node_of("default/a"),
        term.cache.node_of("default/b"),
    );
    // The store lists pods in no particular order, so either may be decided first.
    let (placed, waiting) = match (a_node, b_node) {
        (Some("n1"), None) => ("default/a", "default/b"),
        (None, Some("n1")) => ("default/b", "default/a"),
        other => panic!("exactly one pod fits: {other:?}"),
    };
    assert!(term.cache.is_assumed(placed));
    assert_eq!(term.queue.stage(placed), Some(Stage::Binding));
    assert_eq!(term.queue.stage(waiting), Some(Stage::Unschedulable));
    assert_eq!(count(&term.s.metrics.unschedulable), 1);
    assert!(!term.schedule_one(), "nothing else waits");

    // The real binding cannot connect: a passing failure.
    let done = term.binds.join_next_with_id().await.unwrap();
    term.on_bind_done(done);
    assert_eq!(count(&term.s.metrics.bind_errors), 1);
    assert_eq!(
        term.cache.node_of(placed),
        None,
        "the assumption is forgotten"
    );
    assert_eq!(
        term.queue.stage(placed),
        Some(Stage::Backoff),
        "retried after a back-off"
    );
    // Forgetting freed the node: the parked pod is moved back (it still waits out its back-off).
    assert_eq!(term.queue.stage(waiting), Some(Stage::Backoff));
    term.queue
        .flush_backoff(Instant::now() + Duration::from_secs(10));
    assert!(term.schedule_one());
    assert!(term.cache.node_of(placed).is_some() || term.cache.node_of(waiting).is_some());
}

#[tokio::test]
async fn refused_bindings_are_final_and_successful_ones_wait_for_the_watch() {
    let mut term = term(vec![node("n1", "4")], vec![pod("a", "1")]);
    assert!(term.schedule_one());
    finish_binding(
        &mut term,
        Err(ApiError::conflict(
            "pods/binding",
            "a",
            "pod a is already assigned to node \"n2\"",
        )),
    )
    .await;
    assert_eq!(term.cache.node_of("default/a"), None);
    assert_eq!(
        term.queue.stage("default/a"),
        None,
        "not retried: the watch will show the binding"
    );
    assert_eq!(count(&term.s.metrics.bind_errors), 1);

    let mut term = self::term(vec![node("n1", "4")], vec![pod("a", "1")]);
    assert!(term.schedule_one());
    finish_binding(&mut term, Err(ApiError::not_found("pods", "a"))).await;
    assert_eq!(
        (
            term.cache.node_of("default/a"),
            term.queue.stage("default/a")
        ),
        (None, None)
    );

    let mut term = self::term(vec![node("n1", "4")], vec![pod("a", "1")]);
    assert!(term.schedule_one());
    finish_binding(&mut term, Ok(())).await;
    assert_eq!(count(&term.s.metrics.scheduled), 1);
    assert_eq!(term.queue.stage("default/a"), None);
    assert!(
        term.cache.is_assumed("default/a"),
        "counted until the watch shows the binding"
    );
    // A late event from before the binding does not queue the pod again.
    term.on_event(ClusterEvent::Pod(Arc::new(pod("a", "1"))));
    assert_eq!(term.queue.stage("default/a"), None);
    let mut bound = pod("a", "1");
    bound.spec.node_name = "n1".into();
    term.on_event(ClusterEvent::Pod(Arc::new(bound)));
    assert!(!term.cache.is_assumed("default/a"));
    assert_eq!(term.cache.node_of("default/a"), Some("n1"));
}

#[tokio::test]
async fn cluster_events_wake_parked_pods() {
    let hog = || {
        let mut hog = pod("hog", "1");
        hog.spec.node_name = "n1".into();
        hog
    };
    let mut term = term(vec![node("n1", "1")], vec![hog(), pod("a", "1")]);
    assert!(term.schedule_one());
    assert_eq!(term.queue.stage("default/a"), Some(Stage::Unschedulable));
    // A heartbeat-like update changes nothing the scheduler looks at: the pod stays parked.
    term.on_event(ClusterEvent::Node(Arc::new(node("n1", "1"))));
    assert_eq!(term.queue.stage("default/a"), Some(Stage::Unschedulable));
    // The hog goes away: the pod is moved back.
    term.on_event(ClusterEvent::PodGone(Arc::new(hog())));
    assert_ne!(term.queue.stage("default/a"), Some(Stage::Unschedulable));

    let mut term = self::term(vec![node("n1", "1")], vec![hog(), pod("a", "1")]);
    assert!(term.schedule_one());
    // A new node: moved back.
    term.on_event(ClusterEvent::Node(Arc::new(node("n2", "2"))));
    assert_ne!(term.queue.stage("default/a"), Some(Stage::Unschedulable));
    // A deleted pending pod leaves the queue.
    term.on_event(ClusterEvent::PodGone(Arc::new(pod("a", "1"))));
    assert_eq!(term.queue.stage("default/a"), None);
}
