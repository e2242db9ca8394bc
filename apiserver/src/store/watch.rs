//! One etcd v3 watch stream over a key prefix: create, read events and progress, ask for progress.

use std::sync::atomic::Ordering;

use skiff_proto::etcdserverpb::watch_client::WatchClient;
use skiff_proto::etcdserverpb::watch_request::RequestUnion;
use skiff_proto::etcdserverpb::{
    WatchCreateRequest, WatchProgressRequest, WatchRequest, WatchResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Streaming;

use super::{prefix_end, with_leader, Event, Store};

/// The member a watch is opened on.
pub struct WatchMember {
    index: usize,
    pub(super) channel: Channel,
    pub url: String,
}

impl Store {
    /// The member to open a watch on: the one that answered last.
    pub fn watch_member(&self) -> WatchMember {
        let index = self.preferred.load(Ordering::Relaxed) % self.members.len();
        let member = &self.members[index];
        WatchMember {
            index,
            channel: member.channel.clone(),
            url: member.url.clone(),
        }
    }

    /// A watch on `member` failed: later watches and requests start at the next member.
    pub fn member_failed(&self, member: &WatchMember) {
        let next = (member.index + 1) % self.members.len();
        let _ = self.preferred.compare_exchange(
            member.index,
            next,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Opens a watch on `member` over every key starting with `prefix`, from
    /// `start_revision` (inclusive), with previous values and progress notifications, and
    /// waits for the store to confirm it. The item that may come with the confirmation (a
    /// compacted start revision) is returned with the watch.
    pub async fn watch(
        &self,
        member: &WatchMember,
        prefix: &str,
        start_revision: i64,
    ) -> Result<(StoreWatch, Option<WatchItem>), tonic::Status> {
        let key = prefix.as_bytes().to_vec();
        let range_end = prefix_end(&key);
        StoreWatch::open(member.channel.clone(), key, range_end, start_revision).await
    }
}

/// What a store watch delivers.
#[derive(Debug)]
pub enum WatchItem {
    /// Changes, in revision order.
    Events(Vec<Event>),
    /// No events, but the store is at this revision.
    Progress(i64),
    /// The start revision was compacted away; history from there is gone.
    Compacted(i64),
    /// The store ended the watch for another reason.
    Canceled(String),
}

/// An open watch on one member.
pub struct StoreWatch {
    requests: mpsc::Sender<WatchRequest>,
    responses: Streaming<WatchResponse>,
}

impl StoreWatch {
    pub(super) async fn open(
        channel: Channel,
        key: Vec<u8>,
        range_end: Vec<u8>,
        start_revision: i64,
    ) -> Result<(StoreWatch, Option<WatchItem>), tonic::Status> {
        let (requests, rx) = mpsc::channel(4);
        let create = WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key,
                range_end,
                start_revision,
                progress_notify: true,
                prev_kv: true,
                ..Default::default()
            })),
        };
        requests
            .send(create)
            .await
            .map_err(|_| tonic::Status::internal("watch request channel closed"))?;
        let mut client = WatchClient::new(channel).max_decoding_message_size(512 * 1024 * 1024);
        // With the header etcd ends the stream when this member loses its leader, instead of
        // going quiet.
        let request = with_leader(ReceiverStream::new(rx));
        let responses = client.watch(request).await?.into_inner();
        let mut watch = StoreWatch {
            requests,
            responses,
        };
        // The first answer confirms the watch; a compacted start revision may come with it or
        // right after it.
        let first = watch.responses.message().await?.ok_or_else(ended)?;
        let pending = classify(first);
        Ok((watch, pending))
    }

    /// The next item; an error when the stream broke (member gone).
    pub async fn next(&mut self) -> Result<WatchItem, tonic::Status> {
        loop {
            let resp = self.responses.message().await?.ok_or_else(ended)?;
            if let Some(item) = classify(resp) {
                return Ok(item);
            }
        }
    }

    /// Asks the store for a progress notification (answered with the current revision once
    /// every event up to it has been sent on this stream).
    pub async fn request_progress(&self) -> Result<(), tonic::Status> {
        let req = WatchRequest {
            request_union: Some(RequestUnion::ProgressRequest(WatchProgressRequest {})),
        };
        self.requests.send(req).await.map_err(|_| ended())
    }
}

fn ended() -> tonic::Status {
    tonic::Status::unavailable("the store ended the watch stream")
}

/// Turns a response into an item; `None` for the plain "created" confirmation.
fn classify(resp: WatchResponse) -> Option<WatchItem> {
    let revision = resp.header.as_ref().map_or(0, |h| h.revision);
    if resp.canceled {
        if resp.compact_revision > 0 {
            return Some(WatchItem::Compacted(resp.compact_revision));
        }
        return Some(WatchItem::Canceled(resp.cancel_reason));
    }
    if resp.compact_revision > 0 {
        return Some(WatchItem::Compacted(resp.compact_revision));
    }
    if !resp.events.is_empty() {
        return Some(WatchItem::Events(resp.events));
    }
    if resp.created {
        return None;
    }
    Some(WatchItem::Progress(revision))
}
