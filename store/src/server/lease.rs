//! etcd's Lease service. Grants and revokes go through the raft log;
//! keep-alives and remaining TTLs are answered by the leader's lessor, to
//! which other members forward them.

use std::sync::Arc;

use rand::Rng;
use skiff_proto::etcdserverpb::lease_server::Lease;
use skiff_proto::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseStatus,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use skiff_proto::skiffstore::internal_request::Request as Internal;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::Member;
use crate::error::StoreError;
use crate::mvcc::Outcome;

/// etcd's largest lease TTL (seconds).
const MAX_LEASE_TTL: i64 = 9_000_000_000;

pub struct LeaseService {
    member: Arc<Member>,
}

impl LeaseService {
    pub fn new(member: Arc<Member>) -> LeaseService {
        LeaseService { member }
    }
}

/// Keep-alive answered here when leader, else by the leader.
pub async fn keep_alive(member: &Member, id: i64) -> Result<LeaseKeepAliveResponse, Status> {
    if let Some(ttl) = member.lessor.renew(id) {
        return Ok(LeaseKeepAliveResponse {
            header: member.header(member.state.revision()),
            id,
            ttl,
        });
    }
    let leader = member.node.status().leader();
    if leader == 0 || leader == member.id {
        return Err(StoreError::NoLeader.into());
    }
    let mut resp = member.forward.keep_alive(leader, id).await?;
    resp.header = member.header(member.state.revision());
    Ok(resp)
}

pub async fn time_to_live(
    member: &Member,
    req: LeaseTimeToLiveRequest,
) -> Result<LeaseTimeToLiveResponse, Status> {
    let header = member.header(member.state.revision());
    match member.lessor.remaining(req.id) {
        Some(Some(ttl)) => {
            let granted_ttl = member.state.lease(req.id).map_or(0, |l| l.ttl);
            let keys = if req.keys {
                member.state.lease_keys(req.id)
            } else {
                Vec::new()
            };
            Ok(LeaseTimeToLiveResponse {
                header,
                id: req.id,
                ttl,
                granted_ttl,
                keys,
            })
        }
        // etcd answers an unknown lease with TTL -1 rather than an error.
        Some(None) => Ok(LeaseTimeToLiveResponse {
            header,
            id: req.id,
            ttl: -1,
            ..Default::default()
        }),
        None => {
            let leader = member.node.status().leader();
            if leader == 0 || leader == member.id {
                return Err(StoreError::NoLeader.into());
            }
            let mut resp = member.forward.time_to_live(leader, req).await?;
            resp.header = header;
            Ok(resp)
        }
    }
}

#[tonic::async_trait]
impl Lease for LeaseService {
    async fn lease_grant(
        &self,
        request: Request<LeaseGrantRequest>,
    ) -> Result<Response<LeaseGrantResponse>, Status> {
        let mut req = request.into_inner();
        if req.ttl > MAX_LEASE_TTL {
            return Err(Status::out_of_range("etcdserver: too large lease TTL"));
        }
        req.ttl = req.ttl.max(self.member.lessor.min_ttl());
        if req.id == 0 {
            // Chosen here, not in apply: every member must apply the same id.
            req.id = rand::thread_rng().gen_range(1..i64::MAX);
        }
        let request = Internal::LeaseGrant(req);
        super::quota::check(&self.member, &request).await?;
        match self.member.node.propose(request).await? {
            Outcome::LeaseGrant(mut resp) => {
                self.member.stamp(&mut resp.header);
                Ok(Response::new(resp))
            }
            Outcome::Error(err) => Err(err.into()),
            _ => Err(Status::internal("unexpected lease grant result")),
        }
    }

    async fn lease_revoke(
        &self,
        request: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        match self
            .member
            .node
            .propose(Internal::LeaseRevoke(request.into_inner()))
            .await?
        {
            Outcome::LeaseRevoke(mut resp) => {
                self.member.stamp(&mut resp.header);
                Ok(Response::new(resp))
            }
            Outcome::Error(err) => Err(err.into()),
            _ => Err(Status::internal("unexpected lease revoke result")),
        }
    }

    type LeaseKeepAliveStream = ReceiverStream<Result<LeaseKeepAliveResponse, Status>>;

    async fn lease_keep_alive(
        &self,
        request: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let member = self.member.clone();
        tokio::spawn(async move {
            while let Ok(Some(req)) = inbound.message().await {
                let resp = keep_alive(&member, req.id).await;
                let failed = resp.is_err();
                if tx.send(resp).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn lease_time_to_live(
        &self,
        request: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        Ok(Response::new(
            time_to_live(&self.member, request.into_inner()).await?,
        ))
    }

    async fn lease_leases(
        &self,
        _request: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        let leases = self
            .member
            .state
            .leases()
            .into_iter()
            .map(|l| LeaseStatus { id: l.id })
            .collect();
        Ok(Response::new(LeaseLeasesResponse {
            header: self.member.header(self.member.state.revision()),
            leases,
        }))
    }
}
