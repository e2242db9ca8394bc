//! The pure decision at the heart of a pod worker: given what is observed of one container
//! and what the pod wants, the next step to take. The worker is the thin shell that observes,
//! calls [`next_step`] and carries the step out.

use tokio::time::Instant;

use super::status::RestartPolicy;

/// What the runtime shows of a container's newest instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// No instance was started yet (or the image could not be resolved).
    NotStarted,
    /// Its supervisor runs but has not reported the process yet.
    Starting,
    Running,
    /// The instance ended with this exit code.
    Exited {
        exit_code: i32,
    },
}

/// Where the pod as a whole stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodMode {
    /// Containers run and restart per `restartPolicy`.
    Active,
    /// The pod is finished (terminal phase or active deadline passed): nothing starts again,
    /// whatever still runs is stopped.
    Finished,
    /// The pod is being deleted: every container is stopped.
    Deleting,
}

/// Why a running container is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    LivenessFailed,
    DefinitionChanged,
    PodFinished,
    PodDeleted,
}

/// Everything the decision looks at for one container.
#[derive(Debug, Clone, Copy)]
pub struct ContainerFacts {
    pub observed: Observed,
    pub mode: PodMode,
    pub policy: RestartPolicy,
    /// The liveness probe's verdict is "failed" for the running instance.
    pub liveness_failed: bool,
    /// The spec's image is not the one the running instance was started from.
    pub definition_changed: bool,
    /// A stop of the running instance is already under way.
    pub stopping: bool,
    /// The instance was stopped to be replaced: it restarts whatever the policy says.
    pub restart_requested: bool,
    /// When the pending restart (or retried start) may happen; `None` when none was
    /// scheduled yet.
    pub due: Option<Instant>,
}

/// The next thing to do for the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// Start the next instance now.
    Start,
    /// Stop the running instance (SIGTERM, grace period, SIGKILL).
    Stop(StopReason),
    /// The instance exited and restarts: schedule the restart (the back-off decides when).
    ScheduleRestart,
    /// Look again at this time (a back-off or retry is pending).
    WaitUntil(Instant),
    /// Look again shortly (an instance is starting).
    Recheck,
}

