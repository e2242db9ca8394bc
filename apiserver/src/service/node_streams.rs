//! The RPCs proxied to a pod's nodelet, Logs (authorized like `get` on `pods/log`) and Exec
//! (like `create` on `pods/exec`), streaming until they end or the apiserver shuts down.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use skiff_api::error::ApiError;
use skiff_proto::skiffapi::{ExecInput, ExecOutput, LogChunk, LogsRequest};
use tonic::{Request, Response, Status, Streaming};

use super::ApiService;

pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<LogChunk, Status>> + Send>>;
pub type ExecOutputStream = Pin<Box<dyn Stream<Item = Result<ExecOutput, Status>> + Send>>;

impl ApiService {
    pub(super) async fn logs_stream(
        &self,
        request: &Request<LogsRequest>,
    ) -> Result<Response<ChunkStream>, ApiError> {
        let req = request.get_ref();
        self.object(request, "get", "log", "pods", &req.namespace, &req.name)?;
        let chunks = crate::logs::open(&self.registry, req.clone()).await?;
        let stream: ChunkStream =
            Box::pin(chunks.take_until(self.shutdown.clone().cancelled_owned()));
        Ok(Response::new(stream))
    }

    pub(super) async fn exec_stream(
        &self,
        request: Request<Streaming<ExecInput>>,
    ) -> Result<Response<ExecOutputStream>, ApiError> {
        let (metadata, extensions, mut input) = request.into_parts();
        let (first, start) = crate::exec::read_start(&mut input).await?;
        let check = Request::from_parts(metadata, extensions, ());
        self.object(
            &check,
            "create",
            "exec",
            "pods",
            &start.namespace,
            &start.name,
        )?;
        let outputs =
            crate::exec::open(&self.registry, first, start, crate::exec::grpc_input(input)).await?;
        let stream: ExecOutputStream =
            Box::pin(outputs.take_until(self.shutdown.clone().cancelled_owned()));
        Ok(Response::new(stream))
    }
}
