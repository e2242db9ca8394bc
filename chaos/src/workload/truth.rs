//! The store's own history of the apiserver's objects (`/registry/...`), read with an etcd Watch from a start revision: what apiserver watches are checked against.

use std::time::Duration;

use futures::StreamExt;
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::watch_client::WatchClient;
use skiff_proto::etcdserverpb::watch_request::RequestUnion;
use skiff_proto::etcdserverpb::{RangeRequest, WatchCreateRequest, WatchRequest};
use skiff_proto::mvccpb::event::EventType;

use crate::check::watch::StoreEvent;
use crate::error::ChaosError;
use crate::tls::ClientTls;

/// The store's current revision, from the first member of `urls` that answers a
/// linearizable read.
pub async fn current_revision(urls: &[String], tls: &ClientTls) -> Result<i64, ChaosError> {
    for url in urls {
        let call = async {
            let mut kv = KvClient::new(tls.store_channel(url).await.ok()?);
            let r = kv
                .range(RangeRequest {
                    key: b"/chaos-revision-probe".to_vec(),
                    ..Default::default()
                })
                .await
                .ok()?;
            r.into_inner().header.map(|h| h.revision)
        };
        if let Ok(Some(rev)) = tokio::time::timeout(Duration::from_secs(3), call).await {
            return Ok(rev);
        }
    }
    Err(ChaosError::msg("no store member answered a read"))
}

/// `/registry/pods/default/x` -> (pods, default, x); `/registry/nodes/n1` -> (nodes, "", n1).
pub fn parse_key(key: &str) -> Option<(String, String, String)> {
    let rest = key.strip_prefix("/registry/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [kind, ns, name] => Some((kind.to_string(), ns.to_string(), name.to_string())),
        [kind, name] => Some((kind.to_string(), String::new(), name.to_string())),
        _ => None,
    }
}

/// Every change under `/registry/` with revision in `(after, upto]`.
pub async fn registry_events(
    urls: &[String],
    tls: &ClientTls,
    after: i64,
    upto: i64,
) -> Result<Vec<StoreEvent>, ChaosError> {
    let mut last_error = String::from("no store member");
    for url in urls {
        match tokio::time::timeout(Duration::from_secs(30), events_from(url, tls, after, upto))
            .await
        {
            Ok(Ok(events)) => return Ok(events),
            Ok(Err(e)) => last_error = e.to_string(),
            Err(_) => last_error = format!("{url}: reading the history took over 30s"),
        }
    }
    Err(ChaosError::msg(format!(
        "cannot read the store's history: {last_error}"
    )))
}

async fn events_from(
    url: &str,
    tls: &ClientTls,
    after: i64,
    upto: i64,
) -> Result<Vec<StoreEvent>, ChaosError> {
    let mut events = Vec::new();
    if upto <= after {
        return Ok(events);
    }
    // A 10-minute run's history comes in responses well above gRPC's default 4 MiB limit.
    let mut client =
        WatchClient::new(tls.store_channel(url).await?).max_decoding_message_size(usize::MAX);
    let create = WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            // The whole key space, so the watch reaches `upto` whichever key it changed.
            key: vec![0],
            range_end: vec![0],
            start_revision: after + 1,
            ..Default::default()
        })),
    };
    // Keep the request stream open: closing it ends the watch.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(create)
        .await
        .map_err(|_| ChaosError::msg("watch request not sent"))?;
    let mut stream = client
        .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(|e| ChaosError::msg(format!("{url}: {e}")))?
        .into_inner();
    let mut reached = false;
    while let Some(resp) = stream.next().await {
        let resp = resp.map_err(|e| ChaosError::msg(format!("{url}: {e}")))?;
        if resp.compact_revision > 0 {
            return Err(ChaosError::msg(format!(
                "the store compacted its history past revision {after}"
            )));
        }
        for ev in resp.events {
            let Some(kv) = ev.kv else { continue };
            if kv.mod_revision > upto {
                return Ok(events);
            }
            if kv.mod_revision == upto {
                reached = true;
            }
            let key = String::from_utf8_lossy(&kv.key);
            let Some((kind, namespace, name)) = parse_key(&key) else {
                continue;
            };
            events.push(StoreEvent {
                revision: kv.mod_revision,
                kind,
                namespace,
                name,
                deleted: ev.r#type == EventType::Delete as i32,
            });
        }
        if reached {
            break;
        }
    }
    drop(tx);
    Ok(events)
}
