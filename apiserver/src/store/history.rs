//! One key's revisions from the store's MVCC history, an unconditional put and compaction: what `skiff history` and the history retention need.
//!
//! The history is read with a watch on the one key from its first revision: the store
//! replays every change still in its history (puts with their values, deletions with the
//! value before them), then answers a progress request once it has sent everything up to its
//! current revision, which is where the history ends. When the start is compacted away, the
//! watch starts again at the compaction point and the key's value there (written before it)
//! is read as the first, inherited revision.

use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::{CompactionRequest, PutRequest, RangeRequest};

use super::kv::EventType;
use super::watch::{StoreWatch, WatchItem};
use super::{with_fence, with_leader, Store, StoreError};

/// How long to wait for the store before asking again whether the replay is complete.
const PROGRESS_POLL: Duration = Duration::from_millis(50);

/// One write of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRevision {
    pub revision: i64,
    /// The key's version after this write (1: created); 0 for a deletion.
    pub version: i64,
    /// The key was deleted here; `value` is what it held before.
    pub deleted: bool,
    pub value: Vec<u8>,
}

/// The revisions of one key, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHistory {
    pub revisions: Vec<KeyRevision>,
    /// The store's history before this revision is gone (0: nothing of this key was lost).
    pub compacted: i64,
    /// The store's revision the history runs up to.
    pub revision: i64,
}

impl Store {
    /// Every revision of `key` the store still has.
    pub async fn key_history(&self, key: &str) -> Result<KeyHistory, StoreError> {
        let deadline = Instant::now() + self.timeout;
        let mut start = 1;
        let mut last_error = String::new();
        for _ in 0..self.members.len() * 2 {
            let member = self.watch_member();
            let read = tokio::time::timeout_at(
                deadline.into(),
                replay(member.channel.clone(), key, start),
            )
            .await;
            match read {
                Err(_) => {
                    return Err(StoreError::Unavailable(format!(
                        "{}: the history of {key} was not read within {:?}",
                        member.url, self.timeout
                    )))
                }
                Ok(Ok(Replay::Done(mut history))) => {
                    if start > 1 {
                        let mut lost = false;
                        if let Some(base) = self.get_at(key, start).await? {
                            // Written before the compaction point: its last write survives.
                            if base.mod_revision < start {
                                lost = true;
                                history.revisions.insert(
                                    0,
                                    KeyRevision {
                                        revision: base.mod_revision,
                                        version: base.version,
                                        deleted: false,
                                        value: base.value,
                                    },
                                );
                            }
                        }
                        // Nothing of the key lost when its history starts with its creation.
                        let created_after =
                            history.revisions.first().is_some_and(|r| r.version == 1);
                        if lost || !created_after {
                            history.compacted = start;
                        }
                    }
                    return Ok(history);
                }
                Ok(Ok(Replay::Compacted(at))) => start = at.max(start + 1),
                Ok(Ok(Replay::Canceled(reason))) => {
                    return Err(StoreError::Rejected(reason, tonic::Code::Aborted))
                }
                Ok(Err(status)) => {
                    last_error = format!("{}: {}", member.url, status.message());
                    self.member_failed(&member);
                }
            }
        }
        Err(StoreError::Unavailable(last_error))
    }

    /// `key` as it was at `revision`, if it existed then.
    pub async fn get_at(
        &self,
        key: &str,
        revision: i64,
    ) -> Result<Option<super::KeyValue>, StoreError> {
        let req = RangeRequest {
            key: key.as_bytes().to_vec(),
            revision,
            ..Default::default()
        };
        let (resp, _) = self
            .call(|ch| {
                let req = with_leader(req.clone());
                async move { KvClient::new(ch).range(req).await }
            })
            .await?;
        Ok(resp.kvs.into_iter().next())
    }

    /// Writes `value` at `key` whatever it holds; the revision of the write.
    pub async fn put(&self, key: &str, value: Vec<u8>) -> Result<i64, StoreError> {
        let req = PutRequest {
            key: key.as_bytes().to_vec(),
            value,
            ..Default::default()
        };
        let (resp, _) = self
            .call_write(|ch, fence| {
                let req = with_fence(req.clone(), fence);
                async move { KvClient::new(ch).put(req).await }
            })
            .await?;
        Ok(resp.header.map_or(0, |h| h.revision))
    }

    /// Discards the store's history before `revision` (etcd's Compact).
    pub async fn compact(&self, revision: i64) -> Result<(), StoreError> {
        let req = CompactionRequest {
            revision,
            physical: false,
        };
        self.call(|ch| {
            let req = with_leader(req);
            async move { KvClient::new(ch).compact(req).await }
        })
        .await
        .map(drop)
    }
}

enum Replay {
    Done(KeyHistory),
    Compacted(i64),
    Canceled(String),
}

/// Replays the changes of `key` from `start` on one member until the store says it has sent
/// everything up to its current revision.
async fn replay(
    channel: tonic::transport::Channel,
    key: &str,
    start: i64,
) -> Result<Replay, tonic::Status> {
    let (mut watch, first) =
        StoreWatch::open(channel, key.as_bytes().to_vec(), Vec::new(), start).await?;
    let mut history = KeyHistory::default();
    let mut pending = first;
    loop {
        let item = match pending.take() {
            Some(item) => item,
            None => {
                watch.request_progress().await?;
                match tokio::time::timeout(PROGRESS_POLL, watch.next()).await {
                    Ok(item) => item?,
                    Err(_) => continue,
                }
            }
        };
        match item {
            WatchItem::Events(events) => {
                for event in events {
                    let Some(kv) = event.kv else { continue };
                    let deleted = event.r#type == EventType::Delete as i32;
                    let value = match (deleted, event.prev_kv) {
                        (true, Some(prev)) => prev.value,
                        (true, None) => Vec::new(),
                        (false, _) => kv.value,
                    };
                    history.revisions.push(KeyRevision {
                        revision: kv.mod_revision,
                        version: if deleted { 0 } else { kv.version },
                        deleted,
                        value,
                    });
                }
            }
            WatchItem::Progress(revision) => {
                history.revision = revision;
                return Ok(Replay::Done(history));
            }
            WatchItem::Compacted(at) => return Ok(Replay::Compacted(at)),
            WatchItem::Canceled(reason) => return Ok(Replay::Canceled(reason)),
        }
    }
}
