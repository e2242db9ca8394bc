//! `skiff get`: tables, `-o wide|yaml|json|name`, labels, selectors, several kinds, and `-w`.

use futures::StreamExt;
use serde_json::{json, Value};
use skiff_api::kinds::KindInfo;
use skiff_client::{ListOptions, WatchEvent, WatchOptions};

use crate::args::{GetArgs, Output};
use crate::ctx::{errln, out, outln, Ctx};
use crate::error::CliError;
use crate::output::tabwriter::RememberedWidths;
use crate::output::yaml::to_yaml;
use crate::resources::{self, Selection};
use crate::table::{self, kind_prefix, TableOptions};

/// The objects found for one kind.
struct Found {
    info: &'static KindInfo,
    items: Vec<Value>,
    resource_version: String,
}

pub async fn run(ctx: &Ctx, args: &GetArgs) -> Result<(), CliError> {
    let selection = resources::parse(&args.resources, "get")?;
    let namespace = (!args.all_namespaces).then(|| ctx.namespace().to_string());
    let list_options = ListOptions {
        label_selector: args.selector.clone().unwrap_or_default(),
        field_selector: args.field_selector.clone().unwrap_or_default(),
    };
    if (args.watch || args.watch_only) && kinds_of(&selection).len() > 1 {
        return Err(CliError::msg(
            "you may only specify a single resource type with --watch",
        ));
    }
    let mut failed = false;
    let mut found: Vec<Found> = Vec::new();
    let mut single_object = false;
    match &selection {
        Selection::ByKind { kinds, names, .. } if names.is_empty() => {
            for info in kinds {
                let list = ctx
                    .client
                    .list_json(info.plural, namespace.as_deref(), &list_options)
                    .await?;
                found.push(Found {
                    info,
                    items: list.items,
                    resource_version: list.resource_version,
                });
            }
        }
        _ => {
            let pairs = named_objects(&selection);
            single_object = pairs.len() == 1;
            let ns = ctx.namespace().to_string();
            for (info, name) in pairs {
                match ctx.client.get_json(info.plural, &ns, &name).await {
                    Ok(object) => push_item(&mut found, info, object),
                    Err(e) if e.is_not_found() && args.ignore_not_found => {}
                    Err(e) => {
                        errln(&crate::error::kubectl_line(&e));
                        failed = true;
                    }
                }
            }
        }
    }
    let mut widths = RememberedWidths::default();
    if !args.watch_only {
        let printed = Printed {
            selection: &selection,
            found: &found,
            single_object,
            namespace: namespace.as_deref(),
        };
        print_found(ctx, args, &printed, &mut widths)?;
    }
    if args.watch || args.watch_only {
        let info = kinds_of(&selection)[0];
        let names: Vec<String> = named_objects(&selection)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let rv = found
            .first()
            .map(|f| f.resource_version.clone())
            .unwrap_or_default();
        let scope = WatchScope {
            info,
            namespace: namespace.as_deref(),
            list: &list_options,
            names: &names,
        };
        watch(ctx, args, &scope, rv, widths).await?;
    }
    if failed {
        Err(CliError::AlreadyReported)
    } else {
        Ok(())
    }
}

fn kinds_of(selection: &Selection) -> Vec<&'static KindInfo> {
    match selection {
        Selection::ByKind { kinds, .. } => kinds.clone(),
        Selection::ByName(pairs) => {
            let mut kinds: Vec<&'static KindInfo> = Vec::new();
            for (k, _) in pairs {
                if !kinds.contains(k) {
                    kinds.push(k);
                }
            }
            kinds
        }
    }
}

fn named_objects(selection: &Selection) -> Vec<(&'static KindInfo, String)> {
    match selection {
        Selection::ByKind { kinds, names, .. } => kinds
            .iter()
            .flat_map(|k| names.iter().map(move |n| (*k, n.clone())))
            .collect(),
        Selection::ByName(pairs) => pairs.clone(),
    }
}

fn push_item(found: &mut Vec<Found>, info: &'static KindInfo, object: Value) {
    match found.iter_mut().find(|f| f.info == info) {
        Some(f) => f.items.push(object),
        None => found.push(Found {
            info,
            items: vec![object],
            resource_version: String::new(),
        }),
    }
}

fn options(args: &GetArgs, selection: &Selection) -> TableOptions {
    TableOptions {
        wide: args.output == Some(Output::Wide),
        show_labels: args.show_labels,
        namespace_column: args.all_namespaces,
        kind_prefix: selection.mixes_kinds(),
    }
}

/// kubectl's message for an empty result, on stderr.
fn no_resources(namespace: Option<&str>, kinds: &[&KindInfo]) -> String {
    match namespace {
        Some(ns) if kinds.iter().any(|k| k.namespaced) => {
            format!("No resources found in {ns} namespace.")
        }
        _ => "No resources found".to_string(),
    }
}

/// What `get` found, and how it was asked for.
struct Printed<'a> {
    selection: &'a Selection,
    found: &'a [Found],
    single_object: bool,
    namespace: Option<&'a str>,
}

