//! Admission: what the apiserver does to an object before storing it (decode, convert, default, validate), one generic path for every kind.
//!
//! The steps mirror Kubernetes' registry strategies:
//! - create: strict decode; convert to the storage apiVersion; namespace `default`;
//!   defaults; server-generated fields (a Job's selector); validation; status reset to what
//!   a new object starts with (a Pod is `Pending`, a Namespace `Active`; a Node keeps the
//!   status its agent registers it with); `generation` 1.
//! - update: as create, but uid, creationTimestamp, deletionTimestamp and generation come from
//!   the stored object, immutable fields are checked, status is kept from the stored object
//!   for kinds with a status subresource, and `generation` goes up by one when the spec changed.
//! - status update: only `status` is taken from the request; everything else stays as stored.
//!
//! Per-kind code is the [`Strategy`] impl of each type: which defaults and which validation
//! apply. The apiserver itself stays generic over kinds.

use serde_json::{json, Value};

use crate::decode::{decode_strict, type_of};
use crate::defaults;
use crate::error::{ApiError, Cause};
use crate::kinds::KindInfo;
use crate::types::{
    CronJob, DaemonSet, Event, Job, Lease, Namespace, Node, Pod, ReplicaSet, ReplicationController,
    Resource,
};
use crate::validation as v;

/// Calls `$f::<Type>(args)` for the type registered under `info.kind`.
macro_rules! per_kind {
    ($info:expr, $f:ident($($arg:expr),*)) => {
        match $info.kind {
            "Namespace" => $f::<Namespace>($($arg),*),
            "Node" => $f::<Node>($($arg),*),
            "Pod" => $f::<Pod>($($arg),*),
            "ReplicationController" => $f::<ReplicationController>($($arg),*),
            "Event" => $f::<Event>($($arg),*),
            "ReplicaSet" => $f::<ReplicaSet>($($arg),*),
            "DaemonSet" => $f::<DaemonSet>($($arg),*),
            "Job" => $f::<Job>($($arg),*),
            "CronJob" => $f::<CronJob>($($arg),*),
            "Lease" => $f::<Lease>($($arg),*),
            other => Err(ApiError::internal(format!("kind {other} has no admission strategy"))),
        }
    };
}

/// The object as it will be stored: strictly decoded, converted to the storage apiVersion,
/// defaulted and validated; server-set metadata (uid, creationTimestamp) are already in `obj`.
pub fn admit_create(info: &KindInfo, obj: Value) -> Result<Value, ApiError> {
    check_type(info, &obj)?;
    per_kind!(info, create(info, obj))
}

/// Same for an update; `old` is the stored object. Validates immutable fields.
pub fn admit_update(info: &KindInfo, obj: Value, old: &Value) -> Result<Value, ApiError> {
    check_type(info, &obj)?;
    per_kind!(info, update(info, obj, old))
}

/// Status-subresource update: decodes and validates only what matters for status.
pub fn admit_status_update(info: &KindInfo, obj: Value, old: &Value) -> Result<Value, ApiError> {
    if !info.has_status {
        return Err(ApiError::method_not_allowed(format!(
            "{} have no status subresource",
            info.plural
        )));
    }
    check_type(info, &obj)?;
    per_kind!(info, update_status(info, obj, old))
}

/// The status a newly created object starts with.
pub enum InitialStatus {
    /// Whatever the creator sent (a node agent registers its Node with its capacity).
    Keep,
    /// No status: controllers fill it in.
    Empty,
    /// Only this phase (`Pending` for pods, `Active` for namespaces).
    Phase(&'static str),
}

/// What differs between kinds during admission.
pub trait Strategy: Resource {
    const INITIAL_STATUS: InitialStatus;

    fn set_defaults(&mut self) {}

    /// Fields the server generates once, on create, after the uid is assigned.
    fn prepare_for_create(&mut self) -> Result<(), ApiError> {
        Ok(())
    }

    fn validate(&self) -> Vec<Cause>;

    /// Rules comparing an update with the stored object (immutable fields).
    fn validate_update(&self, _old: &Self) -> Vec<Cause> {
        Vec::new()
    }

