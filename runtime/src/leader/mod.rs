//! Leader election over a `coordination.k8s.io/v1` Lease, with client-go's semantics: one leader, which stops acting before its lease can expire for others.
//!
//! Every elector reads the lease every `retry_period`. A lease held by another identity is
//! taken over only when it has not changed for its `leaseDurationSeconds` as observed on the
//! local clock, never by comparing the holder's `renewTime` with ours. Every write is a
//! compare-and-swap on the lease's resourceVersion, so of two electors racing for an expired
//! lease exactly one wins; the other gets Conflict and keeps waiting.
//!
//! The leader renews every `retry_period`. If no renewal has succeeded within
//! `renew_deadline` of the last successful one, it cancels the token it gave its work and
//! campaigns again. Since the timer starts when the successful renewal was *sent*, and every
//! other elector restarts its expiry timer no earlier than when it *saw* that renewal, the
//! leader stops at least `lease_duration - renew_deadline` before anyone else may take over.
//! A leader that shuts down (or whose work ends) waits for its work to finish and then, if
//! `release_on_cancel`, releases the lease so a standby takes over at once.

mod record;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn, Instrument};

use record::{Decision, ElectionState};
use skiff_api::error::ApiError;
use skiff_api::meta::{MicroTime, ObjectMeta};
use skiff_api::types::Lease;
use skiff_client::Client;

/// client-go's `JitterFactor`: the renew deadline must leave room for a jittered retry.
const JITTER_FACTOR: f64 = 1.2;

/// Where the lease lives, who we are, and the timings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    /// Usually `kube-system`.
    pub namespace: String,
    /// The lease's name, e.g. `skiff-controller-manager`.
    pub name: String,
    /// Unique per process (host name plus a random suffix, for example).
    pub identity: String,
    /// How long a standby waits after the lease last changed before taking it over.
    pub lease_duration: Duration,
    /// How long the leader keeps acting without a successful renewal.
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews.
    pub retry_period: Duration,
    /// Give the lease up when stopping, so a standby does not wait out the lease.
    pub release_on_cancel: bool,
}

