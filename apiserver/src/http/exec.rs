//! `pods/{name}/exec` over WebSocket, as kubectl and client-go speak it: the
//! `v5.channel.k8s.io` and `v4.channel.k8s.io` subprotocols. Each binary message starts with
//! a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final `Status` (exit code), 4 terminal
//! resize; v5 adds 255, "close stream" (`[255, 0]`: the client's stdin ended). The command
//! runs through the same exec path as the gRPC `Exec` (the pod's nodelet), with the same
//! authorization (`create` on `pods/exec`).

use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_proto::skiffapi::{ExecInput, ExecOutput, ExecStart};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Streaming;

use super::{Http, Request};

/// The subprotocols served, the preferred first (client-go offers v5, v4, v3, v2, v1).
pub const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const V5: &str = PROTOCOLS[0];

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const CLOSE: u8 = 255;

/// What the query asks for: `command` (repeated), `container`, `stdin`, `stdout`,
/// `stderr`, `tty`.
#[derive(Debug, PartialEq, Eq)]
pub struct ExecParams {
    pub command: Vec<String>,
    pub container: String,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl ExecParams {
    pub fn parse(r: &Request) -> Result<ExecParams, ApiError> {
        let q = &r.query;
        let command: Vec<String> = r
            .pairs
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
            .collect();
        if command.is_empty() {
            return Err(ApiError::bad_request(
                "you must specify at least one command for the container",
            ));
        }
        let params = ExecParams {
            command,
            container: q.get("container").to_string(),
            stdin: q.flag("stdin")?,
            stdout: q.flag("stdout")?,
            stderr: q.flag("stderr")?,
            tty: q.flag("tty")?,
        };
        if !(params.stdin || params.stdout || params.stderr) {
            return Err(ApiError::bad_request(
                "you must specify at least 1 of stdin, stdout, stderr",
            ));
        }
        Ok(params)
    }
}

/// The metav1.Status sent on the error channel when the command ends with `code`.
pub fn exit_status(command: &[String], code: i32) -> Value {
    if code == 0 {
        return json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
            command.join(" ")
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

/// A message of `channel` carrying `data`.
fn framed(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(Bytes::from(bytes))
}

impl Http {
    /// GET (or POST) `pods/{name}/exec`: authorized, checked and opened on the node before
    /// the upgrade, so a refusal is an ordinary `Status` answer kubectl prints.
    pub(super) async fn exec(
        &self,
        r: &Request,
        upgrade: Option<WebSocketUpgrade>,
    ) -> Result<Response, ApiError> {
        let t = &r.target;
        self.authorize(r, "create")?;
        let params = ExecParams::parse(r)?;
        let Some(upgrade) = upgrade else {
            // kubectl falls back to SPDY when the WebSocket is refused, and prints the
            // fallback's answer: a missing pod or container must be named there too.
            crate::pod_node::connect(&self.registry, &t.namespace, &t.name, &params.container)
                .await?;
            return Err(ApiError::bad_request(
                "Upgrade request required: exec is served over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io)",
            ));
        };
        let upgrade = upgrade.protocols(PROTOCOLS);
        let protocol = upgrade
            .selected_protocol()
            .and_then(|p| p.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "exec: none of the requested WebSocket subprotocols is served; skiff serves {}",
                    PROTOCOLS.join(", ")
                ))
            })?;
        let start = ExecStart {
            namespace: t.namespace.clone(),
            name: t.name.clone(),
            container: params.container.clone(),
            command: params.command.clone(),
            stdin: params.stdin,
            tty: params.tty,
        };
        let first = ExecInput {
            start: Some(start.clone()),
            ..Default::default()
        };
        let (stdin, rest) = mpsc::channel(16);
        let outputs =
            crate::exec::open(&self.registry, first, start, ReceiverStream::new(rest)).await?;
        let session = Session {
            v5: protocol == V5,
            params,
            stdin,
            shutdown: self.shutdown.clone(),
        };
        Ok(upgrade.on_upgrade(move |socket| session.run(socket, outputs)))
    }
}

/// One upgraded exec: the socket's stdin to the node, the node's output to the socket.
struct Session {
    v5: bool,
    params: ExecParams,
    stdin: mpsc::Sender<ExecInput>,
    shutdown: CancellationToken,
}

impl Session {
    async fn run(self, socket: WebSocket, mut outputs: Streaming<ExecOutput>) {
        let (mut sink, mut incoming) = socket.split();
        let Session {
            v5,
            params,
            stdin,
            shutdown,
        } = self;
        let wants_stdin = params.stdin;
        // Reading also answers the client's pings; stdin goes on while the command runs.
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = incoming.next().await {
                let data = match message {
                    Message::Binary(data) => data,
                    Message::Close(_) => break,
                    _ => continue,
                };
                match data.first() {
                    Some(&STDIN) if wants_stdin => {
                        let input = ExecInput {
                            stdin: data[1..].to_vec(),
                            ..Default::default()
                        };
                        if stdin.send(input).await.is_err() {
                            break;
                        }
                    }
                    // v5's half-close of stdin: the command sees end of input.
                    Some(&CLOSE) if v5 && data.get(1) == Some(&STDIN) => {
                        let eof = ExecInput {
                            stdin_eof: true,
                            ..Default::default()
                        };
                        let _ = stdin.send(eof).await;
                    }
                    // The node's exec has no terminal to size: resizes (channel 4) are read
                    // and dropped, as is anything else.
                    _ => {}
                }
            }
        });
        let mut status = None;
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break,
                next = outputs.next() => next,
            };
            let output = match next {
                Some(Ok(output)) => output,
                Some(Err(e)) => {
                    let e = ApiError::from_status(&e);
                    status = Some(json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": e.message, "reason": e.reason, "code": e.code}));
                    break;
                }
                None => break,
            };
            let mut frames = Vec::new();
            if !output.stdout.is_empty() && params.stdout {
                frames.push(framed(STDOUT, &output.stdout));
            }
            if !output.stderr.is_empty() && params.stderr {
                frames.push(framed(STDERR, &output.stderr));
            }
            if output.exited {
                status = Some(exit_status(&params.command, output.exit_code));
            }
            for frame in frames {
                if sink.send(frame).await.is_err() {
                    reader.abort();
                    return;
                }
            }
            if status.is_some() {
                break;
            }
        }
        if let Some(status) = status {
            let _ = sink
                .send(framed(ERROR, status.to_string().as_bytes()))
                .await;
        }
        // A normal closure (1000) is the streams' end to client-go; no status code is an error.
        let close = CloseFrame {
            code: close_code::NORMAL,
            reason: Utf8Bytes::default(),
        };
        let _ = sink.send(Message::Close(Some(close))).await;
        reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_become_statuses_client_go_reads() {
        let cmd = vec!["sh".to_string(), "-c".to_string(), "exit 3".to_string()];
        assert_eq!(exit_status(&cmd, 0)["status"], "Success");
        let failed = exit_status(&cmd, 3);
        assert_eq!(failed["status"], "Failure");
        assert_eq!(failed["reason"], "NonZeroExitCode");
        assert_eq!(failed["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(failed["details"]["causes"][0]["message"], "3");
    }

    #[test]
    fn frames_carry_their_channel_first() {
        assert_eq!(
            framed(STDERR, b"x"),
            Message::Binary(Bytes::from_static(&[2, b'x']))
        );
    }
}
