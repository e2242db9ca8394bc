//! etcd's Cluster.MemberList and Maintenance.Status.

use std::sync::Arc;

use skiff_proto::etcdserverpb::cluster_server::Cluster;
use skiff_proto::etcdserverpb::maintenance_server::Maintenance;
use skiff_proto::etcdserverpb::{
    Member as PbMember, MemberListRequest, MemberListResponse, StatusRequest, StatusResponse,
};
use tonic::{Request, Response, Status};

use super::{Member, API_VERSION};

pub struct ClusterService {
    member: Arc<Member>,
}

impl ClusterService {
    pub fn new(member: Arc<Member>) -> ClusterService {
        ClusterService { member }
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_list(
        &self,
        request: Request<MemberListRequest>,
    ) -> Result<Response<MemberListResponse>, Status> {
        if request.into_inner().linearizable {
            self.member.node.read_index().await?;
        }
        // Names and client URLs come from what each member published through
        // the log; a member that never started yet shows neither, as in etcd.
        let published = self.member.state.members();
        let members = self
            .member
            .peers
            .iter()
            .map(|peer| {
                let attrs = published.iter().find(|m| m.member_id == peer.id);
                PbMember {
                    id: peer.id,
                    name: attrs.map(|a| a.name.clone()).unwrap_or_default(),
                    peer_ur_ls: vec![peer.url.clone()],
                    client_ur_ls: attrs.map(|a| a.client_urls.clone()).unwrap_or_default(),
                    is_learner: false,
                }
            })
            .collect();
        Ok(Response::new(MemberListResponse {
            header: self.member.header(self.member.state.revision()),
            members,
        }))
    }
}

pub struct MaintenanceService {
    member: Arc<Member>,
}

impl MaintenanceService {
    pub fn new(member: Arc<Member>) -> MaintenanceService {
        MaintenanceService { member }
    }
}

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn status(
        &self,
        _request: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let raft = self.member.node.status();
        let db_size = self.member.db.size_on_disk().unwrap_or(0) as i64;
        let mut errors = Vec::new();
        if raft.leader() == 0 {
            errors.push("etcdserver: no leader".to_string());
        }
        Ok(Response::new(StatusResponse {
            header: self.member.header(self.member.state.revision()),
            version: API_VERSION.to_string(),
            db_size,
            leader: raft.leader(),
            raft_index: raft.commit(),
            raft_term: raft.term(),
            raft_applied_index: raft.applied(),
            errors,
            db_size_in_use: db_size,
            is_learner: false,
        }))
    }
}
