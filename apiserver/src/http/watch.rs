//! `?watch=1`: a chunked stream of WatchEvent JSON lines served from the watch cache, with bookmarks, an ERROR event (410) for an expired resourceVersion, and `timeoutSeconds`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures::{stream, StreamExt};
use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::kinds::KindInfo;
use skiff_proto::skiffapi::WatchEvent;

use super::reply::{self, serve_as};
use super::{Http, Request};
use crate::cache::client::{error_event, Start};
use crate::registry::ListFrom;

/// How long a watch without `timeoutSeconds` lasts (Kubernetes picks 30-60 minutes); clients
/// resume from their last resourceVersion.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How one event is written for this client.
#[derive(Clone)]
struct Framing {
    info: &'static KindInfo,
    api_version: String,
    table: bool,
    /// Table rows carry whole objects (`includeObject=Object`).
    whole: bool,
}

impl Framing {
    /// One line `{"type":...,"object":...}\n`.
    fn line(&self, kind: &str, raw: &[u8]) -> Bytes {
        let rewrite = self.table || self.api_version != self.info.storage_version();
        let object: Option<Value> = if rewrite && kind != "ERROR" {
            serde_json::from_slice(raw).ok().map(|mut o: Value| {
                serve_as(&mut o, &self.api_version);
                if self.table && kind != "BOOKMARK" {
                    return reply::table(self.info, std::slice::from_ref(&o), "", self.whole);
                }
                o
            })
        } else {
            None
        };
        let mut out = Vec::with_capacity(raw.len() + 64);
        out.extend_from_slice(br#"{"type":""#);
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(br#"","object":"#);
        match object {
            Some(o) => out.extend_from_slice(&serde_json::to_vec(&o).unwrap_or_default()),
            None if raw.is_empty() => out.extend_from_slice(b"{}"),
            None => out.extend_from_slice(raw),
        }
        out.extend_from_slice(b"}\n");
        Bytes::from(out)
    }

    fn event(&self, ev: &WatchEvent) -> Bytes {
        self.line(&ev.r#type, &ev.object)
    }
}

impl Http {
    pub(super) async fn watch(&self, r: &Request) -> Result<Response, ApiError> {
        let t = &r.target;
        self.authorize(r, "watch")?;
        let filter = self.filter(r)?;
        let bookmarks = r.query.flag("allowWatchBookmarks")?;
        let timeout = match r.query.int("timeoutSeconds")? {
            Some(s) if s > 0 => Duration::from_secs(s as u64),
            _ => DEFAULT_WATCH_TIMEOUT,
        };
        // Without a resourceVersion (or with "0") Kubernetes starts with an ADDED event for
        // every object that exists, then goes on from the revision of that state. A watch-list
        // (`sendInitialEvents=true`, what client-go's informers and kubectl's waits send) does
        // the same from any resourceVersion and marks the end of the initial events with a
        // bookmark annotated `k8s.io/initial-events-end`.
        let send_initial = r.query.flag("sendInitialEvents")?;
        let requested = Start::parse(r.query.get("resourceVersion"))?;
        let (initial, start, end_marker) = if send_initial || requested == Start::Now {
            // "0" takes the cache as it is, as Kubernetes does; otherwise the initial state is
            // consistent with the store.
            let from = if r.query.get("resourceVersion").trim() == "0" {
                ListFrom::Any
            } else {
                ListFrom::Consistent
            };
            let listing = self.registry.list(t.info, &filter, from).await?;
            let revision = listing.revision;
            (
                listing.items,
                Start::After(revision),
                send_initial.then_some(revision),
            )
        } else {
            (Vec::new(), requested, None)
        };
        let framing = Framing {
            info: t.info,
            api_version: t.api_version.clone(),
            table: r.table,
            whole: r.whole_objects,
        };
        let mut first: Vec<Bytes> = initial
            .iter()
            .map(|o| framing.line("ADDED", &o.json))
            .collect();
        if let Some(revision) = end_marker {
            let marker = json!({
                "kind": t.info.kind,
                "apiVersion": t.api_version,
                "metadata": {
                    "resourceVersion": revision.to_string(),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                },
            });
            first.push(framing.line("BOOKMARK", &serde_json::to_vec(&marker).unwrap_or_default()));
        }
        let live = self
            .registry
            .watch(t.info, start, filter, bookmarks)
            .await?;
        let live_framing = framing.clone();
        let events = live.map(move |ev| match ev {
            Ok(ev) => live_framing.event(&ev),
            Err(status) => live_framing.event(&error_event(&ApiError::from_status(&status))),
        });
        let body = stream::iter(first)
            .chain(events)
            .take_until(self.shutdown.clone().cancelled_owned())
            .take_until(tokio::time::sleep(timeout))
            .map(Ok::<Bytes, std::convert::Infallible>);
        let mut resp = Response::new(Body::from_stream(body));
        *resp.status_mut() = StatusCode::OK;
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(reply::JSON));
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::kinds::by_plural;

    #[test]
    fn lines_carry_the_raw_object_or_the_asked_version() {
        let f = Framing {
            info: by_plural("pods").unwrap(),
            api_version: "v1".into(),
            table: false,
            whole: false,
        };
        let line = f.line("ADDED", br#"{"apiVersion":"v1","kind":"Pod"}"#);
        assert_eq!(
            &line[..],
            b"{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}}\n"
        );
        let f = Framing {
            info: by_plural("replicasets").unwrap(),
            api_version: "apps/v1beta2".into(),
            table: false,
            whole: false,
        };
        let line = f.line(
            "MODIFIED",
            br#"{"apiVersion":"apps/v1","kind":"ReplicaSet"}"#,
        );
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["object"]["apiVersion"], "apps/v1beta2");
        assert_eq!(v["type"], "MODIFIED");
    }
}