    /// Rules for a status-subresource write.
    fn validate_status(&self) -> Vec<Cause> {
        Vec::new()
    }
}

/// The object's apiVersion and kind must be known and name the resource it was sent to.
fn check_type(info: &KindInfo, obj: &Value) -> Result<(), ApiError> {
    let declared = type_of(obj)?;
    if declared.kind != info.kind {
        return Err(ApiError::bad_request(format!(
            "the object's kind {:?} does not match the resource {:?} it was sent to (expected kind {:?})",
            declared.kind, info.plural, info.kind
        )));
    }
    Ok(())
}

fn create<T: Strategy>(info: &KindInfo, obj: Value) -> Result<Value, ApiError> {
    let mut typed: T = decode_strict(obj, info)?;
    let meta = typed.metadata_mut();
    if !meta.resource_version.is_empty() {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.generation = 1;
    defaults::default_namespace(meta, info.namespaced);
    typed.set_defaults();
    typed.prepare_for_create()?;
    reject_invalid(&typed, typed.validate())?;
    let mut out = to_storage_json(info, &typed)?;
    match T::INITIAL_STATUS {
        InitialStatus::Keep => {}
        InitialStatus::Empty => remove_status(&mut out),
        InitialStatus::Phase(phase) => out["status"] = json!({ "phase": phase }),
    }
    Ok(out)
}

fn update<T: Strategy>(info: &KindInfo, obj: Value, old: &Value) -> Result<Value, ApiError> {
    let mut typed: T = decode_strict(obj, info)?;
    let stored: T = decode_stored(info, old)?;
    let (meta, old_meta) = (typed.metadata_mut(), stored.metadata());
    // Server-owned metadata cannot be changed by an update, as in Kubernetes' BeforeUpdate.
    if meta.uid.is_empty() {
        meta.uid.clone_from(&old_meta.uid);
    }
    if meta.namespace.is_empty() {
        meta.namespace.clone_from(&old_meta.namespace);
    }
    meta.creation_timestamp = old_meta.creation_timestamp;
    meta.deletion_timestamp = old_meta.deletion_timestamp;
    meta.deletion_grace_period_seconds = old_meta.deletion_grace_period_seconds;
    meta.generation = old_meta.generation;
    defaults::default_namespace(meta, info.namespaced);
    typed.set_defaults();
    let mut errs = typed.validate();
    errs.extend(v::validate_meta_update(typed.metadata(), stored.metadata()));
    errs.extend(typed.validate_update(&stored));
    reject_invalid(&typed, errs)?;
    let mut out = to_storage_json(info, &typed)?;
    let old_json = to_storage_json(info, &stored)?;
    if info.has_status {
        match old_json.get("status") {
            Some(status) => out["status"] = status.clone(),
            None => remove_status(&mut out),
        }
    }
    if out.get("spec").is_some() && out.get("spec") != old_json.get("spec") {
        out["metadata"]["generation"] = json!(stored.metadata().generation + 1);
    }
    Ok(out)
}

fn update_status<T: Strategy>(info: &KindInfo, obj: Value, old: &Value) -> Result<Value, ApiError> {
    let typed: T = decode_strict(obj, info)?;
    let stored: T = decode_stored(info, old)?;
    let new_json = to_storage_json(info, &typed)?;
    let mut out = to_storage_json(info, &stored)?;
    match new_json.get("status") {
        Some(status) => out["status"] = status.clone(),
        None => remove_status(&mut out),
    }
    // The request's resourceVersion is the precondition the store compares against.
    let rv = &typed.metadata().resource_version;
    if !rv.is_empty() {
        out["metadata"]["resourceVersion"] = json!(rv);
    }
    let merged: T = decode_stored(info, &out)?;
    reject_invalid(&merged, merged.validate_status())?;
    Ok(out)
}

/// The stored object decoded; it was admitted before, so failing here is a server fault.
fn decode_stored<T: Strategy>(info: &KindInfo, old: &Value) -> Result<T, ApiError> {
    let mut old = old.clone();
    if let Some(map) = old.as_object_mut() {
        map.insert("apiVersion".to_string(), json!(info.storage_version()));
    }
    decode_strict(old, info)
        .map_err(|e| ApiError::internal(format!("stored object does not decode: {}", e.message)))
}

fn reject_invalid<T: Resource>(obj: &T, errs: Vec<Cause>) -> Result<(), ApiError> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(T::KIND, obj.name(), errs))
    }
}

