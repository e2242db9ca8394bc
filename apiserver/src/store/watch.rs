//! One etcd v3 watch stream over a key prefix: create, read events and progress, ask for progress.

use skiff_proto::etcdserverpb::watch_client::WatchClient;
use skiff_proto::etcdserverpb::watch_request::RequestUnion;
use skiff_proto::etcdserverpb::{
    WatchCreateRequest, WatchProgressRequest, WatchRequest, WatchResponse,
};
use skiff_proto::mvccpb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Streaming;

/// What a store watch delivers.
#[derive(Debug)]
pub enum WatchItem {
    /// Changes, in revision order.
    Events(Vec<mvccpb::Event>),
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
    /// Opens a watch on `[key, range_end)` from `start_revision` (inclusive), with previous
    /// values and progress notifications, and waits for the store to confirm it.
    pub async fn open(
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
        let mut request = tonic::Request::new(ReceiverStream::new(rx));
        // etcd then ends the stream when this member loses its leader, instead of going quiet;
        // other stores ignore the header.
        request.metadata_mut().insert(
            "hasleader",
            tonic::metadata::MetadataValue::from_static("true"),
        );
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
