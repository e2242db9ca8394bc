//! etcd's Maintenance service: status, alarms, HashKV, snapshots, leader moves and
//! defragmentation.

use std::sync::Arc;

use skiff_proto::etcdserverpb::alarm_request::AlarmAction;
use skiff_proto::etcdserverpb::maintenance_server::Maintenance;
use skiff_proto::etcdserverpb::{
    AlarmRequest, AlarmResponse, AlarmType, DefragmentRequest, DefragmentResponse, HashKvRequest,
    HashKvResponse, MoveLeaderRequest, MoveLeaderResponse, SnapshotRequest, SnapshotResponse,
    StatusRequest, StatusResponse,
};
use skiff_proto::skiffstore::internal_request::Request as Internal;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{Member, API_VERSION};
use crate::backup;
use crate::error::StoreError;
use crate::mvcc::Outcome;

/// Bytes per message of a snapshot stream (etcd's size).
const SNAPSHOT_CHUNK: usize = 32 * 1024;

pub struct MaintenanceService {
    member: Arc<Member>,
}

impl MaintenanceService {
    pub fn new(member: Arc<Member>) -> MaintenanceService {
        MaintenanceService { member }
    }
}

/// This member's HashKV answer (also served to the leader's corruption check).
pub fn hash_kv(member: &Member, revision: i64) -> Result<HashKvResponse, Status> {
    let hash = member.state.hash_kv(revision)?;
    Ok(HashKvResponse {
        header: member.header(hash.revision),
        hash: hash.hash,
        compact_revision: hash.compact_revision,
    })
}

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn status(
        &self,
        _request: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let raft = self.member.node.status();
        let db_size = self.member.db.size_on_disk().unwrap_or(0) as i64;
        let in_use = tokio::task::block_in_place(|| super::quota::counted(&self.member)) as i64;
        let cluster = self.member.state.cluster();
        let mut errors = Vec::new();
        if raft.leader() == 0 {
            errors.push("etcdserver: no leader".to_string());
        }
        for alarm in &cluster.alarms {
            let kind = AlarmType::try_from(alarm.alarm).map_or("UNKNOWN", |a| a.as_str_name());
            errors.push(format!("memberID:{} alarm:{kind} ", alarm.member_id));
        }
        let is_learner = cluster
            .members
            .iter()
            .any(|m| m.id == self.member.id && m.is_learner);
        Ok(Response::new(StatusResponse {
            header: self.member.header(self.member.state.revision()),
            version: API_VERSION.to_string(),
            db_size,
            leader: raft.leader(),
            raft_index: raft.commit(),
            raft_term: raft.term(),
            raft_applied_index: raft.applied(),
            errors,
            db_size_in_use: in_use,
            is_learner,
        }))
    }

    async fn alarm(
        &self,
        request: Request<AlarmRequest>,
    ) -> Result<Response<AlarmResponse>, Status> {
        let req = request.into_inner();
        let alarms = if req.action == AlarmAction::Get as i32 {
            self.member.node.read_index().await?;
            self.member.state.cluster().alarms
        } else {
            match self.member.node.propose(Internal::Alarm(req)).await? {
                Outcome::Alarms(alarms) => alarms,
                Outcome::Error(err) => return Err(err.into()),
                _ => return Err(Status::internal("unexpected result of an alarm request")),
            }
        };
        Ok(Response::new(AlarmResponse {
            header: self.member.header(self.member.state.revision()),
            alarms,
        }))
    }

    async fn defragment(
        &self,
        _request: Request<DefragmentRequest>,
    ) -> Result<Response<DefragmentResponse>, Status> {
        super::defrag::defragment(&self.member).await?;
        Ok(Response::new(DefragmentResponse {
            header: self.member.header(self.member.state.revision()),
        }))
    }

    async fn hash_kv(
        &self,
        request: Request<HashKvRequest>,
    ) -> Result<Response<HashKvResponse>, Status> {
        Ok(Response::new(hash_kv(
            &self.member,
            request.into_inner().revision,
        )?))
    }

    type SnapshotStream = ReceiverStream<Result<SnapshotResponse, Status>>;

    async fn snapshot(
        &self,
        _request: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        let state = self.member.state.clone();
        let image = tokio::task::spawn_blocking(move || state.snapshot())
            .await
            .map_err(|e| Status::internal(format!("snapshot: {e}")))??;
        let file = backup::encode(&image);
        let header = self.member.header(self.member.state.revision());
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut sent = 0;
            for chunk in file.chunks(SNAPSHOT_CHUNK) {
                sent += chunk.len();
                let msg = SnapshotResponse {
                    header,
                    remaining_bytes: (file.len() - sent) as u64,
                    blob: chunk.to_vec(),
                };
                if tx.send(Ok(msg)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn move_leader(
        &self,
        request: Request<MoveLeaderRequest>,
    ) -> Result<Response<MoveLeaderResponse>, Status> {
        let target = request.into_inner().target_id;
        if !self.member.node.is_leader() {
            return Err(StoreError::NotLeader.into());
        }
        let voter = self
            .member
            .state
            .cluster()
            .members
            .iter()
            .any(|m| m.id == target && !m.is_learner);
        if !voter {
            return Err(StoreError::BadTransferee.into());
        }
        self.member.node.transfer_leader(target).await?;
        Ok(Response::new(MoveLeaderResponse {
            header: self.member.header(self.member.state.revision()),
        }))
    }
}
