//! `describe` texts in kubectl's layout: a prefix writer over a tab-aligned buffer, and the sections every kind shares (labels, annotations, events, pod templates).

mod containers;
mod controllers;
mod node;
mod pod;

use std::collections::BTreeMap;

use skiff_api::types::{Event, Lease, Pod, PodTemplateSpec};

pub use containers::describe_containers;
pub use controllers::{
    describe_cronjob, describe_daemonset, describe_job, describe_rc, describe_rs,
};
pub use node::describe_node;
pub use pod::describe_pod;

use crate::output::age::Clock;
use crate::output::tabwriter::DESCRIBE;
use crate::table::cluster::event_times;

/// kubectl's `PrefixWriter`: every write is indented by two spaces per level; the text is
/// aligned at the end like kubectl's `tabbedString`.
#[derive(Default)]
pub struct Writer {
    text: String,
}

impl Writer {
    pub fn write(&mut self, level: usize, text: &str) {
        for _ in 0..level {
            self.text.push_str("  ");
        }
        self.text.push_str(text);
    }

    /// Appends without indentation (kubectl's `WriteLine` and partial writes).
    pub fn raw(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub fn finish(self) -> String {
        DESCRIBE.format(&self.text)
    }
}

/// What a description shows besides the object itself.
#[derive(Default)]
pub struct Related {
    /// Events about the object, any order.
    pub events: Vec<Event>,
    /// The pods a controller owns (for `Pods Status:`), or the pods on a node.
    pub pods: Vec<Pod>,
    /// A node's heartbeat lease.
    pub lease: Option<Lease>,
}

/// `Labels:  a=b` with one label per line, or `<none>` (kubectl's `printLabelsMultiline`).
pub fn labels_multiline(
    w: &mut Writer,
    initial_indent: &str,
    title: &str,
    labels: &BTreeMap<String, String>,
) {
    w.raw(&format!("{initial_indent}{title}:\t"));
    if labels.is_empty() {
        w.raw("<none>\n");
        return;
    }
    for (i, (k, v)) in labels.iter().enumerate() {
        if i != 0 {
            w.raw(&format!("{initial_indent}\t"));
        }
        w.raw(&format!("{k}={v}\n"));
    }
}

/// Annotations longer than this are shown on lines of their own, shortened.
const MAX_ANNOTATION_LEN: usize = 140;

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}

/// kubectl's `printAnnotationsMultiline`: `key: value`, long or multi-line values below the key.
pub fn annotations_multiline(
    w: &mut Writer,
    initial_indent: &str,
    title: &str,
    annotations: &BTreeMap<String, String>,
) {
    w.raw(&format!("{initial_indent}{title}:\t"));
    // `apply`'s bookkeeping is not shown, as kubectl hides its last-applied annotation.
    let shown: Vec<(&String, &String)> = annotations
        .iter()
        .filter(|(k, _)| k.as_str() != crate::apply_patch::LAST_APPLIED)
        .collect();
    if shown.is_empty() {
        w.raw("<none>\n");
        return;
    }
    for (i, (key, value)) in shown.into_iter().enumerate() {
        if i != 0 {
            w.raw(&format!("{initial_indent}\t"));
        }
        let value = value.strip_suffix('\n').unwrap_or(value);
        if value.len() + key.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.raw(&format!("{key}:\n"));
            for line in value.split('\n') {
                w.raw(&format!(
                    "{initial_indent}  {}\n",
                    shorten(line, MAX_ANNOTATION_LEN - 2)
                ));
            }
        } else {
            w.raw(&format!("{key}: {value}\n"));
        }
    }
}

/// The Events table (kubectl's `DescribeEvents`), oldest first; repeats show
/// `40s (x3 over 2m)`.
pub fn describe_events(w: &mut Writer, events: &[Event], clock: &Clock) {
    if events.is_empty() {
        w.write(0, "Events:\t<none>\n");
        return;
    }
    let mut sorted: Vec<&Event> = events.iter().collect();
    // Oldest first; events of the same second keep the order the store wrote them in.
    sorted.sort_by_key(|e| {
        let revision: u64 = e.metadata.resource_version.parse().unwrap_or(0);
        (e.last_timestamp.or(e.first_timestamp), revision)
    });
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.write(1, "----\t------\t----\t----\t-------\n");
    for e in sorted {
        let (first, last) = event_times(e, clock);
        let interval = if e.count > 1 {
            format!("{last} (x{} over {first})", e.count)
        } else {
            first
        };
        let source = if e.source.component.is_empty() {
            e.reporting_component.as_str()
        } else {
            e.source.component.as_str()
        };
        w.write(
            1,
            &format!(
                "{}\t{}\t{interval}\t{source}\t{}\n",
                e.type_,
                e.reason,
                e.message.trim()
            ),
        );
    }
}

/// `Pod Template:` of a controller (kubectl's `DescribePodTemplate`).
pub fn describe_pod_template(w: &mut Writer, template: &PodTemplateSpec, clock: &Clock) {
    w.write(0, "Pod Template:\n");
    labels_multiline(w, "  ", "Labels", &template.metadata.labels);
    if !template.metadata.annotations.is_empty() {
        annotations_multiline(w, "  ", "Annotations", &template.metadata.annotations);
    }
    describe_containers(
        w,
        "Containers",
        &template.spec.containers,
        None,
        "  ",
        clock,
    );
    labels_multiline(w, "  ", "Node-Selectors", &template.spec.node_selector);
}

/// `ReplicationController/crane`: the owner marked as controller.
pub fn controlled_by(meta: &skiff_api::meta::ObjectMeta) -> Option<String> {
    meta.controller_ref()
        .map(|r| format!("{}/{}", r.kind, r.name))
}

/// `Pods Status:` counts: running, waiting (pending), succeeded, failed.
pub fn pod_phase_counts(pods: &[Pod]) -> (usize, usize, usize, usize) {
    let count = |phase: &str| pods.iter().filter(|p| p.status.phase == phase).count();
    let waiting = pods
        .iter()
        .filter(|p| p.status.phase == "Pending" || p.status.phase.is_empty())
        .count();
    (
        count("Running"),
        waiting,
        count("Succeeded"),
        count("Failed"),
    )
}

#[cfg(test)]
mod tests;
