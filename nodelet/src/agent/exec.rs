//! The NodeLogs service's Exec: runs a command inside a pod's running container (in its
//! namespaces when the pod has a sandbox, see [`crate::runtime::ExecContext::command`]),
//! streaming stdin in and stdout/stderr out, and ends with the command's exit code.

use std::pin::Pin;
use std::process::Stdio;

use futures::Stream;
use skiff_api::types::Pod;
use skiff_proto::skiffapi::{ExecInput, ExecOutput};
use skiff_runtime::informer::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::logs::pick_container;
use crate::backend::Backend;

pub type OutputStream = Pin<Box<dyn Stream<Item = Result<ExecOutput, Status>> + Send>>;

pub async fn exec(
    backend: &Backend,
    pods: &Store<Pod>,
    request: Request<Streaming<ExecInput>>,
) -> Result<Response<OutputStream>, Status> {
    let mut input = request.into_inner();
    let first = input
        .message()
        .await?
        .ok_or_else(|| Status::invalid_argument("exec: no start message"))?;
    let start = first
        .start
        .clone()
        .ok_or_else(|| Status::invalid_argument("exec: the first message must carry start"))?;
    if start.command.is_empty() {
        return Err(Status::invalid_argument("exec: you must specify a command"));
    }
    let pod = pods
        .list_filtered(|p| p.metadata.namespace == start.namespace && p.metadata.name == start.name)
        .into_iter()
        .next()
        .ok_or_else(|| {
            Status::not_found(format!(
                "pod {}/{} is not on this node",
                start.namespace, start.name
            ))
        })?;
    let container = pick_container(&pod, &start.container).map_err(|e| e.to_status())?;
    let context = backend
        .running_instance(&pod.metadata.uid, &container)
        .and_then(|id| backend.exec_context(&id))
        .ok_or_else(|| {
            Status::failed_precondition(format!(
                "container {container} is not running in pod {}",
                start.name
            ))
        })?;
    let mut command = context.command(&start.command);
    command
        .stdin(if start.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| Status::internal(format!("exec: starting the command: {e}")))?;

    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let mut message = Some(first);
            while let Some(m) = message {
                if !m.stdin.is_empty() && stdin.write_all(&m.stdin).await.is_err() {
                    break;
                }
                if m.stdin_eof {
                    break;
                }
                message = input.message().await.ok().flatten();
            }
            // Dropping stdin closes it: the command sees end of input.
        });
    }
    let (tx, rx) = mpsc::channel(16);
    let out = pump(child.stdout.take(), tx.clone(), false);
    let err = pump(child.stderr.take(), tx.clone(), true);
    tokio::spawn(async move {
        tokio::join!(out, err);
        let code = match child.wait().await {
            Ok(status) => status.code().unwrap_or(128),
            Err(_) => 128,
        };
        let _ = tx
            .send(Ok(ExecOutput {
                exited: true,
                exit_code: code,
                ..Default::default()
            }))
            .await;
    });
    Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
}

async fn pump<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    tx: mpsc::Sender<Result<ExecOutput, Status>>,
    stderr: bool,
) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let data = buf[..n].to_vec();
                let message = if stderr {
                    ExecOutput {
                        stderr: data,
                        ..Default::default()
                    }
                } else {
                    ExecOutput {
                        stdout: data,
                        ..Default::default()
                    }
                };
                if tx.send(Ok(message)).await.is_err() {
                    return;
                }
            }
        }
    }
}