/// Decides the next step for one container.
pub fn next_step(f: &ContainerFacts, now: Instant) -> Step {
    let live = matches!(f.observed, Observed::Running | Observed::Starting);
    if f.mode != PodMode::Active {
        return match f.observed {
            _ if f.stopping => Step::Nothing,
            Observed::Running => Step::Stop(if f.mode == PodMode::Deleting {
                StopReason::PodDeleted
            } else {
                StopReason::PodFinished
            }),
            // A starting instance is stopped once it shows up as running.
            Observed::Starting => Step::Recheck,
            _ => Step::Nothing,
        };
    }
    if f.stopping && live {
        return Step::Nothing;
    }
    let due = |then: Step| match f.due {
        Some(at) if now < at => Step::WaitUntil(at),
        _ => then,
    };
    match f.observed {
        Observed::Starting => Step::Recheck,
        Observed::Running if f.liveness_failed => Step::Stop(StopReason::LivenessFailed),
        Observed::Running if f.definition_changed => Step::Stop(StopReason::DefinitionChanged),
        Observed::Running => Step::Nothing,
        Observed::NotStarted => due(Step::Start),
        Observed::Exited { exit_code } => {
            if !(f.restart_requested || f.policy.restarts(exit_code)) {
                Step::Nothing
            } else if f.due.is_none() {
                Step::ScheduleRestart
            } else {
                due(Step::Start)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn facts(observed: Observed) -> ContainerFacts {
        ContainerFacts {
            observed,
            mode: PodMode::Active,
            policy: RestartPolicy::Always,
            liveness_failed: false,
            definition_changed: false,
            stopping: false,
            restart_requested: false,
            due: None,
        }
    }

    #[test]
    fn decisions() {
        let now = Instant::now();
        let later = now + Duration::from_secs(5);
        let earlier = now - Duration::from_secs(1);
        use Observed::*;
        let exited = |code| Exited { exit_code: code };
        let table: Vec<(&str, ContainerFacts, Step)> = vec![
            ("new container starts", facts(NotStarted), Step::Start),
            (
                "image retry pending",
                ContainerFacts {
                    due: Some(later),
                    ..facts(NotStarted)
                },
                Step::WaitUntil(later),
            ),
            (
                "image retry due",
                ContainerFacts {
                    due: Some(earlier),
                    ..facts(NotStarted)
                },
                Step::Start,
            ),
            ("healthy container", facts(Running), Step::Nothing),
            ("starting container", facts(Starting), Step::Recheck),
            (
                "liveness failed",
                ContainerFacts {
                    liveness_failed: true,
                    ..facts(Running)
                },
                Step::Stop(StopReason::LivenessFailed),
            ),
            (
                "liveness failed, already stopping",
                ContainerFacts {
                    liveness_failed: true,
                    stopping: true,
                    ..facts(Running)
                },
                Step::Nothing,
            ),
            (
                "image changed",
                ContainerFacts {
                    definition_changed: true,
                    ..facts(Running)
                },
                Step::Stop(StopReason::DefinitionChanged),
            ),
            (
                "Always restarts exit 0",
                facts(exited(0)),
                Step::ScheduleRestart,
            ),
            (
                "Always restarts exit 1",
                facts(exited(1)),
                Step::ScheduleRestart,
            ),
            (
                "OnFailure keeps exit 0",
                ContainerFacts {
                    policy: RestartPolicy::OnFailure,
                    ..facts(exited(0))
                },
                Step::Nothing,
            ),
            (
                "OnFailure restarts exit 1",
                ContainerFacts {
                    policy: RestartPolicy::OnFailure,
                    ..facts(exited(1))
                },
                Step::ScheduleRestart,
            ),
            (
                "Never keeps exit 1",
                ContainerFacts {
                    policy: RestartPolicy::Never,
                    ..facts(exited(1))
                },
                Step::Nothing,
            ),
            (
                "Never keeps a liveness kill",
                ContainerFacts {
                    policy: RestartPolicy::Never,
                    ..facts(exited(143))
                },
                Step::Nothing,
            ),
            (
                "a replaced definition restarts under Never",
                ContainerFacts {
                    policy: RestartPolicy::Never,
                    restart_requested: true,
                    ..facts(exited(143))
                },
                Step::ScheduleRestart,
            ),
            (
                "back-off pending",
                ContainerFacts {
                    due: Some(later),
                    ..facts(exited(1))
                },
                Step::WaitUntil(later),
            ),
            (
                "back-off over",
                ContainerFacts {
                    due: Some(earlier),
                    ..facts(exited(1))
                },
                Step::Start,
            ),
            (
                "deleting stops",
                ContainerFacts {
                    mode: PodMode::Deleting,
                    ..facts(Running)
                },
                Step::Stop(StopReason::PodDeleted),
            ),
            (
                "deleting, stop under way",
                ContainerFacts {
                    mode: PodMode::Deleting,
                    stopping: true,
                    ..facts(Running)
                },
                Step::Nothing,
            ),
            (
                "deleting never restarts",
                ContainerFacts {
                    mode: PodMode::Deleting,
                    ..facts(exited(1))
                },
                Step::Nothing,
            ),
            (
                "deleting never starts",
                ContainerFacts {
                    mode: PodMode::Deleting,
                    ..facts(NotStarted)
                },
                Step::Nothing,
            ),
            (
                "deleting waits for a starting one",
                ContainerFacts {
                    mode: PodMode::Deleting,
                    ..facts(Starting)
                },
                Step::Recheck,
            ),
            (
                "finished pod stops",
                ContainerFacts {
                    mode: PodMode::Finished,
                    ..facts(Running)
                },
                Step::Stop(StopReason::PodFinished),
            ),
            (
                "finished pod never restarts",
                ContainerFacts {
                    mode: PodMode::Finished,
                    ..facts(exited(1))
                },
                Step::Nothing,
            ),
        ];
        for (name, f, want) in table {
            assert_eq!(next_step(&f, now), want, "{name}");
        }
    }
}
