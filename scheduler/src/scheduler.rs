//! The acting scheduler: one task owns the cache and the queue, decides one pod at a time, and writes several bindings at once.
//!
//! Decisions are sequential, so each sees every earlier decision (assumed in the cache);
//! the bindings they produce are written concurrently (up to
//! [`Options::max_binds_in_flight`]), and their results come back to the same task. Cluster
//! events arrive through the [`EventSink`](crate::sources::EventSink) and are applied
//! between decisions.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use skiff_api::error::ApiError;
use skiff_api::types::{object_reference, Pod};
use skiff_client::Client;
use skiff_runtime::events::EventRecorder;
use skiff_runtime::informer::key_of;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{Id, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::actions::{mark_unschedulable, says_unschedulable, Binding};
use crate::algorithm::info::{needs_scheduling, PodInfo};
use crate::cache::Cache;
use crate::metrics::Metrics;
use crate::queue::SchedulingQueue;
use crate::sources::{ClusterEvent, Sources};

/// Tunables of the loop (not flags: the defaults suit every skiff cluster).
#[derive(Clone, Debug)]
pub struct Options {
    /// Bindings written at the same time.
    pub max_binds_in_flight: usize,
    /// Status writes (PodScheduled=False) at the same time.
    pub max_status_writes: usize,
    /// Decisions between two looks at new events.
    pub batch: usize,
    /// First back-off of a pod that failed; doubles per failure.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Every this often, pods that fit nowhere are retried even without an event.
    pub retry_unschedulable_every: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_binds_in_flight: 256,
            max_status_writes: 16,
            batch: 32,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
            retry_unschedulable_every: Duration::from_secs(30),
        }
    }
}

/// Everything a term of the scheduler needs; cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    pub client: Client,
    pub sources: Sources,
    /// `default-scheduler` events; none in benchmarks.
    pub recorder: Option<EventRecorder>,
    pub metrics: Arc<Metrics>,
    pub options: Options,
}

impl Scheduler {
    /// Schedules until `cancel` fires (the end of a leadership term, or shutdown).
    pub async fn run(self, cancel: CancellationToken) {
        let events = self.sources.sink.connect();
        tokio::select! {
            _ = cancel.cancelled() => {
                self.sources.sink.disconnect();
                return;
            }
            _ = self.sources.wait_synced() => {}
        }
        self.metrics.synced.store(true, Ordering::Relaxed);
        self.metrics.leader.store(true, Ordering::Relaxed);
        info!("scheduling");
        let metrics = self.metrics.clone();
        let sink = self.sources.sink.clone();
        let mut term = Term::new(self, events);
        term.snapshot();
        term.run(cancel).await;
        sink.disconnect();
        metrics.leader.store(false, Ordering::Relaxed);
        info!("stopped scheduling");
    }
}

/// A written binding and what the apiserver said.
type BindResult = (Binding, Result<(), ApiError>);

/// The state of one term: built from the caches when it starts, dropped when it ends
/// (in-flight bindings are abandoned; the apiserver binds a pod at most once).
struct Term {
    s: Scheduler,
    cache: Cache,
    queue: SchedulingQueue,
    events: mpsc::UnboundedReceiver<ClusterEvent>,
    binds: JoinSet<BindResult>,
    /// Which pod each binding task is for, to forget its assumption should the task die.
    bind_tasks: HashMap<Id, (String, String)>,
    writes: JoinSet<()>,
    write_slots: Arc<Semaphore>,
}

impl Term {
    fn new(s: Scheduler, events: mpsc::UnboundedReceiver<ClusterEvent>) -> Term {
        let queue = SchedulingQueue::new(s.options.initial_backoff, s.options.max_backoff);
        let write_slots = Arc::new(Semaphore::new(s.options.max_status_writes.max(1)));
        Term {
            s,
            cache: Cache::new(),
            queue,
            events,
            binds: JoinSet::new(),
            bind_tasks: HashMap::new(),
            writes: JoinSet::new(),
            write_slots,
        }
    }

