//! Object metadata and the small value types every kind shares: times, references, conditions, int-or-string.
//!
//! Field names are Kubernetes' JSON names. Optional fields are left out of the JSON when empty,
//! so stored objects stay compact, and JSON `null` counts as "not set" (the decoder drops it).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `deserialize_with` helper: a list decoded to exactly its length. A decoded `Vec` grows from
/// room for four, so a pod's one container would keep room for four (720 bytes each), its
/// one owner reference for four, and so on: slack that an informer holding every pod of a
/// cluster keeps for each of them.
pub(crate) fn exact_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut v = Vec::<T>::deserialize(d)?;
    v.shrink_to_fit();
    Ok(v)
}

/// `skip_serializing_if` helper: leave a field out of the JSON when it holds its default value.
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The metadata every object carries. The server sets `uid`, `resourceVersion`, `generation`,
/// `creationTimestamp` and `deletionTimestamp`; users set the rest.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ObjectMeta {
    /// Name must be unique within a namespace (for a cluster-scoped kind, within the cluster).
    /// It is required when creating resources, unless `generateName` is set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Prefix from which the server generates a unique name when `name` is empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    /// The namespace the object lives in; empty for cluster-scoped kinds (Node, Namespace).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// A unique identifier the server gives the object when it is created; never reused.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The store's modification revision of this object; updates compare-and-swap on it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Bumped by the server each time the spec changes; controllers report the generation they
    /// acted on in `status.observedGeneration`.
    #[serde(skip_serializing_if = "is_default")]
    pub generation: i64,
    /// When the server created the object (RFC 3339, UTC). Set by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Time>,
    /// Set when deletion was requested; the object stays until its finalizers and (for pods) the
    /// node agent let it go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Time>,
    /// The grace period the deletion was requested with, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Key-value pairs that selectors match: controllers find their pods by them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Key-value pairs tools keep on the object; not used for selection.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The objects this one depends on; when all owners are deleted, the garbage collector
    /// deletes it. At most one is the managing controller.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub owner_references: Vec<OwnerReference>,
    /// Must be empty before the object is deleted from the store; each entry names a component
    /// that still has work to do on deletion.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub finalizers: Vec<String>,
    /// Who wrote the object: one entry per manager (and operation and subresource), with the
    /// time of its last write. Set by the apiserver; what a client sends is ignored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::meta::exact_vec")]
    pub managed_fields: Vec<ManagedFieldsEntry>,
}

/// A field set in Kubernetes' FieldsV1 form, kept as sent (skiff computes none).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(transparent)]
pub struct FieldsV1(pub serde_json::Value);

/// One writer of an object (Kubernetes' `ManagedFieldsEntry`). skiff records who and when,
/// not the field set (`fieldsV1` is kept when a client sends it, never computed).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ManagedFieldsEntry {
    /// The writer: its field manager, user agent or user name.
    pub manager: String,
    /// `Update` (skiff has no server-side apply).
    pub operation: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// When this manager last wrote the object: RFC 3339 with milliseconds, so a trace can
    /// order writes within a second.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fields_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields_v1: Option<FieldsV1>,
    /// `status` for writes through the status subresource.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

impl ObjectMeta {
    /// Metadata with just a name and namespace (empty namespace for cluster-scoped kinds).
    pub fn named(namespace: &str, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: name.to_string(),
            namespace: namespace.to_string(),
            ..ObjectMeta::default()
        }
    }

    /// The owner reference marked `controller: true`, if any: the object that manages this one.
    pub fn controller_ref(&self) -> Option<&OwnerReference> {
        self.owner_references
            .iter()
            .find(|r| r.controller == Some(true))
    }

    /// True once deletion has been requested.
    pub fn is_being_deleted(&self) -> bool {
        self.deletion_timestamp.is_some()
    }
}

/// A link from an object to the object that owns it; the garbage collector deletes dependents
/// whose owners are gone, and `controller: true` marks the one owner that manages it.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OwnerReference {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// A reference to any object, as used by events (`involvedObject`) and CronJob `status.active`.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ObjectReference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// The part of the object the reference is about, e.g. `spec.containers{crane}`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

/// A point in time with whole-second precision, written as RFC 3339 in UTC
/// (`2024-05-01T12:00:00Z`), like Kubernetes' `metav1.Time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub DateTime<Utc>);

impl Time {
    /// Now, truncated to whole seconds so that a stored and re-read time compares equal.
    pub fn now() -> Time {
        Time(Utc::now().trunc_subsecs(0))
    }
}

impl From<DateTime<Utc>> for Time {
    fn from(t: DateTime<Utc>) -> Time {
        Time(t.trunc_subsecs(0))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        d.deserialize_str(Rfc3339Visitor)
            .map(|t| Time(t.trunc_subsecs(0)))
    }
}

/// A point in time with microsecond precision (`2024-05-01T12:00:00.123456Z`), like
/// Kubernetes' `metav1.MicroTime`; Lease renew times and event times use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MicroTime(pub DateTime<Utc>);

impl MicroTime {
    pub fn now() -> MicroTime {
        MicroTime(Utc::now().trunc_subsecs(6))
    }
}

