//! etcd's KV service: reads served locally (after a ReadIndex round unless
//! the client asks for a serializable read), writes through the raft log, each refused once
//! the write fence its client sent has passed.

use std::sync::Arc;

use skiff_proto::etcdserverpb::kv_server::Kv;
use skiff_proto::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
};
use skiff_proto::skiffstore::internal_request::Request as Internal;
use tonic::{Request, Response, Status};

use super::Member;
use crate::error::StoreError;
use crate::mvcc::{check_txn, Outcome};
use crate::raft::fence;

pub struct KvService {
    member: Arc<Member>,
}

impl KvService {
    pub fn new(member: Arc<Member>) -> KvService {
        KvService { member }
    }

    /// Proposes `request`, refused once the client's write fence (if any) has passed.
    async fn write(&self, request: Internal, fence: Option<u64>) -> Result<Outcome, Status> {
        super::quota::check(&self.member, &request).await?;
        Ok(self.member.node.propose_fenced(request, fence).await?)
    }
}

/// The write fence a client sent with its request ([`skiff_proto::WRITE_FENCE_HEADER`]).
fn fence_of<T>(request: &Request<T>) -> Result<Option<u64>, Status> {
    request
        .metadata()
        .get(skiff_proto::WRITE_FENCE_HEADER)
        .map(|v| fence::parse_header(v.as_bytes()).map_err(Status::invalid_argument))
        .transpose()
}

fn unexpected(outcome: Outcome) -> Status {
    let name = match outcome {
        Outcome::Put(_) => "put",
        Outcome::DeleteRange(_) => "delete",
        Outcome::Txn(_) => "txn",
        Outcome::Compaction(_) => "compaction",
        Outcome::LeaseGrant(_) => "lease grant",
        Outcome::LeaseRevoke(_) => "lease revoke",
        Outcome::MemberAttributes => "member attributes",
        Outcome::Cluster(_) => "member change",
        Outcome::Alarms(_) => "alarm",
        Outcome::Error(e) => return e.into(),
    };
    Status::internal(format!("unexpected {name} result"))
}

#[tonic::async_trait]
impl Kv for KvService {
    async fn range(
        &self,
        request: Request<RangeRequest>,
    ) -> Result<Response<RangeResponse>, Status> {
        let req = request.into_inner();
        if !req.serializable && !self.member.unsafe_local_reads {
            self.member.node.read_index().await?;
        }
        let mut resp = self.member.state.range(&req)?;
        self.member.stamp(&mut resp.header);
        Ok(Response::new(resp))
    }

    async fn put(&self, request: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let fence = fence_of(&request)?;
        let req = request.into_inner();
        self.member.check_size(&req)?;
        if req.key.is_empty() {
            return Err(StoreError::EmptyKey.into());
        }
        match self.write(Internal::Put(req), fence).await? {
            Outcome::Put(mut resp) => {
                self.member.stamp(&mut resp.header);
                Ok(Response::new(resp))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn delete_range(
        &self,
        request: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        let fence = fence_of(&request)?;
        let req = request.into_inner();
        if req.key.is_empty() {
            return Err(StoreError::EmptyKey.into());
        }
        match self.write(Internal::DeleteRange(req), fence).await? {
            Outcome::DeleteRange(mut resp) => {
                self.member.stamp(&mut resp.header);
                Ok(Response::new(resp))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn txn(&self, request: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        let fence = fence_of(&request)?;
        let req = request.into_inner();
        self.member.check_size(&req)?;
        check_txn(&req)?;
        match self.write(Internal::Txn(req), fence).await? {
            Outcome::Txn(mut resp) => {
                self.member.stamp(&mut resp.header);
                Ok(Response::new(resp))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn compact(
        &self,
        request: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        match self
            .write(Internal::Compaction(request.into_inner()), None)
            .await?
        {
            Outcome::Compaction(mut resp) => {
                self.member.stamp(&mut resp.header);
                Ok(Response::new(resp))
            }
            other => Err(unexpected(other)),
        }
    }
}
