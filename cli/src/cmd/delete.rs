//! `skiff delete`: by name, `-f`, `-l`, `--all`; cascade policies (and the old `--cascade=false`); grace periods; waiting until the objects are gone.

use std::time::{Duration, Instant};

use serde_json::Value;
use skiff_api::kinds::KindInfo;
use skiff_client::{DeleteOptions, ListOptions, Propagation};

use super::manifests;
use crate::args::DeleteArgs;
use crate::ctx::{errln, outln, Ctx};
use crate::error::CliError;
use crate::resources::{self, Selection};
use crate::table::kind_prefix;

/// Reads `--cascade`, with kubectl's warnings for the old boolean spellings.
pub fn cascade(value: &str) -> Result<(Propagation, Option<String>), CliError> {
    let deprecated = |v: &str, instead: &str| {
        Some(format!(
            "warning: --cascade={v} is deprecated (boolean value) and can be replaced with --cascade={instead}."
        ))
    };
    match value {
        "background" => Ok((Propagation::Background, None)),
        "orphan" => Ok((Propagation::Orphan, None)),
        "foreground" => Ok((Propagation::Foreground, None)),
        "true" => Ok((Propagation::Background, deprecated("true", "background"))),
        "false" => Ok((Propagation::Orphan, deprecated("false", "orphan"))),
        other => Err(CliError::msg(format!(
            "invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\"."
        ))),
    }
}

/// The grace period asked for: `--now` is 1 second; `--grace-period=0` is immediate only
/// with `--force` (kubectl turns it into 1 second otherwise).
pub fn grace_period(args: &DeleteArgs) -> Result<Option<i64>, CliError> {
    if args.now {
        if args.grace_period >= 0 {
            return Err(CliError::msg(
                "--now and --grace-period cannot be specified together",
            ));
        }
        return Ok(Some(1));
    }
    match args.grace_period {
        n if n < 0 => Ok(None),
        0 if !args.force => Ok(Some(1)),
        n => Ok(Some(n)),
    }
}

/// One object to delete.
struct Target {
    info: &'static KindInfo,
    namespace: String,
    name: String,
}

pub async fn run(ctx: &Ctx, args: &DeleteArgs) -> Result<(), CliError> {
    let (propagation, warning) = cascade(&args.cascade)?;
    if let Some(warning) = warning {
        errln(&warning);
    }
    let grace = grace_period(args)?;
    if args.force && grace == Some(0) {
        errln("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.");
    }
    let targets = targets(ctx, args).await?;
    let options = DeleteOptions {
        propagation: Some(propagation),
        grace_period_seconds: grace,
        ..DeleteOptions::default()
    };
    let mut failed = false;
    let mut pending: Vec<(Target, String)> = Vec::new();
    for target in targets {
        let result = ctx
            .client
            .delete_json(
                target.info.plural,
                &target.namespace,
                &target.name,
                &options,
            )
            .await;
        match result {
            Ok(reply) => {
                outln(&format!(
                    "{} {:?} deleted",
                    kind_prefix(target.info),
                    target.name
                ));
                let uid = reply
                    .as_ref()
                    .and_then(|o| o.pointer("/metadata/uid"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                pending.push((target, uid));
            }
            Err(e) if e.is_not_found() && args.ignore_not_found => {}
            Err(e) => {
                errln(&crate::error::kubectl_line(&e));
                failed = true;
            }
        }
    }
    if args.wait {
        wait_gone(ctx, &pending, args.timeout).await?;
    }
    if failed {
        Err(CliError::AlreadyReported)
    } else {
        Ok(())
    }
}

async fn targets(ctx: &Ctx, args: &DeleteArgs) -> Result<Vec<Target>, CliError> {
    let namespace = ctx.namespace().to_string();
    if !args.filenames.is_empty() {
        if !args.resources.is_empty() {
            return Err(CliError::msg("cannot specify both resource names and -f"));
        }
        let mut out = Vec::new();
        for m in manifests::load(&args.filenames)? {
            let ns = m.namespace(&namespace, ctx.config.namespace_explicit)?;
            out.push(Target {
                info: m.info,
                name: m.name().to_string(),
                namespace: ns,
            });
        }
        return Ok(out);
    }
    match resources::parse(&args.resources, "delete")? {
        Selection::ByName(pairs) => Ok(pairs
            .into_iter()
            .map(|(info, name)| Target {
                info,
                namespace: namespace.clone(),
                name,
            })
            .collect()),
        Selection::ByKind { kinds, names, .. } if !names.is_empty() => {
            if args.all || args.selector.is_some() {
                return Err(CliError::msg(
                    "names cannot be provided when a selector or --all is specified",
                ));
            }
            Ok(kinds
                .iter()
                .flat_map(|info| {
                    let namespace = namespace.clone();
                    names.iter().map(move |name| Target {
                        info,
                        namespace: namespace.clone(),
                        name: name.clone(),
                    })
                })
                .collect())
        }
        Selection::ByKind { kinds, .. } => {
            if !args.all && args.selector.is_none() {
                return Err(CliError::msg(
                    "resource(s) were provided, but no name was specified",
                ));
            }
            let options = ListOptions::labels(args.selector.clone().unwrap_or_default());
            let mut out = Vec::new();
            for info in kinds {
                let list = ctx
                    .client
                    .list_json(info.plural, Some(&namespace), &options)
                    .await?;
                for item in list.items {
                    let name = item
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    out.push(Target {
                        info,
                        namespace: namespace.clone(),
                        name: name.to_string(),
                    });
                }
            }
            if out.is_empty() {
                errln("No resources found");
            }
            Ok(out)
        }
    }
}

/// Polls until every deleted object is gone (or replaced by a new one under the same name).
async fn wait_gone(
    ctx: &Ctx,
    pending: &[(Target, String)],
    timeout: Duration,
) -> Result<(), CliError> {
    let started = Instant::now();
    for (target, uid) in pending {
        loop {
            match ctx
                .client
                .get_json(target.info.plural, &target.namespace, &target.name)
                .await
            {
                Err(e) if e.is_not_found() => break,
                Err(e) => return Err(e.into()),
                Ok(object) => {
                    let now_uid = object
                        .pointer("/metadata/uid")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if !uid.is_empty() && now_uid != uid {
                        break;
                    }
                }
            }
            if !timeout.is_zero() && started.elapsed() >= timeout {
                return Err(CliError::msg(format!(
                    "timed out waiting for the condition on {}/{}",
                    target.info.plural, target.name
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cascade_values() {
        assert_eq!(
            cascade("background").unwrap(),
            (Propagation::Background, None)
        );
        assert_eq!(cascade("foreground").unwrap().0, Propagation::Foreground);
        let (p, w) = cascade("false").unwrap();
        assert_eq!(p, Propagation::Orphan);
        assert_eq!(w.unwrap(), "warning: --cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.");
        assert!(cascade("maybe")
            .unwrap_err()
            .to_string()
            .contains("invalid cascade value (maybe)"));
    }
}
