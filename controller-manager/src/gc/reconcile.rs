//! The pure decisions of the garbage collector: what happens to a dependent given the state of its owners, and what an owner being deleted with the `orphan` or `foregroundDeletion` finalizer needs done.

use skiff_api::meta::{ObjectMeta, OwnerReference};

use super::graph::Kind;

pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// What a lookup found for one owner reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// No object with that name and uid exists.
    Absent,
    /// The owner exists; `waiting` when it is being deleted in the foreground, waiting for its
    /// dependents to go first.
    Present { waiting: bool },
}

/// The decision for one dependent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DependentAction {
    Keep,
    /// Every owner is gone (or waiting for it): delete it. `foreground` when its own dependents
    /// must go first because an owner waits in the foreground.
    Delete {
        foreground: bool,
    },
    /// Some owner is alive: only drop the references to the gone and waiting owners.
    RemoveRefs(Vec<String>),
}

/// Kubernetes' `attemptToDeleteItem`: owners are solid (alive), dangling (gone) or waiting
/// (foreground deletion). With a solid owner the dependent stays and loses its other
/// references; without one it is deleted.
pub fn decide_dependent(kind: Kind, refs: &[(OwnerReference, OwnerState)]) -> DependentAction {
    if refs.is_empty() {
        return DependentAction::Keep;
    }
    let solid = refs
        .iter()
        .any(|(_, s)| *s == OwnerState::Present { waiting: false });
    let waiting = refs
        .iter()
        .any(|(_, s)| *s == OwnerState::Present { waiting: true });
    if solid {
        let drop: Vec<String> = refs
            .iter()
            .filter(|(_, s)| *s != OwnerState::Present { waiting: false })
            .map(|(r, _)| r.uid.clone())
            .collect();
        return if drop.is_empty() {
            DependentAction::Keep
        } else {
            DependentAction::RemoveRefs(drop)
        };
    }
    // Pods have no dependents of their own; anything else deleted for a foreground owner
    // propagates the foreground deletion.
    DependentAction::Delete {
        foreground: waiting && kind != Kind::Pod,
    }
}

/// One step for an owner that is being deleted.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnerAction {
    /// Remove the owner's reference from this dependent (Orphan).
    Orphan(Kind, ObjectMeta),
    /// Delete this dependent (Foreground).
    DeleteDependent {
        kind: Kind,
        meta: ObjectMeta,
        foreground: bool,
    },
    /// Everything is done: remove this finalizer, letting the owner go.
    RemoveFinalizer(&'static str),
    /// Dependents still block the owner: look again later.
    Wait,
}

