//! Pure status computation: a container's API status from what the runtime reports, and the
//! pod's phase and conditions from its containers' statuses, by the kubelet's rules.

use skiff_api::meta::{set_condition, Condition, Time};
use skiff_api::types::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, PodStatus,
};

use crate::runtime::{self, ContainerId, ExitRecord};

/// A pod's `restartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    /// `Always` unless the spec says `OnFailure` or `Never` (the API server defaults it).
    pub fn parse(value: &str) -> RestartPolicy {
        match value {
            "OnFailure" => RestartPolicy::OnFailure,
            "Never" => RestartPolicy::Never,
            _ => RestartPolicy::Always,
        }
    }

    /// Whether a container that exited with `exit_code` is started again.
    pub fn restarts(self, exit_code: i32) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        }
    }
}

pub const PENDING: &str = "Pending";
pub const RUNNING: &str = "Running";
pub const SUCCEEDED: &str = "Succeeded";
pub const FAILED: &str = "Failed";

/// True for `Succeeded` and `Failed`: a pod in one of them never runs again.
pub fn is_terminal(phase: &str) -> bool {
    phase == SUCCEEDED || phase == FAILED
}

/// The `containerID` of a container instance.
pub fn container_id_string(id: &ContainerId) -> String {
    format!("skiff://{id}")
}

/// `state.terminated` from a supervisor's exit record.
pub fn terminated(id: &ContainerId, exit: &ExitRecord) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: exit.exit_code,
        signal: exit.signal.unwrap_or(0),
        reason: exit.reason.clone(),
        message: exit.message.clone().unwrap_or_default(),
        started_at: exit.started_at.map(Time::from),
        finished_at: Some(Time::from(exit.finished_at)),
        container_id: container_id_string(id),
    }
}

/// `state.terminated` for an instance whose end nobody recorded (its supervisor died).
pub fn lost(id: &ContainerId, message: &str) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: 137,
        reason: "ContainerStatusUnknown".to_string(),
        message: message.to_string(),
        container_id: container_id_string(id),
        ..ContainerStateTerminated::default()
    }
}

/// The state an observed instance is in, as the API shows it.
pub fn observed_state(id: &ContainerId, status: &runtime::ContainerStatus) -> ContainerState {
    match status {
        runtime::ContainerStatus::Running { started_at, .. } => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(Time::from(*started_at)),
            }),
            ..ContainerState::default()
        },
        runtime::ContainerStatus::Exited(exit) => ContainerState {
            terminated: Some(terminated(id, exit)),
            ..ContainerState::default()
        },
        runtime::ContainerStatus::Unknown { message } => ContainerState {
            terminated: Some(lost(id, message)),
            ..ContainerState::default()
        },
    }
}

/// A waiting state (`ContainerCreating`, `CrashLoopBackOff`, `ErrImagePull`, ...).
pub fn waiting(reason: &str, message: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: reason.to_string(),
            message: message.to_string(),
        }),
        ..ContainerState::default()
    }
}

/// The pod phase from its containers' statuses (the kubelet's `getPhase`). `names` are the
/// spec's containers; one without a status counts as unknown.
pub fn pod_phase(
    policy: RestartPolicy,
    names: &[&str],
    statuses: &[ContainerStatus],
) -> &'static str {
    let (mut waiting, mut running, mut stopped, mut succeeded, mut unknown) = (0, 0, 0, 0, 0);
    for name in names {
        let Some(status) = statuses.iter().find(|s| s.name == *name) else {
            unknown += 1;
            continue;
        };
        let state = &status.state;
        if state.running.is_some() {
            running += 1;
        } else if let Some(t) = &state.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if state.waiting.is_some() {
            // A container waiting to restart has run before: it counts as stopped.
            if status.last_state.terminated.is_some() {
                stopped += 1;
            } else {
                waiting += 1;
            }
        } else {
            unknown += 1;
        }
    }
    if waiting > 0 {
        PENDING
    } else if running > 0 && unknown == 0 {
        RUNNING
    } else if running == 0 && stopped > 0 && unknown == 0 {
        match policy {
            RestartPolicy::Always => RUNNING,
            _ if stopped == succeeded => SUCCEEDED,
            RestartPolicy::Never => FAILED,
            RestartPolicy::OnFailure => RUNNING,
        }
    } else {
        PENDING
    }
}

/// What the pod status is computed from, besides the containers' own statuses.
#[derive(Debug, Clone)]
pub struct PodFacts<'a> {
    pub policy: RestartPolicy,
    pub container_names: Vec<&'a str>,
    pub pod_ip: String,
    pub host_ip: String,
    /// The pod's `activeDeadlineSeconds` has passed: it fails.
    pub deadline_exceeded: bool,
}

