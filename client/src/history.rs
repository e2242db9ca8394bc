//! An object's revisions from the store's history (the History RPC), decoded.

use serde_json::Value;
use skiff_api::error::ApiError;
use skiff_proto::skiffapi::HistoryRequest;

use super::transport::Retry;
use super::Client;

/// One write of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    pub revision: i64,
    /// Deleted at this revision; `object` is what it was before.
    pub deleted: bool,
    pub object: Value,
}

/// The revisions of an object the store still keeps, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    pub revisions: Vec<Revision>,
    /// The store's history before this revision is compacted (0: nothing was lost).
    pub compacted_revision: i64,
    /// The store's revision when the history was read.
    pub revision: i64,
}

impl Client {
    /// The revisions of `resource` `name` (any name the CLI accepts: `pods`, `po`, `rc`).
    pub async fn history(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<History, ApiError> {
        let message = HistoryRequest {
            resource: resource.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let reply = self
            .transport
            .call("history", Retry::Always, message, |mut c, r| async move {
                c.history(r).await
            })
            .await?;
        let mut revisions = Vec::with_capacity(reply.revisions.len());
        for r in reply.revisions {
            let object = serde_json::from_slice(&r.object).map_err(|e| {
                ApiError::internal(format!(
                    "revision {} from the apiserver is not JSON: {e}",
                    r.revision
                ))
            })?;
            revisions.push(Revision {
                revision: r.revision,
                deleted: r.deleted,
                object,
            });
        }
        Ok(History {
            revisions,
            compacted_revision: reply.compacted_revision,
            revision: reply.revision,
        })
    }
}
