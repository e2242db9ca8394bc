//! `skiff edit TYPE NAME`: the object in `$KUBE_EDITOR`, else `$EDITOR`, else `vi`; an invalid result is reopened with the errors as a comment header, as kubectl does.

use std::path::Path;

use serde_json::Value;
use skiff_api::error::{ApiError, Reason};
use skiff_api::manifest::parse_manifests;

use crate::apply_patch::merge_patch;
use crate::args::EditArgs;
use crate::ctx::{errln, outln, Ctx};
use crate::error::CliError;
use crate::output::yaml::to_yaml;
use crate::resources;
use crate::table::kind_prefix;

const HEADER: &str = "\
# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
";

/// The text shown in the editor: the header, the reasons the last try failed, the object.
pub fn editor_text(reasons: &[(String, Vec<String>)], body: &str) -> String {
    let mut text = HEADER.to_string();
    for (head, details) in reasons {
        let hash = |s: &str| s.replace('\n', "\n# ");
        if details.is_empty() {
            text.push_str(&format!("# {}\n", hash(head)));
        } else {
            text.push_str(&format!("# {}:\n", hash(head)));
        }
        for d in details {
            text.push_str(&format!("# * {}\n", hash(d)));
        }
        text.push_str("#\n");
    }
    text.push_str(body);
    text
}

/// The file without its comment lines, as kubectl compares and reads it.
pub fn strip_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Why the server refused the edited object, as the header lists it.
pub fn reasons_for(error: &ApiError, resource: &str, name: &str) -> (String, Vec<String>) {
    let head = format!("{resource} {name:?} was not valid");
    let details = match error.reason {
        Reason::Invalid if !error.details.causes.is_empty() => error
            .details
            .causes
            .iter()
            .map(ToString::to_string)
            .collect(),
        _ => vec![error.message.clone()],
    };
    (head, details)
}

fn editor_command() -> String {
    ["KUBE_EDITOR", "EDITOR"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

/// Runs the editor on `path` with the terminal attached; the editor may carry arguments
/// (`code --wait`), so it goes through the shell.
fn run_editor(path: &Path) -> Result<(), CliError> {
    let editor = editor_command();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("skiff-edit")
        .arg(path)
        .status()
        .map_err(|e| CliError::msg(format!("cannot start the editor {editor:?}: {e}")))?;
    if !status.success() {
        return Err(CliError::msg(format!(
            "there was a problem with the editor {editor:?}: {status}"
        )));
    }
    Ok(())
}

fn serialize(object: &Value, json: bool) -> Result<String, CliError> {
    if json {
        serde_json::to_string_pretty(object)
            .map(|s| s + "\n")
            .map_err(|e| CliError::msg(format!("cannot write JSON: {e}")))
    } else {
        Ok(to_yaml(object))
    }
}

pub async fn run(ctx: &Ctx, args: &EditArgs) -> Result<(), CliError> {
    let json = match args.output.as_str() {
        "yaml" => false,
        "json" => true,
        other => {
            return Err(CliError::msg(format!(
                "the edit mode must be yaml or json, not {other:?}"
            )))
        }
    };
    let (info, name) = resources::one_object(&args.resources, "edit")?;
    let namespace = ctx.namespace().to_string();
    let original = ctx.client.get_json(info.plural, &namespace, &name).await?;
    let file = tempfile::Builder::new()
        .prefix("skiff-edit-")
        .suffix(if json { ".json" } else { ".yaml" })
        .tempfile()
        .map_err(|e| CliError::msg(format!("cannot create a temporary file: {e}")))?;
    let path = file.path().to_path_buf();
    let mut body = serialize(&original, json)?;
    let mut reasons: Vec<(String, Vec<String>)> = Vec::new();
    loop {
        let shown = editor_text(&reasons, &body);
        std::fs::write(&path, &shown)
            .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;
        run_editor(&path)?;
        let edited = std::fs::read_to_string(&path)
            .map_err(|e| CliError::msg(format!("cannot read {}: {e}", path.display())))?;
        let stripped = strip_comments(&edited);
        if stripped.trim().is_empty() {
            errln("Edit cancelled, saved file was empty.");
            return Ok(());
        }
        if stripped == strip_comments(&body) {
            if reasons.is_empty() {
                errln("Edit cancelled, no changes made.");
                return Ok(());
            }
            let kept = std::env::temp_dir().join(format!(
                "skiff-edit-{}{}",
                std::process::id(),
                if json { ".json" } else { ".yaml" }
            ));
            let _ = std::fs::write(&kept, &edited);
            errln(&format!(
                "A copy of your changes has been stored to {:?}",
                kept.display().to_string()
            ));
            return Err(CliError::msg(
                "Edit cancelled, no valid changes were saved.",
            ));
        }
        body = stripped;
        let object = match parse_manifests(&body) {
            Ok(mut docs) if docs.len() == 1 => docs.remove(0),
            Ok(docs) => {
                reasons = vec![(
                    format!(
                        "The edited file must hold exactly one object, not {}",
                        docs.len()
                    ),
                    vec![],
                )];
                continue;
            }
            Err(e) => {
                reasons = vec![(format!("The edited file had a syntax error: {e}"), vec![])];
                continue;
            }
        };
        // Only what the user changed is sent, so status updates by the controllers in the
        // meantime do not conflict; a removed status is not a request to clear it.
        let mut patch = merge_patch(&original, &object);
        if let Some(map) = patch.as_object_mut() {
            if map.get("status").is_some_and(Value::is_null) {
                map.remove("status");
            }
        }
        if patch.as_object().is_some_and(|m| m.is_empty()) {
            errln("Edit cancelled, no changes made.");
            return Ok(());
        }
        match ctx
            .client
            .patch_json(info.plural, &namespace, &name, &patch)
            .await
        {
            Ok(_) => {
                outln(&format!("{}/{name} edited", kind_prefix(info)));
                return Ok(());
            }
            Err(e) if matches!(e.reason, Reason::Invalid | Reason::BadRequest) => {
                reasons = vec![reasons_for(&e, info.plural, &name)];
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::error::Cause;

    #[test]
    fn the_header_lists_why_the_last_try_failed() {
        let error = ApiError::invalid(
            "ReplicationController",
            "crane",
            vec![Cause::invalid(
                "spec.replicas",
                -1,
                "must be greater than or equal to 0",
            )],
        );
        let reasons = vec![reasons_for(&error, "replicationcontrollers", "crane")];
        let text = editor_text(&reasons, "kind: ReplicationController\n");
        assert_eq!(
            text,
            "# Please edit the object below. Lines beginning with a '#' will be ignored,\n\
             # and an empty file will abort the edit. If an error occurs while saving this file will be\n\
             # reopened with the relevant failures.\n\
             #\n\
             # replicationcontrollers \"crane\" was not valid:\n\
             # * spec.replicas: Invalid value: -1: must be greater than or equal to 0\n\
             #\n\
             kind: ReplicationController\n"
        );
        assert_eq!(strip_comments(&text), "kind: ReplicationController\n");
    }
}