impl LeaderConfig {
    /// Kubernetes' defaults: 15 s lease, 10 s renew deadline, 2 s retry period, release on
    /// shutdown.
    pub fn new(namespace: &str, name: &str, identity: &str) -> LeaderConfig {
        LeaderConfig {
            namespace: namespace.to_string(),
            name: name.to_string(),
            identity: identity.to_string(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            release_on_cancel: true,
        }
    }

    /// Checks `lease_duration > renew_deadline > 1.2 * retry_period > 0` (client-go's rules).
    pub fn validate(&self) -> Result<(), LeaderError> {
        let invalid = |why: String| Err(LeaderError::InvalidConfig(why));
        if self.name.is_empty() || self.namespace.is_empty() {
            return invalid("the lease needs a namespace and a name".to_string());
        }
        if self.identity.is_empty() {
            return invalid("the identity must not be empty".to_string());
        }
        if self.retry_period.is_zero() {
            return invalid("retry period must be greater than zero".to_string());
        }
        if self.lease_duration <= self.renew_deadline {
            return invalid(format!(
                "lease duration ({:?}) must be greater than the renew deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64() {
            return invalid(format!(
                "renew deadline ({:?}) must be greater than {JITTER_FACTOR} x the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaderError {
    #[error("invalid leader election configuration: {0}")]
    InvalidConfig(String),
}

/// What an elector last knew about the election.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderStatus {
    /// The holder of the lease as last read; `None` when free or not read yet.
    pub holder: Option<String>,
    /// True while this elector's work runs as leader.
    pub is_leader: bool,
}

/// The lease as stored, for `skiff status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderInfo {
    pub holder: Option<String>,
    pub lease_duration_seconds: Option<i32>,
    pub acquire_time: Option<MicroTime>,
    pub renew_time: Option<MicroTime>,
    pub lease_transitions: i32,
}

/// Reads who holds the lease `namespace/name`; `None` when there is no lease yet.
pub async fn read_leader(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<LeaderInfo>, ApiError> {
    let lease = client.get_opt::<Lease>(namespace, name).await?;
    Ok(lease.map(|lease| LeaderInfo {
        holder: record::holder(&lease.spec).map(str::to_string),
        lease_duration_seconds: lease.spec.lease_duration_seconds,
        acquire_time: lease.spec.acquire_time,
        renew_time: lease.spec.renew_time,
        lease_transitions: lease.spec.lease_transitions.unwrap_or(0),
    }))
}

/// The result of one try to acquire or renew.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Leading,
    HeldBy(String),
    /// Someone wrote the lease between our read and our write.
    Conflict,
}

/// Why a term ended.
enum TermEnd {
    Lost,
    Shutdown,
    WorkEnded,
}

fn work_ended(result: Result<(), tokio::task::JoinError>) -> TermEnd {
    match result {
        Err(e) if e.is_panic() => error!("the leader's work panicked"),
        _ => info!("the leader's work returned"),
    }
    TermEnd::WorkEnded
}

/// Campaigns for a lease and runs the leader's work while it holds it.
pub struct LeaderElector {
    client: Client,
    config: LeaderConfig,
    state: ElectionState,
    status: watch::Sender<LeaderStatus>,
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaderConfig) -> Result<LeaderElector, LeaderError> {
        config.validate()?;
        let state = ElectionState::new(&config.identity, config.lease_duration);
        Ok(LeaderElector {
            client,
            config,
            state,
            status: watch::Sender::new(LeaderStatus::default()),
        })
    }

    /// Follows who leads; the receiver stays valid after [`LeaderElector::run`] returns.
    pub fn status(&self) -> watch::Receiver<LeaderStatus> {
        self.status.subscribe()
    }

    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// Campaigns until `shutdown` fires. Each time it becomes leader it calls `work` with a
    /// token that is cancelled when leadership ends; a new term starts only after the previous
    /// term's work has returned. Returns when `shutdown` fires or when the work returns on its
    /// own (the lease is then released if `release_on_cancel`).
    pub async fn run<F, Fut>(mut self, shutdown: CancellationToken, mut work: F)
    where
        F: FnMut(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let span = tracing::info_span!("leader election", lease = %format!("{}/{}", self.config.namespace, self.config.name), identity = %self.config.identity);
        async move {
            loop {
                if !self.acquire(&shutdown).await {
                    return;
                }
                let leading = shutdown.child_token();
                self.status.send_modify(|s| s.is_leader = true);
                info!("became leader");
                let mut task = tokio::spawn(work(leading.clone()));
                let end = self.lead(&shutdown, &mut task).await;
                leading.cancel();
                self.status.send_modify(|s| s.is_leader = false);
                // After WorkEnded the task has been awaited already.
                if !matches!(end, TermEnd::WorkEnded) {
                    debug!("waiting for the leader's work to stop");
                    if let Err(e) = task.await {
                        if e.is_panic() {
                            error!("the leader's work panicked");
                        }
                    }
                }
                match end {
                    TermEnd::Lost => {
                        warn!("stopped leading: the lease could not be renewed in time");
                        self.state.forget();
                    }
                    TermEnd::Shutdown | TermEnd::WorkEnded => {
                        info!("stopped leading");
                        if self.config.release_on_cancel {
                            self.release().await;
                        }
                        return;
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    fn jittered_retry(&self) -> Duration {
        self.config
            .retry_period
            .mul_f64(1.0 + rand::random::<f64>() * (JITTER_FACTOR - 1.0))
    }

    /// Tries every (jittered) retry period until it leads; false on shutdown.
    async fn acquire(&mut self, shutdown: &CancellationToken) -> bool {
        loop {
            if shutdown.is_cancelled() {
                return false;
            }
            let attempt = tokio::select! {
                _ = shutdown.cancelled() => return false,
                attempt = tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew()) => attempt,
            };
            match attempt {
                Ok(Ok(Attempt::Leading)) => return true,
                Ok(Ok(Attempt::HeldBy(holder))) => debug!(%holder, "lease held by another"),
                Ok(Ok(Attempt::Conflict)) => debug!("lost a race for the lease"),
                Ok(Err(e)) => warn!("cannot read or write the lease: {e}"),
                Err(_) => warn!("lease request timed out"),
            }
            let pause = self.jittered_retry();
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Renews every retry period while the term lasts.
    async fn lead(&mut self, shutdown: &CancellationToken, task: &mut JoinHandle<()>) -> TermEnd {
        let mut last_renewed = self
            .state
            .observed()
            .map_or_else(Instant::now, |o| o.observed_at);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return TermEnd::Shutdown,
                result = &mut *task => return work_ended(result),
                _ = tokio::time::sleep(self.config.retry_period) => {}
            }
            let deadline = last_renewed + self.config.renew_deadline;
            // Retry until the deadline; the work keeps running meanwhile.
            loop {
                let sent_at = Instant::now();
                if sent_at >= deadline {
                    return TermEnd::Lost;
                }
                let attempt = tokio::select! {
                    _ = shutdown.cancelled() => return TermEnd::Shutdown,
                    result = &mut *task => return work_ended(result),
                    attempt = tokio::time::timeout_at(deadline, self.try_acquire_or_renew()) => attempt,
                };
                match attempt {
                    Ok(Ok(Attempt::Leading)) => {
                        last_renewed = sent_at;
                        break;
                    }
                    Ok(Ok(Attempt::HeldBy(holder))) => {
                        warn!(%holder, "the lease was taken over");
                        return TermEnd::Lost;
                    }
                    Ok(Ok(Attempt::Conflict)) => {
                        debug!("renewal raced with another write; retrying")
                    }
                    Ok(Err(e)) => warn!("renewal failed: {e}"),
                    Err(_) => return TermEnd::Lost,
                }
                let pause = self
                    .config
                    .retry_period
                    .min(deadline.saturating_duration_since(Instant::now()));
                tokio::select! {
                    _ = shutdown.cancelled() => return TermEnd::Shutdown,
                    result = &mut *task => return work_ended(result),
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    fn publish_holder(&self) {
        let holder = self
            .state
            .observed()
            .and_then(|o| record::holder(&o.spec))
            .map(str::to_string);
        self.status.send_if_modified(|s| {
            let changed = s.holder != holder;
            s.holder = holder;
            changed
        });
    }

    /// One read and, if the lease is ours to take or renew, one compare-and-swap write.
    async fn try_acquire_or_renew(&mut self) -> Result<Attempt, ApiError> {
        let (namespace, name) = (self.config.namespace.clone(), self.config.name.clone());
        let sent_at = Instant::now();
        let Some(lease) = self.client.get_opt::<Lease>(&namespace, &name).await? else {
            let mut lease = Lease {
                metadata: ObjectMeta::named(&namespace, &name),
                ..Lease::default()
            };
            lease.spec = self.state.next_spec(None, MicroTime::now());
            return match self.client.create(&lease).await {
                Ok(created) => {
                    self.state.wrote(&created, sent_at);
                    self.publish_holder();
                    info!("created the lease");
                    Ok(Attempt::Leading)
                }
                Err(e) if e.is_already_exists() => Ok(Attempt::Conflict),
                Err(e) => Err(e),
            };
        };
        self.state.observe(&lease, Instant::now());
        self.publish_holder();
        match self.state.decide(Instant::now(), MicroTime::now()) {
            Decision::Wait { holder, .. } => Ok(Attempt::HeldBy(holder)),
            Decision::Write(spec) => {
                let taking_over =
                    record::holder(&lease.spec) != Some(self.config.identity.as_str());
                let mut next = lease;
                next.spec = spec;
                match self.client.update(&next).await {
                    Ok(updated) => {
                        self.state.wrote(&updated, sent_at);
                        self.publish_holder();
                        if taking_over {
                            info!(
                                transitions = updated.spec.lease_transitions.unwrap_or(0),
                                "acquired the lease"
                            );
                        }
                        Ok(Attempt::Leading)
                    }
                    Err(e) if e.is_conflict() => Ok(Attempt::Conflict),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Gives the lease up if we still hold it, so a standby need not wait for it to expire.
    async fn release(&mut self) {
        let (namespace, name) = (self.config.namespace.clone(), self.config.name.clone());
        let released = async {
            let Some(mut lease) = self.client.get_opt::<Lease>(&namespace, &name).await? else {
                return Ok::<bool, ApiError>(false);
            };
            if record::holder(&lease.spec) != Some(self.config.identity.as_str()) {
                return Ok(false);
            }
            lease.spec = record::released(&lease.spec, MicroTime::now());
            self.client.update(&lease).await?;
            Ok(true)
        };
        match tokio::time::timeout(self.config.renew_deadline, released).await {
            Ok(Ok(true)) => {
                info!("released the lease");
                self.status.send_modify(|s| s.holder = None);
            }
            Ok(Ok(false)) => debug!("lease not held any more; nothing to release"),
            Ok(Err(e)) => warn!("cannot release the lease: {e}"),
            Err(_) => warn!("releasing the lease timed out"),
        }
    }
}
