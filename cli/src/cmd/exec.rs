//! `skiff exec POD [-c CONTAINER] [-i] [-t] -- CMD...`: runs a command inside a container
//! through the apiserver (which proxies to the pod's nodelet); stdin (with -i), stdout and
//! stderr are streamed, and the command's exit code becomes skiff's.

use std::io::{Read, Write};

use futures::StreamExt;
use skiff_api::types::Pod;
use skiff_proto::skiffapi::{ExecInput, ExecStart};
use tokio::sync::mpsc;

use super::logs::choose_container;
use crate::args::ExecArgs;
use crate::ctx::Ctx;
use crate::error::CliError;

pub async fn run(ctx: &Ctx, args: &ExecArgs) -> Result<(), CliError> {
    let name = match args.pod.split_once('/') {
        Some(("pod" | "pods" | "po", name)) => name,
        Some((kind, _)) => {
            return Err(CliError::msg(format!(
                "cannot exec into {kind}: name a pod (POD or pod/POD)"
            )))
        }
        None => args.pod.as_str(),
    };
    let namespace = ctx.namespace().to_string();
    let pod: Pod = ctx.client.get(&namespace, name).await?;
    let container = choose_container(&pod, args.container.as_deref())?;
    let start = ExecStart {
        namespace,
        name: name.to_string(),
        container,
        command: args.command.clone(),
        stdin: args.stdin,
        tty: args.tty,
    };
    let (tx, rx) = mpsc::channel::<ExecInput>(4);
    if args.stdin {
        // Blocking reads on a thread of their own; the runtime here has one thread.
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let message = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => ExecInput {
                        stdin_eof: true,
                        ..Default::default()
                    },
                    Ok(n) => ExecInput {
                        stdin: buf[..n].to_vec(),
                        ..Default::default()
                    },
                };
                let eof = message.stdin_eof;
                if tx.blocking_send(message).is_err() || eof {
                    return;
                }
            }
        });
    } else {
        drop(tx);
    }
    let input =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut output = ctx.client.exec(start, input).await?;
    while let Some(message) = output.next().await {
        let message =
            message.map_err(|s| CliError::Api(skiff_api::error::ApiError::from_status(&s)))?;
        if !message.stdout.is_empty() {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&message.stdout);
            let _ = out.flush();
        }
        if !message.stderr.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&message.stderr);
            let _ = err.flush();
        }
        if message.exited {
            return match message.exit_code {
                0 => Ok(()),
                code => Err(CliError::Exit(code)),
            };
        }
    }
    Err(CliError::msg("the exec stream ended without an exit code"))
}
