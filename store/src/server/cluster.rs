//! etcd's Cluster service: the member list and member changes.

use std::sync::Arc;

use skiff_proto::etcdserverpb::cluster_server::Cluster;
use skiff_proto::etcdserverpb::{
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse,
};
use skiff_proto::skiffstore::member_change_request::Change;
use skiff_proto::skiffstore::{MemberChangeRequest, MemberChangeResponse};
use tonic::{Request, Response, Status};

use super::{membership, Member};

pub struct ClusterService {
    member: Arc<Member>,
}

impl ClusterService {
    pub fn new(member: Arc<Member>) -> ClusterService {
        ClusterService { member }
    }

    async fn change(&self, change: Change) -> Result<MemberChangeResponse, Status> {
        let req = MemberChangeRequest {
            change: Some(change),
        };
        membership::change(&self.member, req).await
    }

    fn header(&self) -> Option<skiff_proto::etcdserverpb::ResponseHeader> {
        self.member.header(self.member.state.revision())
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(
        &self,
        request: Request<MemberAddRequest>,
    ) -> Result<Response<MemberAddResponse>, Status> {
        let done = self.change(Change::Add(request.into_inner())).await?;
        Ok(Response::new(MemberAddResponse {
            header: self.header(),
            member: done.member,
            members: done.members,
        }))
    }

    async fn member_remove(
        &self,
        request: Request<MemberRemoveRequest>,
    ) -> Result<Response<MemberRemoveResponse>, Status> {
        let done = self.change(Change::Remove(request.into_inner())).await?;
        Ok(Response::new(MemberRemoveResponse {
            header: self.header(),
            members: done.members,
        }))
    }

    async fn member_update(
        &self,
        request: Request<MemberUpdateRequest>,
    ) -> Result<Response<MemberUpdateResponse>, Status> {
        let done = self.change(Change::Update(request.into_inner())).await?;
        Ok(Response::new(MemberUpdateResponse {
            header: self.header(),
            members: done.members,
        }))
    }

    async fn member_promote(
        &self,
        request: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        let done = self.change(Change::Promote(request.into_inner())).await?;
        Ok(Response::new(MemberPromoteResponse {
            header: self.header(),
            members: done.members,
        }))
    }

    async fn member_list(
        &self,
        request: Request<MemberListRequest>,
    ) -> Result<Response<MemberListResponse>, Status> {
        if request.into_inner().linearizable {
            self.member.node.read_index().await?;
        }
        let members = membership::list(&self.member, &self.member.state.cluster());
        Ok(Response::new(MemberListResponse {
            header: self.header(),
            members,
        }))
    }
}
