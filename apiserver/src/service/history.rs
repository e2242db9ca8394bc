//! The History RPC: an object's revisions from the store's MVCC history, authorized like a get.

use skiff_api::error::ApiError;
use skiff_proto::skiffapi::{HistoryReply, HistoryRequest, ObjectRevision};
use tonic::{Request, Response};

use super::ApiService;

impl ApiService {
    pub(super) async fn history_reply(
        &self,
        request: &Request<HistoryRequest>,
    ) -> Result<Response<HistoryReply>, ApiError> {
        let req = request.get_ref();
        let (_caller, a) =
            self.object(request, "get", "", &req.resource, &req.namespace, &req.name)?;
        let history = self
            .registry
            .history(a.info, a.namespace, &req.name)
            .await?;
        let mut revisions = Vec::with_capacity(history.revisions.len());
        for r in history.revisions {
            revisions.push(ObjectRevision {
                revision: r.revision,
                deleted: r.deleted,
                object: serde_json::to_vec(&r.object).map_err(ApiError::internal)?,
            });
        }
        Ok(Response::new(HistoryReply {
            revisions,
            compacted_revision: history.compacted,
            revision: history.revision,
        }))
    }
}
