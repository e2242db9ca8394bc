//! `skiff history KIND/NAME [--revision N -o yaml|json]`: an object's revisions from the store's history, with who wrote each and what changed.

pub mod diff;

use serde_json::Value;
use skiff_client::history::{History, Revision};
use skiff_client::Client;

use crate::args::HistoryArgs;
use crate::ctx::{out, Ctx};
use crate::error::CliError;
use crate::output::yaml::to_yaml;

/// `pod/web`, or `pod web`: the kind as typed and the name.
pub fn target<'a>(
    resource: &'a str,
    name: Option<&'a str>,
) -> Result<(&'a str, &'a str), CliError> {
    match (resource.split_once('/'), name) {
        (Some((kind, name)), None) if !kind.is_empty() && !name.is_empty() => Ok((kind, name)),
        (None, Some(name)) if !name.is_empty() => Ok((resource, name)),
        _ => Err(CliError::msg(format!(
            "name one object: KIND/NAME or KIND NAME (got {resource:?}{})",
            name.map(|n| format!(" {n:?}")).unwrap_or_default()
        ))),
    }
}

pub async fn run(ctx: &Ctx, args: &HistoryArgs) -> Result<(), CliError> {
    let (kind, name) = target(&args.resource, args.name.as_deref())?;
    let history = ctx.client.history(kind, ctx.namespace(), name).await?;
    match args.revision {
        Some(revision) => {
            let found = history
                .revisions
                .iter()
                .find(|r| r.revision == revision)
                .ok_or_else(|| missing_revision(&history, kind, name, revision))?;
            out(&show_object(&found.object, args.output.as_deref())?);
        }
        None => out(&render(&history)),
    }
    Ok(())
}

/// The revisions of `kind/name` in `ns` as `skiff history` prints them (the dashboard shows
/// the same text when an object is clicked).
pub async fn history_text(
    client: &Client,
    ns: &str,
    kind: &str,
    name: &str,
) -> Result<String, CliError> {
    Ok(render(&client.history(kind, ns, name).await?))
}

fn missing_revision(history: &History, kind: &str, name: &str, revision: i64) -> CliError {
    let known: Vec<String> = history
        .revisions
        .iter()
        .map(|r| r.revision.to_string())
        .collect();
    let compacted = if history.compacted_revision > revision {
        format!(
            "; the store's history before revision {} is compacted",
            history.compacted_revision
        )
    } else {
        String::new()
    };
    CliError::msg(format!(
        "{kind}/{name} has no revision {revision} (revisions: {}){compacted}",
        known.join(", ")
    ))
}

fn show_object(obj: &Value, output: Option<&str>) -> Result<String, CliError> {
    match output {
        None | Some("yaml") => Ok(to_yaml(obj)),
        Some("json") => serde_json::to_string_pretty(obj)
            .map(|s| s + "\n")
            .map_err(|e| CliError::msg(e.to_string())),
        Some(other) => Err(CliError::msg(format!(
            "--output {other:?} is not supported by history: use yaml or json"
        ))),
    }
}

/// The writer and time of a revision: the last managedFields entry of the object written
/// there (the apiserver keeps the writer of each write last); a deletion names neither.
pub fn writer_of(r: &Revision) -> (String, String) {
    if r.deleted {
        return ("-".into(), "-".into());
    }
    let last = r
        .object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .and_then(|a| a.last());
    let field = |f: &str| {
        last.and_then(|e| e.get(f))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("-")
            .to_string()
    };
    (field("manager"), field("time"))
}

/// The history as text: one line per revision (revision, time, writer, what happened), the
/// changed fields indented below it.
pub fn render(history: &History) -> String {
    let mut text = String::new();
    if history.compacted_revision > 0 {
        text.push_str(&format!(
            "revisions before {} are compacted (--history-retention); the first one shown is the object as it stood then\n",
            history.compacted_revision
        ));
    }
    let rows: Vec<[String; 4]> = history
        .revisions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (writer, time) = writer_of(r);
            let what = if r.deleted {
                "deleted"
            } else if i == 0 && r.revision < history.compacted_revision {
                "(as of the compaction)"
            } else if i == 0 || history.revisions[i - 1].deleted {
                "created"
            } else {
                "updated"
            };
            [r.revision.to_string(), time, writer, what.to_string()]
        })
        .collect();
    let header = ["REVISION", "TIME", "WRITER", "CHANGE"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|r| r[c].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String; 4]| {
        format!(
            "{:<w0$}   {:<w1$}   {:<w2$}   {}\n",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    text.push_str(&line(&header));
    for (i, (r, row)) in history.revisions.iter().zip(&rows).enumerate() {
        text.push_str(&line(row));
        let before = history.revisions.get(i.wrapping_sub(1));
        if let Some(before) = before.filter(|b| !b.deleted && !r.deleted) {
            for change in diff::diff(&before.object, &r.object) {
                text.push_str(&format!("    {change}\n"));
            }
        }
    }
    text
}
