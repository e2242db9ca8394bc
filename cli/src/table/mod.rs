//! `get` tables: kubectl's columns per kind (shared with the apiserver's Table, in
//! `skiff_api::table`), plus NAMESPACE (`-A`), LABELS (`--show-labels`) and `kind/name` prefixes when several kinds are shown.

pub use skiff_api::table::{cluster, pods, workloads};

use serde_json::Value;
use skiff_api::kinds::KindInfo;

use crate::error::CliError;
use crate::output::age::Clock;
use crate::output::tabwriter::{RememberedWidths, TABLE};

/// What to show besides a kind's own columns.
#[derive(Clone, Debug, Default)]
pub struct TableOptions {
    pub wide: bool,
    pub show_labels: bool,
    /// A NAMESPACE column first (`-A`), for namespaced kinds.
    pub namespace_column: bool,
    /// Names as `pod/x`, `replicaset.apps/x` (several kinds in one output).
    pub kind_prefix: bool,
}

/// Rows of cells under a header.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table aligned as kubectl prints it.
    pub fn render(&self, with_headers: bool) -> String {
        let mut text = String::new();
        let lines = with_headers
            .then_some(&self.headers)
            .into_iter()
            .chain(self.rows.iter());
        for cells in lines {
            text.push_str(&cells.join("\t"));
            text.push('\n');
        }
        TABLE.format(&text)
    }

    /// Rendering for `get -w`: the widths of earlier rows are kept.
    pub fn render_remembered(&self, with_headers: bool, widths: &mut RememberedWidths) -> String {
        let mut rows: Vec<Vec<String>> = Vec::new();
        if with_headers {
            rows.push(self.headers.clone());
        }
        rows.extend(self.rows.iter().cloned());
        widths.format_rows(&rows)
    }
}

/// `pod`, `replicaset.apps`: the prefix of `-o name` and of names in mixed output.
pub fn kind_prefix(info: &KindInfo) -> String {
    if info.group.is_empty() {
        info.singular.to_string()
    } else {
        format!("{}.{}", info.singular, info.group)
    }
}

fn str_at<'a>(item: &'a Value, pointer: &str) -> &'a str {
    item.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `k=v,k2=v2` of an object's labels, `<none>` when it has none.
fn labels_cell(item: &Value) -> String {
    match item.pointer("/metadata/labels").and_then(Value::as_object) {
        Some(labels) if !labels.is_empty() => {
            let mut pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            pairs.sort();
            pairs.join(",")
        }
        _ => "<none>".to_string(),
    }
}

/// The table of `items`, all of kind `info`.
pub fn build(
    info: &KindInfo,
    items: &[Value],
    options: &TableOptions,
    clock: &Clock,
) -> Result<Table, CliError> {
    let namespace_column = options.namespace_column && info.namespaced;
    let mut headers: Vec<String> = Vec::new();
    if namespace_column {
        headers.push("NAMESPACE".into());
    }
    headers.extend(
        skiff_api::table::headers(info.kind, options.wide)
            .into_iter()
            .map(String::from),
    );
    if options.show_labels {
        headers.push("LABELS".into());
    }
    let mut ordered: Vec<&Value> = items.iter().collect();
    if info.kind == "Event" {
        // Oldest first, like `describe`: the latest events end up next to the prompt.
        ordered.sort_by_key(|e| {
            let last = str_at(e, "/lastTimestamp");
            let at = if last.is_empty() {
                str_at(e, "/firstTimestamp").to_string()
            } else {
                last.to_string()
            };
            // Within one second, the order the store wrote them in.
            let revision: u64 = str_at(e, "/metadata/resourceVersion").parse().unwrap_or(0);
            (at, revision)
        });
    }
    let mut rows = Vec::with_capacity(items.len());
    for item in ordered {
        let mut cells = skiff_api::table::row(info.kind, item, options.wide, clock)
            .map_err(|e| CliError::msg(e.message))?;
        if options.kind_prefix && info.kind != "Event" {
            if let Some(name) = cells.first_mut() {
                *name = format!("{}/{name}", kind_prefix(info));
            }
        }
        if namespace_column {
            cells.insert(0, str_at(item, "/metadata/namespace").to_string());
        }
        if options.show_labels {
            cells.push(labels_cell(item));
        }
        rows.push(cells);
    }
    Ok(Table { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use skiff_api::kinds;

    fn clock() -> Clock {
        Clock::fixed(Utc.with_ymd_and_hms(2024, 5, 5, 10, 0, 0).unwrap())
    }

    fn pod(ns: &str, name: &str, phase: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2024-05-05T09:59:15Z", "labels": {"app": "kubia", "env": "prod"}},
            "spec": {"containers": [{"name": "c", "image": "luksa/kubia"}], "nodeName": "node-1"},
            "status": {"phase": phase, "podIP": "127.42.0.7", "containerStatuses": [{"name": "c", "ready": phase == "Running", "restartCount": 0, "state": {"running": {}}}]}})
    }

    #[test]
    fn golden_pod_tables() {
        let info = kinds::lookup_cli("po").unwrap();
        let items = [
            pod("default", "kubia-liveness", "Running"),
            pod("kube-system", "x", "Pending"),
        ];
        let plain = build(info, &items, &TableOptions::default(), &clock()).unwrap();
        assert_eq!(
            plain.render(true),
            "NAME             READY   STATUS    RESTARTS   AGE\n\
             kubia-liveness   1/1     Running   0          45s\n\
             x                0/1     Pending   0          45s\n"
        );
        let all = TableOptions {
            wide: true,
            show_labels: true,
            namespace_column: true,
            kind_prefix: true,
        };
        assert_eq!(
            build(info, &items, &all, &clock()).unwrap().render(true),
            "NAMESPACE     NAME                 READY   STATUS    RESTARTS   AGE   IP           NODE     LABELS\n\
             default       pod/kubia-liveness   1/1     Running   0          45s   127.42.0.7   node-1   app=kubia,env=prod\n\
             kube-system   pod/x                0/1     Pending   0          45s   127.42.0.7   node-1   app=kubia,env=prod\n"
        );
    }

    #[test]
    fn golden_controller_table_and_prefixes() {
        let info = kinds::lookup_cli("rs").unwrap();
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "crane", "namespace": "default", "creationTimestamp": "2024-05-05T09:57:58Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "crane"}}, "template": {"spec": {"containers": [{"name": "crane", "image": "heejeong/crane"}]}}},
            "status": {"replicas": 3, "readyReplicas": 3}});
        let options = TableOptions {
            kind_prefix: true,
            ..TableOptions::default()
        };
        assert_eq!(
            build(info, &[rs], &options, &clock()).unwrap().render(true),
            "NAME                    DESIRED   CURRENT   READY   AGE\n\
             replicaset.apps/crane   3         3         3       2m2s\n"
        );
        // Nodes are cluster-scoped: no NAMESPACE column even with -A.
        let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "creationTimestamp": "2024-05-03T07:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v0.1.0"}}});
        let options = TableOptions {
            namespace_column: true,
            ..TableOptions::default()
        };
        assert_eq!(
            build(
                kinds::lookup_cli("no").unwrap(),
                &[node],
                &options,
                &clock()
            )
            .unwrap()
            .render(true),
            "NAME     STATUS   ROLES    AGE    VERSION\nnode-1   Ready    <none>   2d3h   v0.1.0\n"
        );
    }
}
