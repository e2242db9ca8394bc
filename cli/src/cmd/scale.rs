//! `skiff scale rc|rs|job NAME --replicas N [--current-replicas M]`: the scale subresource (a job's parallelism).

use skiff_api::kinds::KindInfo;

use crate::args::ScaleArgs;
use crate::ctx::{errln, outln, Ctx};
use crate::error::CliError;
use crate::resources::{self, Selection};
use crate::table::kind_prefix;

pub async fn run(ctx: &Ctx, args: &ScaleArgs) -> Result<(), CliError> {
    if args.replicas < 0 {
        return Err(CliError::msg(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
        ));
    }
    let targets: Vec<(&'static KindInfo, String)> =
        match resources::parse(&args.resources, "scale")? {
            Selection::ByName(pairs) => pairs,
            Selection::ByKind { kinds, names, .. } => {
                if names.is_empty() {
                    return Err(CliError::msg(
                        "resource(s) were provided, but no name was specified",
                    ));
                }
                kinds
                    .iter()
                    .flat_map(|k| names.iter().map(move |n| (*k, n.clone())))
                    .collect()
            }
        };
    let namespace = ctx.namespace().to_string();
    let mut failed = false;
    for (info, name) in targets {
        if let Err(e) = scale_one(ctx, info, &namespace, &name, args).await {
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

async fn scale_one(
    ctx: &Ctx,
    info: &'static KindInfo,
    namespace: &str,
    name: &str,
    args: &ScaleArgs,
) -> Result<(), CliError> {
    if !info.has_scale {
        return Err(CliError::msg(format!(
            "cannot scale {}: only replicationcontrollers, replicasets and jobs can be scaled",
            info.plural
        )));
    }
    if let Some(expected) = args.current_replicas {
        // Checked here first for kubectl's wording; the server checks again atomically.
        let scale = ctx.client.get_scale(info.plural, namespace, name).await?;
        if scale.spec_replicas != expected {
            return Err(CliError::msg(format!(
                "Expected replicas to be {expected}, was {}",
                scale.spec_replicas
            )));
        }
    }
    ctx.client
        .update_scale(
            info.plural,
            namespace,
            name,
            args.replicas,
            args.current_replicas,
        )
        .await?;
    outln(&format!("{}/{name} scaled", kind_prefix(info)));
    Ok(())
}