    /// Loads every node, then every pod, from the informers' caches.
    fn snapshot(&mut self) {
        for node in self.s.sources.nodes.list() {
            self.cache.upsert_node(node);
        }
        for pod in self.s.sources.pods.list() {
            self.on_pod(&pod);
        }
        info!(
            nodes = self.cache.node_count(),
            bound = self.cache.pod_count(),
            waiting = self.queue.counts().active,
            "cache loaded"
        );
    }

    async fn run(&mut self, cancel: CancellationToken) {
        let every = self.s.options.retry_unschedulable_every;
        let mut retry = tokio::time::interval_at(Instant::now() + every, every);
        retry.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            if cancel.is_cancelled() {
                return;
            }
            while let Ok(event) = self.events.try_recv() {
                self.on_event(event);
            }
            while let Some(done) = self.binds.try_join_next_with_id() {
                self.on_bind_done(done);
            }
            while self.writes.try_join_next().is_some() {}
            self.queue.flush_backoff(Instant::now());
            let mut decided = 0;
            while decided < self.s.options.batch
                && self.binds.len() < self.s.options.max_binds_in_flight
                && self.schedule_one()
            {
                decided += 1;
            }
            *self.s.metrics.queue.lock() = self.queue.counts();
            if decided == self.s.options.batch {
                // More may be waiting: let the binding tasks run, then go on.
                tokio::task::yield_now().await;
                continue;
            }
            let backoff_ends = self.queue.next_backoff();
            tokio::select! {
                _ = cancel.cancelled() => return,
                event = self.events.recv() => match event {
                    Some(event) => self.on_event(event),
                    None => return,
                },
                Some(done) = self.binds.join_next_with_id(), if !self.binds.is_empty() => self.on_bind_done(done),
                Some(_) = self.writes.join_next(), if !self.writes.is_empty() => {}
                _ = sleep_until(backoff_ends), if backoff_ends.is_some() => {}
                _ = retry.tick() => {
                    let moved = self.queue.move_all_to_active(Instant::now());
                    if moved > 0 {
                        debug!(moved, "retrying pods that fit nowhere");
                    }
                }
            }
        }
    }

    fn on_event(&mut self, event: ClusterEvent) {
        match event {
            ClusterEvent::Pod(pod) => self.on_pod(&pod),
            ClusterEvent::PodGone(pod) => {
                let key = key_of(&*pod);
                self.queue.remove_uid(&key, &pod.metadata.uid);
                if self.cache.remove_pod(&pod) {
                    self.cluster_changed();
                }
            }
            ClusterEvent::Node(node) => {
                if self.cache.upsert_node(node) {
                    self.cluster_changed();
                }
            }
            ClusterEvent::NodeGone(node) => self.cache.remove_node(&node.metadata.name),
        }
    }

    fn on_pod(&mut self, pod: &Pod) {
        let key = key_of(pod);
        let freed = self.cache.upsert_pod(pod);
        if needs_scheduling(pod) {
            if !self.cache.is_assumed(&key) {
                self.queue.add(&key, &pod.metadata.uid, Instant::now());
            }
        } else {
            self.queue.remove(&key);
        }
        if freed {
            self.cluster_changed();
        }
    }

    /// A node appeared or changed, or resources were freed: pods that fit nowhere try again.
    fn cluster_changed(&mut self) {
        self.queue.move_all_to_active(Instant::now());
    }

    /// Decides for the next waiting pod; false when none waits.
    fn schedule_one(&mut self) -> bool {
        let Some(popped) = self.queue.pop() else {
            return false;
        };
        let pod = match self.s.sources.pods.get_by_key(&popped.key) {
            Some(pod) if pod.metadata.uid == popped.uid && needs_scheduling(&pod) => pod,
            _ => {
                self.queue.remove_uid(&popped.key, &popped.uid);
                return true;
            }
        };
        if self.cache.is_assumed(&popped.key) {
            self.queue.remove_uid(&popped.key, &popped.uid);
            return true;
        }
        let info = PodInfo::new(&pod);
        let started = std::time::Instant::now();
        let decision = self
            .cache
            .place(&info)
            .map(|p| (p.node.to_string(), p.explanation()));
        self.s.metrics.algorithm_latency.observe(started.elapsed());
        match decision {
            Ok((node, explanation)) => {
                self.cache.assume(&popped.key, &popped.uid, &node, info);
                let binding = Binding {
                    pod: object_reference(&*pod),
                    key: popped.key.clone(),
                    node,
                    explanation,
                    first_seen: popped.first_seen,
                };
                let handle = self.binds.spawn(binding.write(self.s.client.clone()));
                self.bind_tasks
                    .insert(handle.id(), (popped.key, popped.uid));
            }
            Err(unschedulable) => {
                Metrics::inc(&self.s.metrics.unschedulable);
                self.queue.unschedulable(&popped.key, Instant::now());
                debug!(pod = %popped.key, attempts = popped.attempts + 1, "{unschedulable}");
                self.report_unschedulable(pod, unschedulable.message);
            }
        }
        true
    }

    fn report_unschedulable(&mut self, pod: Arc<Pod>, message: String) {
        if let Some(recorder) = &self.s.recorder {
            recorder.warning(
                &object_reference(&*pod),
                "FailedScheduling",
                message.clone(),
            );
        }
        if says_unschedulable(&pod, &message) {
            return;
        }
        let client = self.s.client.clone();
        let slots = self.write_slots.clone();
        self.writes.spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            if let Err(e) = mark_unschedulable(&client, &pod, &message).await {
                warn!(pod = %key_of(&*pod), "cannot set PodScheduled=False: {e}");
            }
        });
    }

    fn on_bind_done(&mut self, done: Result<(Id, BindResult), tokio::task::JoinError>) {
        let now = Instant::now();
        let (id, (binding, result)) = match done {
            Ok(done) => done,
            Err(e) => {
                warn!("a binding task died: {e}");
                if let Some((key, uid)) = self.bind_tasks.remove(&e.id()) {
                    self.bind_failed(&key, &uid, now, true);
                }
                return;
            }
        };
        self.bind_tasks.remove(&id);
        let (key, uid) = (binding.key.clone(), binding.pod.uid.clone());
        match result {
            Ok(()) => {
                Metrics::inc(&self.s.metrics.scheduled);
                self.s
                    .metrics
                    .scheduling_latency
                    .observe(binding.first_seen.elapsed());
                debug!(pod = %key, node = %binding.node, "bound");
                if let Some(recorder) = &self.s.recorder {
                    recorder.normal(&binding.pod, "Scheduled", binding.event_message());
                }
                self.queue.remove_uid(&key, &uid);
            }
            Err(e) => {
                Metrics::inc(&self.s.metrics.bind_errors);
                // Conflict: already bound, being deleted, or replaced by a new pod of the same
                // name; NotFound: deleted. The watch shows what happened; nothing to retry.
                let final_answer = e.is_conflict() || e.is_not_found();
                if final_answer {
                    info!(pod = %key, node = %binding.node, "binding refused: {e}");
                } else {
                    warn!(pod = %key, node = %binding.node, "binding failed, will retry: {e}");
                }
                self.bind_failed(&key, &uid, now, !final_answer);
            }
        }
    }

    fn bind_failed(&mut self, key: &str, uid: &str, now: Instant, retry: bool) {
        let freed = self.cache.forget(key, uid);
        if retry && self.queue.is_binding(key, uid) {
            self.queue.retry_later(key, now);
        } else {
            self.queue.remove_uid(key, uid);
        }
        if freed {
            self.cluster_changed();
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