impl From<DateTime<Utc>> for MicroTime {
    fn from(t: DateTime<Utc>) -> MicroTime {
        MicroTime(t.trunc_subsecs(6))
    }
}

impl fmt::Display for MicroTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

impl Serialize for MicroTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MicroTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MicroTime, D::Error> {
        d.deserialize_str(Rfc3339Visitor)
            .map(|t| MicroTime(t.trunc_subsecs(6)))
    }
}

/// Accepts any RFC 3339 time (any precision, any offset) and converts it to UTC.
struct Rfc3339Visitor;

impl Visitor<'_> for Rfc3339Visitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 time such as \"2024-05-01T12:00:00Z\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DateTime<Utc>, E> {
        DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                E::custom(format!(
                    "{v:?} is not an RFC 3339 time such as \"2024-05-01T12:00:00Z\": {e}"
                ))
            })
    }
}

/// A port given either as a number or as the name of a container port (`port: 8080` or
/// `port: http`), like Kubernetes' `intstr.IntOrString`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntOrString {
    Int(i32),
    String(String),
}

impl Default for IntOrString {
    fn default() -> IntOrString {
        IntOrString::Int(0)
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(i) => write!(f, "{i}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(i) => s.serialize_i32(*i),
            IntOrString::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    // A hand-written visitor instead of `#[serde(untagged)]`: untagged enums lose the field path
    // and replace the error with "data did not match any variant".
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IntOrString, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntOrString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
                i32::try_from(v)
                    .map(IntOrString::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &"a 32-bit integer"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
                i32::try_from(v)
                    .map(IntOrString::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &"a 32-bit integer"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::String(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A status condition (`Ready`, `Complete`, `Failed`, `PodScheduled`, ...). Kubernetes has one
/// condition type per kind; skiff uses this one shape for all of them, each kind filling only
/// the times that apply (`lastHeartbeatTime` for nodes, `lastProbeTime` for pods and jobs).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `"True"`, `"False"` or `"Unknown"`.
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
}

/// The allowed values of [`Condition::status`].
pub const CONDITION_STATUSES: [&str; 3] = ["True", "False", "Unknown"];

impl Condition {
    /// A condition with `status` "True" or "False", stamped with the current time.
    pub fn new(type_: &str, status: bool, reason: &str, message: &str) -> Condition {
        Condition {
            type_: type_.to_string(),
            status: if status { "True" } else { "False" }.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            last_transition_time: Some(Time::now()),
            ..Condition::default()
        }
    }

    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// The condition of the given type, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition of the given type is present with status "True".
pub fn condition_is_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(Condition::is_true)
}

/// Adds or replaces the condition of `new.type_`. As in Kubernetes, `lastTransitionTime` only
/// moves when the status actually changes, so it tells how long the current status has held.
/// Returns true when anything changed.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time;
            }
            if *old == new {
                return false;
            }
            *old = new;
            true
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn time_round_trips_in_kubernetes_format() {
        let t = Time(Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap());
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2024-05-01T12:00:00Z\""
        );
        let back: Time = serde_json::from_str("\"2024-05-01T14:00:00.75+02:00\"").unwrap();
        assert_eq!(back, t);
        let err = serde_json::from_str::<Time>("\"yesterday\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn micro_time_keeps_microseconds() {
        let t: MicroTime = serde_json::from_str("\"2024-05-01T12:00:00.123456789Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2024-05-01T12:00:00.123456Z\""
        );
    }

    #[test]
    fn int_or_string_accepts_both() {
        assert_eq!(
            serde_json::from_str::<IntOrString>("8080").unwrap(),
            IntOrString::Int(8080)
        );
        assert_eq!(
            serde_json::from_str::<IntOrString>("\"http\"").unwrap(),
            IntOrString::String("http".into())
        );
        assert_eq!(serde_json::to_string(&IntOrString::Int(1)).unwrap(), "1");
        assert!(serde_json::from_str::<IntOrString>("true").is_err());
        assert!(serde_json::from_str::<IntOrString>("99999999999").is_err());
    }

    #[test]
    fn empty_metadata_serializes_compactly() {
        let m = ObjectMeta::named("default", "crane");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"name":"crane","namespace":"default"}"#
        );
    }

    #[test]
    fn set_condition_keeps_transition_time_while_status_holds() {
        let t0 = Time(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
        let mut conds = vec![Condition {
            last_transition_time: Some(t0),
            ..Condition::new("Ready", true, "", "")
        }];
        assert!(!set_condition(
            &mut conds,
            Condition::new("Ready", true, "", "")
        ));
        assert_eq!(conds[0].last_transition_time, Some(t0));
        assert!(set_condition(
            &mut conds,
            Condition::new("Ready", false, "NotReady", "")
        ));
        assert_ne!(conds[0].last_transition_time, Some(t0));
        assert!(!condition_is_true(&conds, "Ready"));
        assert!(set_condition(
            &mut conds,
            Condition::new("Complete", true, "", "")
        ));
        assert_eq!(conds.len(), 2);
    }
}
