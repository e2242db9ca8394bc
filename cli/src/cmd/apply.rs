//! `skiff create -f` and `skiff apply -f`: one line per object (`pod/x created`, `configured`, `unchanged`), errors per object, exit 1 if any failed.

use serde_json::Value;
use skiff_api::error::ApiError;

use super::manifests::{self, Manifest};
use crate::apply_patch::{three_way, with_last_applied, LAST_APPLIED};
use crate::args::FileArgs;
use crate::ctx::{errln, outln, Ctx};
use crate::error::{with_file_context, CliError};
use crate::table::kind_prefix;

/// Whether objects that exist are updated (`apply`) or an error (`create`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Apply,
}

fn created_name(reply: &Value, manifest: &Manifest) -> String {
    reply
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or(manifest.name())
        .to_string()
}

pub async fn run(ctx: &Ctx, args: &FileArgs, mode: Mode) -> Result<(), CliError> {
    let manifests = manifests::load(&args.filenames)?;
    let mut failed = false;
    for manifest in &manifests {
        let outcome = match mode {
            Mode::Create => create(ctx, manifest).await,
            Mode::Apply => apply(ctx, manifest).await,
        };
        if let Err(e) = outcome {
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

fn api_failure(e: ApiError, verb: &str, manifest: &Manifest) -> CliError {
    CliError::Raw(with_file_context(&e, verb, &manifest.source))
}

async fn create(ctx: &Ctx, manifest: &Manifest) -> Result<(), CliError> {
    let namespace = manifest.namespace(ctx.namespace(), ctx.config.namespace_explicit)?;
    let object = manifest.object_in(&namespace);
    let reply = ctx
        .client
        .create_json(manifest.info.plural, &namespace, &object)
        .await
        .map_err(|e| api_failure(e, "creating", manifest))?;
    outln(&format!(
        "{}/{} created",
        kind_prefix(manifest.info),
        created_name(&reply, manifest)
    ));
    Ok(())
}

async fn apply(ctx: &Ctx, manifest: &Manifest) -> Result<(), CliError> {
    let name = manifest.name();
    if name.is_empty() {
        return Err(CliError::msg(format!(
            "error when retrieving current configuration of {:?}: resource name may not be empty",
            manifest.source
        )));
    }
    let prefix = kind_prefix(manifest.info);
    let namespace = manifest.namespace(ctx.namespace(), ctx.config.namespace_explicit)?;
    let live = match ctx
        .client
        .get_json(manifest.info.plural, &namespace, name)
        .await
    {
        Ok(live) => live,
        Err(e) if e.is_not_found() => {
            // The annotation keeps the manifest as written, which later applies compare with.
            let mut object = with_last_applied(&manifest.object);
            if manifest.info.namespaced {
                object["metadata"]["namespace"] = Value::String(namespace.clone());
            }
            ctx.client
                .create_json(manifest.info.plural, &namespace, &object)
                .await
                .map_err(|e| api_failure(e, "creating", manifest))?;
            outln(&format!("{prefix}/{name} created"));
            return Ok(());
        }
        Err(e) => {
            return Err(api_failure(
                e,
                "retrieving current configuration of",
                manifest,
            ))
        }
    };
    let pointer = format!("/metadata/annotations/{}", LAST_APPLIED.replace('/', "~1"));
    let last: Option<Value> = live
        .pointer(&pointer)
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok());
    if last.is_none() {
        errln(&format!(
            "Warning: resource {}/{name} is missing the {LAST_APPLIED} annotation which is required by skiff apply. \
             skiff apply should only be used on resources created declaratively by skiff apply. \
             The missing annotation will be patched automatically.",
            manifest.info.plural
        ));
    }
    let patch = three_way(last.as_ref(), &manifest.object, &live);
    if patch.is_empty() {
        outln(&format!("{prefix}/{name} unchanged"));
        return Ok(());
    }
    ctx.client
        .patch_json(
            manifest.info.plural,
            &namespace,
            name,
            &Value::Object(patch),
        )
        .await
        .map_err(|e| api_failure(e, "patching", manifest))?;
    outln(&format!("{prefix}/{name} configured"));
    Ok(())
}
