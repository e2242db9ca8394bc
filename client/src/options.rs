//! Request options and reply shapes of the client: list, watch, delete and log options, lists, scales, identities.

use skiff_api::meta::ObjectMeta;

/// Which objects a list returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// A label selector in string form (`app=crane,env in (a,b)`); empty selects everything.
    pub label_selector: String,
    /// A field selector (`spec.nodeName=n1`); empty selects everything.
    pub field_selector: String,
}

impl ListOptions {
    pub fn labels(selector: impl Into<String>) -> ListOptions {
        ListOptions {
            label_selector: selector.into(),
            ..ListOptions::default()
        }
    }

    pub fn fields(selector: impl Into<String>) -> ListOptions {
        ListOptions {
            field_selector: selector.into(),
            ..ListOptions::default()
        }
    }
}

/// The objects a list returned, and the resourceVersion of the snapshot they were read at:
/// a watch started from it sees every change after the list, and nothing twice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectList<T> {
    pub items: Vec<T>,
    pub resource_version: String,
}

/// Where a watch starts and which objects it reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchOptions {
    pub label_selector: String,
    pub field_selector: String,
    /// Report changes after this resourceVersion; empty: from now on.
    pub resource_version: String,
    /// Ask the server for BOOKMARK events while idle, so a resumed watch starts from a recent
    /// resourceVersion instead of one the server may no longer keep.
    pub allow_bookmarks: bool,
}

/// What happens to the dependents of a deleted object (Kubernetes' `propagationPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Propagation {
    /// The object goes now; the garbage collector deletes its dependents afterwards.
    Background,
    /// The dependents go first; the object stays (with a `foregroundDeletion` finalizer) until
    /// they are gone.
    Foreground,
    /// The dependents stay, with their owner reference removed.
    Orphan,
}

impl Propagation {
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

/// How to delete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// None: the server's default (Background).
    pub propagation: Option<Propagation>,
    /// None: the object's own grace period; `Some(0)`: at once.
    pub grace_period_seconds: Option<i64>,
    /// Delete only if the object still has this uid (not a new object under the same name).
    pub precondition_uid: Option<String>,
    /// Delete only if the object is still at this resourceVersion.
    pub precondition_resource_version: Option<String>,
}

impl DeleteOptions {
    pub fn propagation(propagation: Propagation) -> DeleteOptions {
        DeleteOptions {
            propagation: Some(propagation),
            ..DeleteOptions::default()
        }
    }

    /// Deletion without a grace period (what `--force --grace-period=0` asks for).
    pub fn now() -> DeleteOptions {
        DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        }
    }

    /// Deletion guarded by the uid and resourceVersion of `meta`.
    pub fn guarded_by(meta: &ObjectMeta) -> DeleteOptions {
        DeleteOptions {
            precondition_uid: Some(meta.uid.clone()),
            precondition_resource_version: Some(meta.resource_version.clone()),
            ..DeleteOptions::default()
        }
    }

    /// True when repeating the request cannot delete a different object than the first try
    /// would have: a uid or resourceVersion precondition pins the object.
    pub(crate) fn is_pinned(&self) -> bool {
        self.precondition_uid
            .as_deref()
            .is_some_and(|u| !u.is_empty())
            || self
                .precondition_resource_version
                .as_deref()
                .is_some_and(|v| !v.is_empty())
    }
}

/// Which log lines to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// None: the pod's only container (the server refuses if there are several).
    pub container: Option<String>,
    /// Keep the stream open and send new lines as they are written.
    pub follow: bool,
    /// The previous instance of the container (after a restart).
    pub previous: bool,
    /// Only the last N lines; None: everything.
    pub tail_lines: Option<i64>,
    /// Each line after the time it was written.
    pub timestamps: bool,
}

/// The scale subresource of a ReplicationController, ReplicaSet or Job (parallelism).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scale {
    pub spec_replicas: i32,
    pub status_replicas: i32,
    /// The pod selector in string form.
    pub selector: String,
    pub resource_version: String,
}

/// The caller as the apiserver authenticated it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub user: String,
    pub groups: Vec<String>,
    /// `admin`, `viewer` or `node`.
    pub role: String,
}
