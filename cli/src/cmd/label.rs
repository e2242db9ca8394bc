//! `skiff label`: add (`k=v`), change (`--overwrite`) and remove (`k-`) labels on any kind, nodes included.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use skiff_api::kinds::KindInfo;
use skiff_api::labels::{validate_label_key, validate_label_value};
use skiff_client::ListOptions;

use crate::args::LabelArgs;
use crate::ctx::{errln, outln, Ctx};
use crate::error::CliError;
use crate::resources::{self, Selection};
use crate::table::kind_prefix;

/// The label changes asked for, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Set(String, String),
    Remove(String),
}

fn is_change(arg: &str) -> bool {
    arg.contains('=') || (arg.ends_with('-') && !arg.contains('/'))
}

/// Splits the arguments into resources and label changes, checking the label syntax.
pub fn split(args: &[String]) -> Result<(Vec<String>, Vec<Change>), CliError> {
    let first_change = args.iter().position(|a| is_change(a)).unwrap_or(args.len());
    let (resources, changes) = args.split_at(first_change);
    if changes.is_empty() {
        return Err(CliError::msg("at least one label update is required"));
    }
    let mut out = Vec::new();
    for arg in changes {
        if let Some((key, value)) = arg.split_once('=') {
            validate_label_key(key)
                .and_then(|()| validate_label_value(value))
                .map_err(|why| CliError::msg(format!("invalid label spec: {arg}: {why}")))?;
            out.push(Change::Set(key.to_string(), value.to_string()));
        } else if let Some(key) = arg.strip_suffix('-') {
            validate_label_key(key)
                .map_err(|why| CliError::msg(format!("invalid label spec: {arg}: {why}")))?;
            out.push(Change::Remove(key.to_string()));
        } else {
            return Err(CliError::msg(format!(
                "all resources must be specified before label changes: {arg}"
            )));
        }
    }
    Ok((resources.to_vec(), out))
}

/// The merge patch for `changes` on an object with `labels`, and the word kubectl prints:
/// `labeled`, `unlabeled` or `not labeled`.
pub fn plan(
    labels: &BTreeMap<String, String>,
    changes: &[Change],
    overwrite: bool,
) -> Result<(Map<String, Value>, &'static str), CliError> {
    let mut patch = Map::new();
    for change in changes {
        match change {
            Change::Set(key, value) => match labels.get(key) {
                Some(old) if old == value => {}
                Some(old) if !overwrite => {
                    return Err(CliError::msg(format!(
                        "'{key}' already has a value ({old}), and --overwrite is false"
                    )));
                }
                _ => {
                    patch.insert(key.clone(), Value::String(value.clone()));
                }
            },
            Change::Remove(key) => {
                if labels.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                } else {
                    errln(&format!("label {key:?} not found."));
                }
            }
        }
    }
    let word = if patch.is_empty() {
        "not labeled"
    } else if patch.values().all(Value::is_null) {
        "unlabeled"
    } else {
        "labeled"
    };
    Ok((patch, word))
}

pub async fn run(ctx: &Ctx, args: &LabelArgs) -> Result<(), CliError> {
    let (resource_args, changes) = split(&args.args)?;
    let namespace = ctx.namespace().to_string();
    let mut targets: Vec<(&'static KindInfo, String)> = Vec::new();
    match resources::parse(&resource_args, "label")? {
        Selection::ByName(pairs) => targets = pairs,
        Selection::ByKind { kinds, names, .. } if !names.is_empty() => {
            for info in &kinds {
                targets.extend(names.iter().map(|n| (*info, n.clone())));
            }
        }
        Selection::ByKind { kinds, .. } => {
            if !args.all && args.selector.is_none() {
                return Err(CliError::msg(
                    "resource(s) were provided, but no name was specified",
                ));
            }
            let options = ListOptions::labels(args.selector.clone().unwrap_or_default());
            for info in kinds {
                let list = ctx
                    .client
                    .list_json(info.plural, Some(&namespace), &options)
                    .await?;
                for item in list.items {
                    if let Some(name) = item.pointer("/metadata/name").and_then(Value::as_str) {
                        targets.push((info, name.to_string()));
                    }
                }
            }
        }
    }
    let mut failed = false;
    for (info, name) in targets {
        if let Err(e) = label_one(ctx, info, &namespace, &name, &changes, args.overwrite).await {
            errln(&e.to_string());
            failed = true;
        }
    }
    if failed {
        Err(CliError::AlreadyReported)
    } else {
        Ok(())
    }
}

async fn label_one(
    ctx: &Ctx,
    info: &'static KindInfo,
    namespace: &str,
    name: &str,
    changes: &[Change],
    overwrite: bool,
) -> Result<(), CliError> {
    let object = ctx.client.get_json(info.plural, namespace, name).await?;
    let labels: BTreeMap<String, String> = object
        .pointer("/metadata/labels")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let (patch, word) = plan(&labels, changes, overwrite)?;
    if !patch.is_empty() {
        let body = json!({"metadata": {"labels": patch}});
        ctx.client
            .patch_json(info.plural, namespace, name, &body)
            .await?;
    }
    outln(&format!("{}/{name} {word}", kind_prefix(info)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_split_into_resources_and_changes() {
        let (r, c) = split(&args(&["pod", "a", "b", "app=x", "env-"])).unwrap();
        assert_eq!(r, ["pod", "a", "b"]);
        assert_eq!(
            c,
            [
                Change::Set("app".into(), "x".into()),
                Change::Remove("env".into())
            ]
        );
        let (r, _) = split(&args(&["node/node-1", "disk=hdd"])).unwrap();
        assert_eq!(r, ["node/node-1"]);
        assert!(split(&args(&["pod", "a"])).is_err());
        let e = split(&args(&["pod", "a", "app=not ok"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("error: invalid label spec: app=not ok"),
            "{e}"
        );
    }

    #[test]
    fn overwriting_needs_the_flag() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "kubia".to_string())].into();
        let err = plan(&labels, &[Change::Set("app".into(), "x".into())], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "error: 'app' already has a value (kubia), and --overwrite is false"
        );
        let (patch, word) = plan(&labels, &[Change::Set("app".into(), "x".into())], true).unwrap();
        assert_eq!(
            (Value::Object(patch), word),
            (json!({"app": "x"}), "labeled")
        );
        let (patch, word) =
            plan(&labels, &[Change::Set("app".into(), "kubia".into())], false).unwrap();
        assert!(patch.is_empty());
        assert_eq!(word, "not labeled");
        let (patch, word) = plan(&labels, &[Change::Remove("app".into())], false).unwrap();
        assert_eq!(
            (Value::Object(patch), word),
            (json!({"app": null}), "unlabeled")
        );
    }
}
