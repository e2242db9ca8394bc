//! The typed key-value interface over the store: reads, compare-and-swap writes, leases; every etcd request is built here.
//!
//! Each write is one transaction on one key whose condition is the key's create revision
//! (absent) or mod revision (unchanged since it was read); when the condition fails, the same
//! transaction reads the key, so the caller learns what it holds now without a second request.

use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::lease_client::LeaseClient;
use skiff_proto::etcdserverpb::request_op::Request;
use skiff_proto::etcdserverpb::response_op::Response;
use skiff_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, LeaseGrantRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
};
use tonic::transport::Channel;

pub use skiff_proto::mvccpb::event::EventType;
/// A change seen by a store watch (etcd's `mvccpb.Event`).
pub use skiff_proto::mvccpb::Event;
/// A key as the store holds it, with its revisions (etcd's `mvccpb.KeyValue`).
pub use skiff_proto::mvccpb::KeyValue;

use super::{with_fence, with_leader, Store, StoreError};

/// Largest response accepted from the store (a list of every object of a kind).
const MAX_RESPONSE_BYTES: usize = 512 * 1024 * 1024;

/// The result of a compare-and-swap write.
#[derive(Debug)]
pub enum Cas {
    /// Written at this store revision.
    Done { revision: i64 },
    /// The condition failed; what the key holds now.
    Lost { current: Option<KeyValue> },
}

/// The condition of a compare-and-swap write.
enum Cond {
    /// The key does not exist.
    Absent,
    /// The key was last modified at this revision.
    ModRevision(i64),
}

