//! `skiff describe`: finds the objects (exact name, else name prefix, `-l`, `-f`), gathers their events, pods and leases, and prints kubectl's layout.

use serde::de::DeserializeOwned;
use serde_json::Value;
use skiff_api::kinds::KindInfo;
use skiff_api::selector::Selector;
use skiff_api::types::{
    CronJob, DaemonSet, Event, Job, Lease, Node, Pod, ReplicaSet, ReplicationController,
};
use skiff_client::ListOptions;

use super::manifests;
use crate::args::DescribeArgs;
use crate::ctx::{errln, out, Ctx};
use crate::describe::{
    self, annotations_multiline, describe_events, labels_multiline, Related, Writer,
};
use crate::error::CliError;
use crate::output::age::Clock;
use crate::output::yaml::to_yaml;
use crate::resources::{self, Selection};

pub async fn run(ctx: &Ctx, args: &DescribeArgs) -> Result<(), CliError> {
    let namespace = ctx.namespace().to_string();
    let list_ns = (!args.all_namespaces).then_some(namespace.as_str());
    let mut objects: Vec<(&'static KindInfo, Value)> = Vec::new();
    let mut failed = false;
    if !args.filenames.is_empty() {
        for m in manifests::load(&args.filenames)? {
            let ns = m.namespace(&namespace, ctx.config.namespace_explicit)?;
            match ctx.client.get_json(m.info.plural, &ns, m.name()).await {
                Ok(o) => objects.push((m.info, o)),
                Err(e) => {
                    errln(&crate::error::kubectl_line(&e));
                    failed = true;
                }
            }
        }
    } else {
        match resources::parse(&args.resources, "describe")? {
            Selection::ByName(pairs) => {
                for (info, name) in pairs {
                    match ctx.client.get_json(info.plural, &namespace, &name).await {
                        Ok(o) => objects.push((info, o)),
                        Err(e) => {
                            errln(&crate::error::kubectl_line(&e));
                            failed = true;
                        }
                    }
                }
            }
            Selection::ByKind { kinds, names, .. } => {
                let options = ListOptions::labels(args.selector.clone().unwrap_or_default());
                for info in kinds {
                    let list = ctx.client.list_json(info.plural, list_ns, &options).await?;
                    if names.is_empty() {
                        objects.extend(list.items.into_iter().map(|o| (info, o)));
                        continue;
                    }
                    for name in &names {
                        let name_of = |o: &Value| {
                            o.pointer("/metadata/name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string()
                        };
                        // An exact match wins; otherwise every object whose name starts with it.
                        let exact: Vec<&Value> =
                            list.items.iter().filter(|o| name_of(o) == *name).collect();
                        let chosen: Vec<&Value> = if exact.is_empty() {
                            list.items
                                .iter()
                                .filter(|o| name_of(o).starts_with(name.as_str()))
                                .collect()
                        } else {
                            exact
                        };
                        if chosen.is_empty() {
                            errln(
                                &skiff_api::error::ApiError::not_found(
                                    &info.qualified_resource(),
                                    name,
                                )
                                .to_kubectl_string(),
                            );
                            failed = true;
                        }
                        objects.extend(chosen.into_iter().map(|o| (info, o.clone())));
                    }
                }
                if objects.is_empty() && !failed {
                    errln(&format!("No resources found in {namespace} namespace."));
                }
            }
        }
    }
    let mut first = true;
    for (info, object) in &objects {
        let text = describe_one(ctx, info, object).await?;
        if first {
            out(&text);
            first = false;
        } else {
            out(&format!("\n\n{text}"));
        }
    }
    if failed {
        Err(CliError::AlreadyReported)
    } else {
        Ok(())
    }
}

fn typed<T: DeserializeOwned>(info: &KindInfo, object: &Value) -> Result<T, CliError> {
    serde_json::from_value(object.clone()).map_err(|e| {
        CliError::msg(format!(
            "cannot read a {} from the apiserver: {e}",
            info.kind
        ))
    })
}

fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Events whose involved object is `object`, from its namespace (every namespace for
/// cluster-scoped kinds, whose events live in `default`).
async fn events_for(ctx: &Ctx, info: &KindInfo, object: &Value) -> Result<Vec<Event>, CliError> {
    let namespace = meta_str(object, "namespace");
    let scope = info.namespaced.then_some(namespace);
    let list = ctx
        .client
        .list::<Event>(scope, &ListOptions::default())
        .await?;
    let (uid, name) = (meta_str(object, "uid"), meta_str(object, "name"));
    Ok(list
        .items
        .into_iter()
        .filter(|e| {
            let o = &e.involved_object;
            o.kind == info.kind
                && o.name == name
                && (o.uid.is_empty() || uid.is_empty() || o.uid == uid)
        })
        .collect())
}

/// The pods a controller owns: they match its selector and name it as their controller.
async fn owned_pods(ctx: &Ctx, object: &Value, selector: &Selector) -> Result<Vec<Pod>, CliError> {
    let namespace = meta_str(object, "namespace");
    let uid = meta_str(object, "uid");
    let list = ctx
        .client
        .list::<Pod>(Some(namespace), &ListOptions::labels(selector.to_string()))
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter(|p| p.metadata.controller_ref().is_some_and(|r| r.uid == uid))
        .collect())
}

fn label_selector(ls: Option<&skiff_api::selector::LabelSelector>) -> Selector {
    ls.and_then(|ls| Selector::from_label_selector(ls).ok())
        .unwrap_or_default()
}

async fn describe_one(
    ctx: &Ctx,
    info: &'static KindInfo,
    object: &Value,
) -> Result<String, CliError> {
    let clock = ctx.clock();
    let mut related = Related {
        events: events_for(ctx, info, object).await?,
        ..Related::default()
    };
    Ok(match info.kind {
        "Pod" => describe::describe_pod(&typed(info, object)?, &related, &clock),
        "ReplicationController" => {
            let rc: ReplicationController = typed(info, object)?;
            related.pods = owned_pods(ctx, object, &Selector::from_map(&rc.spec.selector)).await?;
            describe::describe_rc(&rc, &related, &clock)
        }
        "ReplicaSet" => {
            let rs: ReplicaSet = typed(info, object)?;
            related.pods =
                owned_pods(ctx, object, &label_selector(rs.spec.selector.as_ref())).await?;
            describe::describe_rs(&rs, &related, &clock)
        }
        "DaemonSet" => {
            let ds: DaemonSet = typed(info, object)?;
            related.pods =
                owned_pods(ctx, object, &label_selector(ds.spec.selector.as_ref())).await?;
            describe::describe_daemonset(&ds, &related, &clock)
        }
        "Job" => describe::describe_job(&typed::<Job>(info, object)?, &related, &clock),
        "CronJob" => describe::describe_cronjob(&typed::<CronJob>(info, object)?, &related, &clock),
        "Node" => {
            let node: Node = typed(info, object)?;
            let name = node.metadata.name.clone();
            related.lease = ctx
                .client
                .get_opt::<Lease>("kube-node-lease", &name)
                .await
                .ok()
                .flatten();
            related.pods = ctx
                .client
                .list::<Pod>(None, &ListOptions::fields(format!("spec.nodeName={name}")))
                .await?
                .items;
            describe::describe_node(&node, &related, &clock)
        }
        "Namespace" => describe_namespace(object),
        _ => generic(object, &related, &clock),
    })
}

/// kubectl's namespace description (skiff has no quotas or limit ranges to list).
fn describe_namespace(object: &Value) -> String {
    let mut w = Writer::default();
    w.write(0, &format!("Name:\t{}\n", meta_str(object, "name")));
    labels_multiline(&mut w, "", "Labels", &string_map(object, "labels"));
    annotations_multiline(
        &mut w,
        "",
        "Annotations",
        &string_map(object, "annotations"),
    );
    let phase = object
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Active");
    w.write(0, &format!("Status:\t{phase}\n"));
    w.finish()
}

fn string_map(object: &Value, field: &str) -> std::collections::BTreeMap<String, String> {
    object
        .pointer(&format!("/metadata/{field}"))
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Kinds without a layout of their own: metadata, then the rest of the object as YAML.
fn generic(object: &Value, related: &Related, clock: &Clock) -> String {
    let mut w = Writer::default();
    let map = |field: &str| string_map(object, field);
    w.write(0, &format!("Name:\t{}\n", meta_str(object, "name")));
    let namespace = meta_str(object, "namespace");
    if !namespace.is_empty() {
        w.write(0, &format!("Namespace:\t{namespace}\n"));
    }
    labels_multiline(&mut w, "", "Labels", &map("labels"));
    annotations_multiline(&mut w, "", "Annotations", &map("annotations"));
    if let Some(rest) = object.as_object() {
        let mut rest = rest.clone();
        for key in ["apiVersion", "kind", "metadata"] {
            rest.remove(key);
        }
        if !rest.is_empty() {
            // Tabs inside the YAML would be taken for columns.
            w.raw(&to_yaml(&Value::Object(rest)).replace('\t', "    "));
        }
    }
    describe_events(&mut w, &related.events, clock);
    w.finish()
}
