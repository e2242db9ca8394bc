//! `skiff logs POD [-c CONTAINER] [-p] [-f] [--tail N] [--timestamps]`: a container's log, streamed from its node.

use std::io::Write;

use futures::StreamExt;
use skiff_api::types::Pod;
use skiff_client::LogOptions;

use crate::args::LogsArgs;
use crate::ctx::Ctx;
use crate::error::CliError;

/// The container to read: `-c`, or the pod's only one. A pod with several needs `-c`, and the
/// error lists them, as kubectl's does.
pub fn choose_container(pod: &Pod, asked: Option<&str>) -> Result<String, CliError> {
    let names: Vec<&str> = pod
        .spec
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    match asked {
        Some(name) if names.contains(&name) => Ok(name.to_string()),
        Some(name) => Err(CliError::msg(format!(
            "container {name} is not valid for pod {}",
            pod.metadata.name
        ))),
        None if names.len() == 1 => Ok(names[0].to_string()),
        None => Err(CliError::msg(format!(
            "a container name must be specified for pod {}, choose one of: [{}]",
            pod.metadata.name,
            names.join(" ")
        ))),
    }
}

pub async fn run(ctx: &Ctx, args: &LogsArgs) -> Result<(), CliError> {
    let name = match args.pod.split_once('/') {
        Some(("pod" | "pods" | "po", name)) => name,
        Some((kind, _)) => {
            return Err(CliError::msg(format!(
                "cannot get logs from {kind}: name a pod (POD or pod/POD)"
            )))
        }
        None => args.pod.as_str(),
    };
    let namespace = ctx.namespace().to_string();
    let pod: Pod = ctx.client.get(&namespace, name).await?;
    let container = choose_container(&pod, args.container.as_deref())?;
    let options = LogOptions {
        container: Some(container),
        follow: args.follow,
        previous: args.previous,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        timestamps: args.timestamps,
    };
    let mut stream = ctx.client.logs(&namespace, name, &options).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let mut stdout = std::io::stdout().lock();
        if stdout
            .write_all(&chunk)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn several_containers_need_a_name() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}))
        .unwrap();
        let err = choose_container(&pod, None).unwrap_err().to_string();
        assert_eq!(
            err,
            "error: a container name must be specified for pod p, choose one of: [a b]"
        );
        assert_eq!(choose_container(&pod, Some("b")).unwrap(), "b");
        assert!(choose_container(&pod, Some("c")).is_err());
    }
}