fn print_found(
    ctx: &Ctx,
    args: &GetArgs,
    printed: &Printed<'_>,
    widths: &mut RememberedWidths,
) -> Result<(), CliError> {
    let Printed {
        selection,
        found,
        single_object,
        namespace,
    } = *printed;
    let total: usize = found.iter().map(|f| f.items.len()).sum();
    match args.output {
        Some(Output::Json) | Some(Output::Yaml) => {
            let mut items: Vec<Value> =
                found.iter().flat_map(|f| f.items.iter().cloned()).collect();
            if !args.show_managed_fields {
                items.iter_mut().for_each(hide_managed_fields);
            }
            let document = if single_object && items.len() == 1 {
                items[0].clone()
            } else {
                json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
            };
            print_document(args.output, &document)?;
        }
        Some(Output::Name) => {
            for f in found {
                for item in &f.items {
                    outln(&name_of(f.info, item));
                }
            }
        }
        Some(Output::Wide) | None => {
            if total == 0 {
                if !named(selection) && !args.watch {
                    errln(&no_resources(namespace, &kinds_of(selection)));
                }
                return Ok(());
            }
            let options = options(args, selection);
            let clock = ctx.clock();
            let mut first = true;
            for f in found.iter().filter(|f| !f.items.is_empty()) {
                let table = table::build(f.info, &f.items, &options, &clock)?;
                if !first {
                    out("\n");
                }
                first = false;
                if args.watch {
                    // Rows printed later by the watch line up with these.
                    out(&table.render_remembered(!args.no_headers, widths));
                } else {
                    out(&table.render(!args.no_headers));
                }
            }
        }
    }
    Ok(())
}

fn named(selection: &Selection) -> bool {
    match selection {
        Selection::ByKind { names, .. } => !names.is_empty(),
        Selection::ByName(_) => true,
    }
}

/// `pod/kubia`, `replicaset.apps/crane`.
pub fn name_of(info: &KindInfo, item: &Value) -> String {
    let name = item
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{}/{name}", kind_prefix(info))
}

/// Leaves out `metadata.managedFields`, as kubectl does without `--show-managed-fields`.
pub fn hide_managed_fields(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

pub fn print_document(output: Option<Output>, document: &Value) -> Result<(), CliError> {
    if output == Some(Output::Json) {
        let text = serde_json::to_string_pretty(document)
            .map_err(|e| CliError::msg(format!("cannot write JSON: {e}")))?;
        outln(&text);
    } else {
        out(&to_yaml(document));
    }
    Ok(())
}

/// Streams changes after `resource_version`, one row (or document) per change. A watch the
/// server ends (Expired, or an apiserver going away) is started again from a fresh list.
/// What a watch reports on.
struct WatchScope<'a> {
    info: &'static KindInfo,
    namespace: Option<&'a str>,
    list: &'a ListOptions,
    names: &'a [String],
}

async fn watch(
    ctx: &Ctx,
    args: &GetArgs,
    scope: &WatchScope<'_>,
    mut resource_version: String,
    mut widths: RememberedWidths,
) -> Result<(), CliError> {
    let WatchScope {
        info,
        namespace,
        list,
        names,
    } = *scope;
    let selection = Selection::ByKind {
        kinds: vec![info],
        names: vec![],
        all: false,
    };
    let options = options(args, &selection);
    let mut header_pending = args.watch_only && args.output.is_none_or(|o| o == Output::Wide);
    loop {
        if resource_version.is_empty() {
            resource_version = ctx
                .client
                .list_json(info.plural, namespace, list)
                .await?
                .resource_version;
        }
        let watch_options = WatchOptions {
            label_selector: list.label_selector.clone(),
            field_selector: list.field_selector.clone(),
            resource_version: resource_version.clone(),
            allow_bookmarks: true,
        };
        let mut stream = ctx
            .client
            .watch_json(info.plural, namespace, &watch_options)
            .await?;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) if e.is_expired() => break,
                Err(e) => return Err(e.into()),
            };
            let object = match event {
                WatchEvent::Bookmark {
                    resource_version: rv,
                } => {
                    resource_version = rv;
                    continue;
                }
                WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
            };
            if let Some(rv) = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
            {
                resource_version = rv.to_string();
            }
            let name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !names.is_empty() && !names.iter().any(|n| n == name) {
                continue;
            }
            match args.output {
                Some(Output::Json) | Some(Output::Yaml) => {
                    if args.output == Some(Output::Yaml) {
                        out("---\n");
                    }
                    let mut object = object;
                    if !args.show_managed_fields {
                        hide_managed_fields(&mut object);
                    }
                    print_document(args.output, &object)?;
                }
                Some(Output::Name) => outln(&name_of(info, &object)),
                Some(Output::Wide) | None => {
                    let table = table::build(info, &[object], &options, &ctx.clock())?;
                    let header = std::mem::take(&mut header_pending) && !args.no_headers;
                    out(&table.render_remembered(header, &mut widths));
                }
            }
        }
        // The stream ended (expired or the apiserver went away): list again and go on.
        resource_version.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::kinds::lookup_cli;

    #[test]
    fn names_and_empty_results_read_like_kubectl() {
        let rs = lookup_cli("rs").unwrap();
        let item = json!({"metadata": {"name": "crane"}});
        assert_eq!(name_of(rs, &item), "replicaset.apps/crane");
        assert_eq!(name_of(lookup_cli("po").unwrap(), &item), "pod/crane");
        let pods = [lookup_cli("po").unwrap()];
        assert_eq!(
            no_resources(Some("default"), &pods),
            "No resources found in default namespace."
        );
        assert_eq!(no_resources(None, &pods), "No resources found");
        assert_eq!(
            no_resources(Some("default"), &[lookup_cli("no").unwrap()]),
            "No resources found"
        );
    }
}