impl Store {
    /// The key as stored, if it exists (a linearizable read).
    pub async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let resp = self
            .range(RangeRequest {
                key: key.as_bytes().to_vec(),
                ..Default::default()
            })
            .await?;
        Ok(resp.kvs.into_iter().next())
    }

    /// Every key starting with `prefix`, in key order, and the store's revision at that read.
    pub async fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, i64), StoreError> {
        self.list_at(prefix, 0).await
    }

    /// [`Store::list`] as the store was at `revision` (0: now); the revision answered is the
    /// store's current one. A compacted revision is refused (`StoreError::is_compacted`).
    pub async fn list_at(
        &self,
        prefix: &str,
        revision: i64,
    ) -> Result<(Vec<KeyValue>, i64), StoreError> {
        let prefix = prefix.as_bytes().to_vec();
        let range_end = prefix_end(&prefix);
        let resp = self
            .range(RangeRequest {
                key: prefix,
                range_end,
                revision,
                ..Default::default()
            })
            .await?;
        let revision = resp.header.as_ref().map_or(0, |h| h.revision);
        Ok((resp.kvs, revision))
    }

    /// The store's current revision, from a linearizable read that counts one key and
    /// returns nothing: what a list consistent with the store must be at least as new as.
    pub async fn current_revision(&self, key: &str) -> Result<i64, StoreError> {
        let resp = self
            .range(RangeRequest {
                key: key.as_bytes().to_vec(),
                count_only: true,
                ..Default::default()
            })
            .await?;
        Ok(resp.header.as_ref().map_or(0, |h| h.revision))
    }

    /// Counts `key` without reading it: the cheapest request that still needs a member with
    /// a leader, so it tells whether the store answers.
    pub async fn ping(&self, key: &str) -> Result<(), StoreError> {
        self.range(RangeRequest {
            key: key.as_bytes().to_vec(),
            count_only: true,
            ..Default::default()
        })
        .await
        .map(drop)
    }

    /// Writes `value` at `key` (attached to `lease` unless it is 0) if the key does not
    /// exist. The boolean says an earlier attempt may have been applied.
    pub async fn create_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: i64,
    ) -> Result<(Cas, bool), StoreError> {
        self.txn(key, Cond::Absent, put(key, value, lease)).await
    }

    /// Writes `value` at `key` (attached to `lease` unless it is 0) if the key was last
    /// modified at `mod_revision`. The boolean says an earlier attempt may have been applied.
    pub async fn update_if_revision(
        &self,
        key: &str,
        mod_revision: i64,
        value: Vec<u8>,
        lease: i64,
    ) -> Result<(Cas, bool), StoreError> {
        self.txn(key, Cond::ModRevision(mod_revision), put(key, value, lease))
            .await
    }

    /// Deletes `key` if it was last modified at `mod_revision`. The boolean says an earlier
    /// attempt may have been applied.
    pub async fn delete_if(&self, key: &str, mod_revision: i64) -> Result<(Cas, bool), StoreError> {
        let delete = Request::RequestDeleteRange(DeleteRangeRequest {
            key: key.as_bytes().to_vec(),
            ..Default::default()
        });
        self.txn(key, Cond::ModRevision(mod_revision), delete).await
    }

    /// A new lease of `ttl_seconds`; its id.
    pub async fn lease_grant(&self, ttl_seconds: i64) -> Result<i64, StoreError> {
        let (resp, _) = self
            .call(|ch| {
                let req = with_leader(LeaseGrantRequest {
                    ttl: ttl_seconds,
                    id: 0,
                });
                async move { LeaseClient::new(ch).lease_grant(req).await }
            })
            .await?;
        if !resp.error.is_empty() {
            return Err(StoreError::LeaseRefused(resp.error));
        }
        Ok(resp.id)
    }

    async fn range(
        &self,
        req: RangeRequest,
    ) -> Result<skiff_proto::etcdserverpb::RangeResponse, StoreError> {
        self.call(|ch| {
            let req = with_leader(req.clone());
            async move { kv(ch).range(req).await }
        })
        .await
        .map(|(r, _)| r)
    }

    /// `op` if `cond` holds for `key`, else a read of `key`.
    async fn txn(&self, key: &str, cond: Cond, op: Request) -> Result<(Cas, bool), StoreError> {
        let (target, union) = match cond {
            Cond::Absent => (CompareTarget::Create, TargetUnion::CreateRevision(0)),
            Cond::ModRevision(r) => (CompareTarget::Mod, TargetUnion::ModRevision(r)),
        };
        let compare = Compare {
            result: CompareResult::Equal as i32,
            target: target as i32,
            key: key.as_bytes().to_vec(),
            target_union: Some(union),
            range_end: Vec::new(),
        };
        let read = Request::RequestRange(RangeRequest {
            key: key.as_bytes().to_vec(),
            ..Default::default()
        });
        let req = TxnRequest {
            compare: vec![compare],
            success: vec![RequestOp { request: Some(op) }],
            failure: vec![RequestOp {
                request: Some(read),
            }],
        };
        let (resp, retried) = self
            .call_write(|ch, fence| {
                let req = with_fence(req.clone(), fence);
                async move { kv(ch).txn(req).await }
            })
            .await?;
        if resp.succeeded {
            let revision = resp.header.as_ref().map_or(0, |h| h.revision);
            return Ok((Cas::Done { revision }, retried));
        }
        let current = resp.responses.into_iter().find_map(|r| match r.response {
            Some(Response::ResponseRange(range)) => range.kvs.into_iter().next(),
            _ => None,
        });
        Ok((Cas::Lost { current }, retried))
    }
}

fn put(key: &str, value: Vec<u8>, lease: i64) -> Request {
    Request::RequestPut(PutRequest {
        key: key.as_bytes().to_vec(),
        value,
        lease,
        ..Default::default()
    })
}

fn kv(ch: Channel) -> KvClient<Channel> {
    KvClient::new(ch).max_decoding_message_size(MAX_RESPONSE_BYTES)
}

/// The end of the key range that covers every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: the range has no end ("\0" means "to the end of the keyspace").
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"/registry/pods/"), b"/registry/pods0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff"), vec![0]);
    }
}