/// The whole pod status. `base` is the status as last stored: terminal phases stick, and
/// conditions keep their `lastTransitionTime` while their status holds.
pub fn pod_status(
    base: &PodStatus,
    facts: &PodFacts<'_>,
    containers: Vec<ContainerStatus>,
) -> PodStatus {
    let (phase, reason, message) = if is_terminal(&base.phase) {
        (
            base.phase.clone(),
            base.reason.clone(),
            base.message.clone(),
        )
    } else if facts.deadline_exceeded {
        (
            FAILED.to_string(),
            "DeadlineExceeded".to_string(),
            "Pod was active on the node longer than the specified deadline".to_string(),
        )
    } else {
        let phase = pod_phase(facts.policy, &facts.container_names, &containers);
        (phase.to_string(), String::new(), String::new())
    };

    let mut conditions = base.conditions.clone();
    set_condition(
        &mut conditions,
        Condition::new("PodScheduled", true, "", ""),
    );
    set_condition(&mut conditions, Condition::new("Initialized", true, "", ""));
    let unready: Vec<&str> = facts
        .container_names
        .iter()
        .copied()
        .filter(|name| !containers.iter().any(|c| c.name == *name && c.ready))
        .collect();
    let (ready, why, detail) = if is_terminal(&phase) {
        (false, "PodCompleted", String::new())
    } else if unready.is_empty() {
        (true, "", String::new())
    } else {
        (
            false,
            "ContainersNotReady",
            format!("containers with unready status: [{}]", unready.join(" ")),
        )
    };
    set_condition(
        &mut conditions,
        Condition::new("ContainersReady", ready, why, &detail),
    );
    set_condition(
        &mut conditions,
        Condition::new("Ready", ready, why, &detail),
    );

    PodStatus {
        phase,
        conditions,
        message,
        reason,
        host_ip: facts.host_ip.clone(),
        pod_ip: facts.pod_ip.clone(),
        start_time: base.start_time.or_else(|| Some(Time::now())),
        container_statuses: containers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(name: &str) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            state: ContainerState {
                running: Some(ContainerStateRunning::default()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn exited(name: &str, code: i32) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            state: ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: code,
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn waiting_for(name: &str, reason: &str, ran_before: bool) -> ContainerStatus {
        let mut s = ContainerStatus {
            name: name.into(),
            state: waiting(reason, ""),
            ..Default::default()
        };
        if ran_before {
            s.last_state.terminated = Some(ContainerStateTerminated {
                exit_code: 1,
                ..Default::default()
            });
        }
        s
    }

    #[test]
    fn phases_follow_the_kubelet() {
        use RestartPolicy::*;
        let table: Vec<(RestartPolicy, Vec<ContainerStatus>, &str)> = vec![
            (Always, vec![running("a")], RUNNING),
            (
                Always,
                vec![waiting_for("a", "ContainerCreating", false)],
                PENDING,
            ),
            (
                Always,
                vec![waiting_for("a", "ErrImagePull", false)],
                PENDING,
            ),
            (
                Always,
                vec![waiting_for("a", "CrashLoopBackOff", true)],
                RUNNING,
            ),
            (Always, vec![exited("a", 0)], RUNNING),
            (Always, vec![exited("a", 1)], RUNNING),
            (OnFailure, vec![exited("a", 0)], SUCCEEDED),
            (OnFailure, vec![exited("a", 1)], RUNNING),
            (
                OnFailure,
                vec![waiting_for("a", "CrashLoopBackOff", true)],
                RUNNING,
            ),
            (Never, vec![exited("a", 0)], SUCCEEDED),
            (Never, vec![exited("a", 1)], FAILED),
            (Never, vec![exited("a", 137)], FAILED),
            (Never, vec![exited("a", 0), exited("b", 1)], FAILED),
            (Never, vec![exited("a", 0), running("b")], RUNNING),
            (Never, vec![exited("a", 0), exited("b", 0)], SUCCEEDED),
            (
                Always,
                vec![running("a"), waiting_for("b", "ContainerCreating", false)],
                PENDING,
            ),
            // A container without any status yet: unknown.
            (Always, vec![running("a")], PENDING),
        ];
        for (i, (policy, statuses, want)) in table.iter().enumerate() {
            let names: Vec<&str> = if i == table.len() - 1 {
                vec!["a", "b"]
            } else {
                statuses.iter().map(|s| s.name.as_str()).collect()
            };
            assert_eq!(
                pod_phase(*policy, &names, statuses),
                *want,
                "case {i}: {policy:?}"
            );
        }
    }

    #[test]
    fn restart_policies() {
        use RestartPolicy::*;
        let table = [
            (Always, 0, true),
            (Always, 1, true),
            (OnFailure, 0, false),
            (OnFailure, 143, true),
            (Never, 0, false),
            (Never, 1, false),
        ];
        for (policy, code, want) in table {
            assert_eq!(policy.restarts(code), want, "{policy:?} {code}");
        }
        assert_eq!(RestartPolicy::parse(""), Always);
        assert_eq!(RestartPolicy::parse("Never"), Never);
    }

    fn facts<'a>(names: &[&'a str], policy: RestartPolicy) -> PodFacts<'a> {
        PodFacts {
            policy,
            container_names: names.to_vec(),
            pod_ip: "127.42.0.1".into(),
            host_ip: "127.0.0.1".into(),
            deadline_exceeded: false,
        }
    }

    fn condition<'a>(s: &'a PodStatus, t: &str) -> &'a Condition {
        s.conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn conditions_name_the_unready_containers() {
        let mut a = running("a");
        a.ready = true;
        let b = running("b");
        let s = pod_status(
            &PodStatus::default(),
            &facts(&["a", "b"], RestartPolicy::Always),
            vec![a.clone(), b],
        );
        assert_eq!(s.phase, RUNNING);
        assert_eq!(s.pod_ip, "127.42.0.1");
        assert!(s.start_time.is_some());
        let ready = condition(&s, "Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "ContainersNotReady")
        );
        assert_eq!(ready.message, "containers with unready status: [b]");
        assert!(condition(&s, "PodScheduled").is_true());
        assert!(condition(&s, "Initialized").is_true());
        assert!(!condition(&s, "ContainersReady").is_true());

        let mut b = running("b");
        b.ready = true;
        let s2 = pod_status(&s, &facts(&["a", "b"], RestartPolicy::Always), vec![a, b]);
        assert!(condition(&s2, "Ready").is_true());
        assert_eq!(condition(&s2, "Ready").message, "");
        assert_eq!(s2.start_time, s.start_time);
    }

    #[test]
    fn recomputing_an_unchanged_pod_gives_an_equal_status() {
        let f = facts(&["a"], RestartPolicy::Always);
        let first = pod_status(&PodStatus::default(), &f, vec![running("a")]);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let again = pod_status(&first, &f, vec![running("a")]);
        assert_eq!(first, again, "no change means no write");
    }

    #[test]
    fn terminal_phases_stick_and_deadlines_fail_the_pod() {
        let f = facts(&["a"], RestartPolicy::Never);
        let done = pod_status(&PodStatus::default(), &f, vec![exited("a", 0)]);
        assert_eq!(done.phase, SUCCEEDED);
        assert_eq!(condition(&done, "Ready").reason, "PodCompleted");
        // Whatever the containers look like later, a finished pod stays finished.
        let later = pod_status(
            &done,
            &f,
            vec![waiting_for("a", "ContainerCreating", false)],
        );
        assert_eq!(later.phase, SUCCEEDED);

        let mut f = facts(&["a"], RestartPolicy::Always);
        f.deadline_exceeded = true;
        let failed = pod_status(&PodStatus::default(), &f, vec![running("a")]);
        assert_eq!(
            (failed.phase.as_str(), failed.reason.as_str()),
            (FAILED, "DeadlineExceeded")
        );
    }

    #[test]
    fn runtime_states_map_to_api_states() {
        let id = ContainerId {
            pod_uid: "u".into(),
            container: "main".into(),
            instance: 2,
        };
        let now = chrono::Utc::now();
        let exit = ExitRecord {
            exit_code: 137,
            signal: Some(9),
            reason: "Error".into(),
            message: None,
            started_at: Some(now),
            finished_at: now,
        };
        let t = observed_state(&id, &runtime::ContainerStatus::Exited(exit))
            .terminated
            .unwrap();
        assert_eq!(
            (t.exit_code, t.signal, t.reason.as_str()),
            (137, 9, "Error")
        );
        assert_eq!(t.container_id, "skiff://u/main/2");
        let r = observed_state(
            &id,
            &runtime::ContainerStatus::Running {
                pid: 1,
                started_at: now,
            },
        );
        assert_eq!(r.running.unwrap().started_at, Some(Time::from(now)));
        let l = observed_state(
            &id,
            &runtime::ContainerStatus::Unknown {
                message: "gone".into(),
            },
        );
        assert_eq!(l.terminated.unwrap().reason, "ContainerStatusUnknown");
    }
}
