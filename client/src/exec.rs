//! `pods/exec`: a command inside a container, its stdin streamed in and its output out.

use futures::{Stream, StreamExt};
use skiff_api::error::ApiError;
use skiff_proto::skiffapi::{ExecInput, ExecOutput, ExecStart};
use tonic::Streaming;

use crate::Client;

impl Client {
    /// Starts `start.command` in the pod's container; `stdin` carries input messages (its
    /// last one with `stdin_eof`). Not retried on another apiserver: input is not replayable.
    pub async fn exec(
        &self,
        start: ExecStart,
        stdin: impl Stream<Item = ExecInput> + Send + 'static,
    ) -> Result<Streaming<ExecOutput>, ApiError> {
        let first = ExecInput {
            start: Some(start),
            ..Default::default()
        };
        let input = futures::stream::once(async move { first }).chain(stdin);
        let mut client = self.transport.current_client();
        client
            .exec(self.transport.request(input))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| ApiError::from_status(&s))
    }
}
