//! etcd's KV service: reads served locally (after a ReadIndex round unless
//! the client asks for a serializable read), writes through the raft log.

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

pub struct KvService {
    member: Arc<Member>,
}

impl KvService {
    pub fn new(member: Arc<Member>) -> KvService {
        KvService { member }
    }

    async fn write(&self, request: Internal) -> Result<Outcome, Status> {
        super::quota::check(&self.member, &request).await?;
        Ok(self.member.node.propose(request).await?)
    }
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
        let req = request.into_inner();
        self.member.check_size(&req)?;
        if req.key.is_empty() {
            return Err(StoreError::EmptyKey.into());
        }
        match self.write(Internal::Put(req)).await? {
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
        let req = request.into_inner();
        if req.key.is_empty() {
            return Err(StoreError::EmptyKey.into());
        }
        match self.write(Internal::DeleteRange(req)).await? {
            Outcome::DeleteRange(mut resp) => {
                self.member.stamp(&mut resp.header);
                Ok(Response::new(resp))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn txn(&self, request: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        let req = request.into_inner();
        self.member.check_size(&req)?;
        check_txn(&req)?;
        match self.write(Internal::Txn(req)).await? {
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
            .write(Internal::Compaction(request.into_inner()))
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