/// The typed object as JSON in the storage apiVersion.
fn to_storage_json<T: Resource>(info: &KindInfo, typed: &T) -> Result<Value, ApiError> {
    let mut out = serde_json::to_value(typed).map_err(ApiError::internal)?;
    out["apiVersion"] = json!(info.storage_version());
    out["kind"] = json!(info.kind);
    Ok(out)
}

fn remove_status(obj: &mut Value) {
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
}

impl Strategy for Pod {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Phase("Pending");
    fn set_defaults(&mut self) {
        defaults::default_pod_spec(&mut self.spec);
    }
    fn validate(&self) -> Vec<Cause> {
        v::validate_pod(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<Cause> {
        v::validate_pod_update(self, old)
    }
    fn validate_status(&self) -> Vec<Cause> {
        v::validate_pod_status(self)
    }
}

impl Strategy for Namespace {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Phase("Active");
    fn validate(&self) -> Vec<Cause> {
        v::validate_namespace(self)
    }
}

impl Strategy for Node {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Keep;
    fn validate(&self) -> Vec<Cause> {
        v::validate_node(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<Cause> {
        v::validate_node_update(self, old)
    }
    fn validate_status(&self) -> Vec<Cause> {
        v::validate_node_status(self)
    }
}

impl Strategy for ReplicationController {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Empty;
    fn set_defaults(&mut self) {
        defaults::default_replication_controller(self);
    }
    fn validate(&self) -> Vec<Cause> {
        v::validate_replication_controller(self)
    }
    fn validate_status(&self) -> Vec<Cause> {
        v::validate_replica_status(&self.status)
    }
}

impl Strategy for ReplicaSet {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Empty;
    fn set_defaults(&mut self) {
        defaults::default_replica_set(self);
    }
    fn validate(&self) -> Vec<Cause> {
        v::validate_replica_set(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<Cause> {
        v::validate_replica_set_update(self, old)
    }
    fn validate_status(&self) -> Vec<Cause> {
        v::validate_replica_status(&self.status)
    }
}

impl Strategy for DaemonSet {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Empty;
    fn set_defaults(&mut self) {
        defaults::default_daemon_set(self);
    }
    fn validate(&self) -> Vec<Cause> {
        v::validate_daemon_set(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<Cause> {
        v::validate_daemon_set_update(self, old)
    }
}

impl Strategy for Job {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Empty;
    fn set_defaults(&mut self) {
        defaults::default_job(self);
    }
    fn prepare_for_create(&mut self) -> Result<(), ApiError> {
        if self.metadata.uid.is_empty() && self.spec.manual_selector != Some(true) {
            return Err(ApiError::internal(
                "metadata.uid must be assigned before a Job is admitted",
            ));
        }
        defaults::generate_job_selector(self);
        Ok(())
    }
    fn validate(&self) -> Vec<Cause> {
        v::validate_job(self)
    }
    fn validate_update(&self, old: &Self) -> Vec<Cause> {
        v::validate_job_update(self, old)
    }
}

impl Strategy for CronJob {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Empty;
    fn set_defaults(&mut self) {
        defaults::default_cron_job(self);
    }
    fn validate(&self) -> Vec<Cause> {
        v::validate_cron_job(self)
    }
}

impl Strategy for Event {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Keep;
    fn validate(&self) -> Vec<Cause> {
        v::validate_event(self)
    }
}

impl Strategy for Lease {
    const INITIAL_STATUS: InitialStatus = InitialStatus::Keep;
    fn validate(&self) -> Vec<Cause> {
        v::validate_lease(self)
    }
}