/// Kubernetes' `orphanDependents` and `processDeletingDependentsItem` for `owner`, whose
/// cached dependents are `dependents`.
pub fn decide_owner(owner: &ObjectMeta, dependents: &[(Kind, ObjectMeta)]) -> Vec<OwnerAction> {
    if owner.deletion_timestamp.is_none() {
        return Vec::new();
    }
    let has = |f: &str| owner.finalizers.iter().any(|x| x == f);
    let mut actions = Vec::new();
    if has(ORPHAN_FINALIZER) {
        actions.extend(
            dependents
                .iter()
                .map(|(k, m)| OwnerAction::Orphan(*k, m.clone())),
        );
        actions.push(OwnerAction::RemoveFinalizer(ORPHAN_FINALIZER));
        return actions;
    }
    if has(FOREGROUND_FINALIZER) {
        let blocks = |m: &ObjectMeta| {
            m.owner_references
                .iter()
                .any(|r| r.uid == owner.uid && r.block_owner_deletion == Some(true))
        };
        for (kind, meta) in dependents {
            if meta.deletion_timestamp.is_none() {
                actions.push(OwnerAction::DeleteDependent {
                    kind: *kind,
                    meta: meta.clone(),
                    foreground: *kind != Kind::Pod,
                });
            }
        }
        if dependents.iter().any(|(_, m)| blocks(m)) {
            actions.push(OwnerAction::Wait);
        } else {
            actions.push(OwnerAction::RemoveFinalizer(FOREGROUND_FINALIZER));
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::meta::Time;

    fn owner_ref(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            uid: uid.into(),
            kind: "ReplicaSet".into(),
            controller: Some(true),
            block_owner_deletion: Some(block),
            ..OwnerReference::default()
        }
    }

    #[test]
    fn dependent_decisions() {
        use OwnerState::*;
        let absent = Absent;
        let alive = Present { waiting: false };
        let waiting = Present { waiting: true };
        type Row<'a> = (&'a str, Kind, Vec<(&'a str, OwnerState)>, DependentAction);
        let cases: Vec<Row<'_>> = vec![
            (
                "no owners: not garbage",
                Kind::Pod,
                vec![],
                DependentAction::Keep,
            ),
            (
                "owner alive",
                Kind::Pod,
                vec![("a", alive)],
                DependentAction::Keep,
            ),
            (
                "owner gone (Background deletion): delete",
                Kind::Pod,
                vec![("a", absent)],
                DependentAction::Delete { foreground: false },
            ),
            (
                "every owner gone: delete",
                Kind::Job,
                vec![("a", absent), ("b", absent)],
                DependentAction::Delete { foreground: false },
            ),
            (
                "one of two owners gone: drop its reference",
                Kind::Pod,
                vec![("a", alive), ("b", absent)],
                DependentAction::RemoveRefs(vec!["b".into()]),
            ),
            (
                "owner waiting in the foreground: delete the pod",
                Kind::Pod,
                vec![("a", waiting)],
                DependentAction::Delete { foreground: false },
            ),
            (
                "owner waiting in the foreground: a Job goes in the foreground too",
                Kind::Job,
                vec![("a", waiting)],
                DependentAction::Delete { foreground: true },
            ),
            (
                "another owner alive: only the waiting reference goes",
                Kind::Pod,
                vec![("a", waiting), ("b", alive)],
                DependentAction::RemoveRefs(vec!["a".into()]),
            ),
        ];
        for (name, kind, refs, want) in cases {
            let refs: Vec<(OwnerReference, OwnerState)> = refs
                .into_iter()
                .map(|(uid, s)| (owner_ref(uid, true), s))
                .collect();
            assert_eq!(decide_dependent(kind, &refs), want, "case: {name}");
        }
    }

    fn meta(name: &str, owner: &str, block: bool, deleting: bool) -> ObjectMeta {
        let mut m = ObjectMeta::named("default", name);
        m.owner_references.push(owner_ref(owner, block));
        if deleting {
            m.deletion_timestamp = Some(Time::now());
        }
        m
    }

    fn owner(finalizer: &str, deleting: bool) -> ObjectMeta {
        let mut m = ObjectMeta::named("default", "rs");
        m.uid = "o".into();
        if !finalizer.is_empty() {
            m.finalizers.push(finalizer.into());
        }
        if deleting {
            m.deletion_timestamp = Some(Time::now());
        }
        m
    }

    fn describe(actions: &[OwnerAction]) -> Vec<String> {
        actions
            .iter()
            .map(|a| match a {
                OwnerAction::Orphan(_, m) => format!("orphan {}", m.name),
                OwnerAction::DeleteDependent {
                    meta, foreground, ..
                } => format!("delete {} fg={foreground}", meta.name),
                OwnerAction::RemoveFinalizer(f) => format!("remove {f}"),
                OwnerAction::Wait => "wait".to_string(),
            })
            .collect()
    }

    #[test]
    fn owner_decisions() {
        let pods = vec![
            (Kind::Pod, meta("p1", "o", true, false)),
            (Kind::Pod, meta("p2", "o", true, true)),
        ];
        type Row<'a> = (&'a str, ObjectMeta, Vec<(Kind, ObjectMeta)>, Vec<&'a str>);
        let cases: Vec<Row<'_>> = vec![
            (
                "an owner not being deleted needs nothing",
                owner("", false),
                pods.clone(),
                vec![],
            ),
            (
                "Orphan: every dependent loses the reference, then the finalizer goes",
                owner(ORPHAN_FINALIZER, true),
                pods.clone(),
                vec!["orphan p1", "orphan p2", "remove orphan"],
            ),
            (
                "Orphan without dependents: the finalizer goes",
                owner(ORPHAN_FINALIZER, true),
                vec![],
                vec!["remove orphan"],
            ),
            (
                "Foreground: dependents are deleted and block the owner",
                owner(FOREGROUND_FINALIZER, true),
                pods.clone(),
                vec!["delete p1 fg=false", "wait"],
            ),
            (
                "Foreground: once dependents are gone the finalizer goes",
                owner(FOREGROUND_FINALIZER, true),
                vec![],
                vec!["remove foregroundDeletion"],
            ),
            (
                "Foreground: non-blocking dependents are deleted but do not hold the owner",
                owner(FOREGROUND_FINALIZER, true),
                vec![(Kind::Job, meta("j", "o", false, false))],
                vec!["delete j fg=true", "remove foregroundDeletion"],
            ),
        ];
        for (name, o, deps, want) in cases {
            assert_eq!(describe(&decide_owner(&o, &deps)), want, "case: {name}");
        }
    }
}
