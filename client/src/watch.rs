//! Watch events, and the decoding of the apiserver's watch and log streams.

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use skiff_proto::skiffapi::{LogChunk, WatchEvent as WireEvent};
use tonic::Streaming;

use skiff_api::error::ApiError;

/// One change seen by a watch.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent<T> {
    Added(T),
    Modified(T),
    /// The object's last state before it went (or stopped matching the watch's selectors).
    Deleted(T),
    /// Nothing changed up to this resourceVersion; a watch resumed from it misses nothing.
    Bookmark {
        resource_version: String,
    },
}

impl<T> WatchEvent<T> {
    /// The event's object, if it has one.
    pub fn object(&self) -> Option<&T> {
        match self {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => Some(o),
            WatchEvent::Bookmark { .. } => None,
        }
    }
}

/// A watch: events in order; an error (for example Expired: the resourceVersion is no longer
/// kept, list again) ends it.
pub type WatchStream<T> = BoxStream<'static, Result<WatchEvent<T>, ApiError>>;

/// Log bytes as the container wrote them.
pub type ByteStream = BoxStream<'static, Result<Bytes, ApiError>>;

/// The Kubernetes Status an ERROR event carries, as an [`ApiError`].
fn status_error(object: &[u8]) -> ApiError {
    // The Status JSON has the same shape as the details of a gRPC error status, so it is read
    // through the one decoder of that shape.
    let status = tonic::Status::with_details(
        tonic::Code::Unknown,
        "watch failed",
        Bytes::copy_from_slice(object),
    );
    ApiError::from_status(&status)
}

fn decode_object<T: DeserializeOwned>(kind: &str, object: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(object).map_err(|e| {
        ApiError::internal(format!(
            "cannot decode the {kind} event's object from the apiserver: {e}"
        ))
    })
}

/// Reads one wire event.
pub(crate) fn decode_event<T: DeserializeOwned>(
    event: &WireEvent,
) -> Result<WatchEvent<T>, ApiError> {
    match event.r#type.as_str() {
        "ADDED" => decode_object(&event.r#type, &event.object).map(WatchEvent::Added),
        "MODIFIED" => decode_object(&event.r#type, &event.object).map(WatchEvent::Modified),
        "DELETED" => decode_object(&event.r#type, &event.object).map(WatchEvent::Deleted),
        "BOOKMARK" => {
            let object: serde_json::Value = decode_object("BOOKMARK", &event.object)?;
            match object
                .pointer("/metadata/resourceVersion")
                .and_then(|v| v.as_str())
            {
                Some(rv) => Ok(WatchEvent::Bookmark {
                    resource_version: rv.to_string(),
                }),
                None => Err(ApiError::internal(
                    "a BOOKMARK event without metadata.resourceVersion",
                )),
            }
        }
        "ERROR" => Err(status_error(&event.object)),
        other => Err(ApiError::internal(format!(
            "unknown watch event type {other:?}"
        ))),
    }
}

/// Turns the wire stream into typed events; the stream ends after the first error.
pub(crate) fn decode_stream<T: DeserializeOwned + Send + 'static>(
    wire: Streaming<WireEvent>,
) -> WatchStream<T> {
    stream::unfold(Some(wire), |state| async move {
        let mut wire = state?;
        match wire.message().await {
            Ok(Some(event)) => {
                let decoded = decode_event::<T>(&event);
                let next = if decoded.is_ok() { Some(wire) } else { None };
                Some((decoded, next))
            }
            Ok(None) => None,
            Err(status) => Some((Err(ApiError::from_status(&status)), None)),
        }
    })
    .boxed()
}

pub(crate) fn log_stream(wire: Streaming<LogChunk>) -> ByteStream {
    stream::unfold(Some(wire), |state| async move {
        let mut wire = state?;
        match wire.message().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk.data)), Some(wire))),
            Ok(None) => None,
            Err(status) => Some((Err(ApiError::from_status(&status)), None)),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_api::types::Pod;

    fn wire(kind: &str, object: serde_json::Value) -> WireEvent {
        WireEvent {
            r#type: kind.to_string(),
            object: serde_json::to_vec(&object).unwrap(),
        }
    }

    #[test]
    fn events_decode_by_type() {
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "resourceVersion": "7"}});
        match decode_event::<Pod>(&wire("MODIFIED", pod)).unwrap() {
            WatchEvent::Modified(p) => assert_eq!(p.metadata.resource_version, "7"),
            other => panic!("unexpected {other:?}"),
        }
        let bookmark = serde_json::json!({"metadata": {"resourceVersion": "12"}});
        assert_eq!(
            decode_event::<Pod>(&wire("BOOKMARK", bookmark)).unwrap(),
            WatchEvent::Bookmark {
                resource_version: "12".to_string()
            }
        );
    }

    #[test]
    fn an_error_event_becomes_the_api_error_it_carries() {
        let status = ApiError::expired("too old resource version: 3 (10)").to_status_json();
        let error = decode_event::<Pod>(&wire("ERROR", status)).unwrap_err();
        assert!(error.is_expired(), "{error:?}");
        assert_eq!(error.message, "too old resource version: 3 (10)");
    }

    #[test]
    fn unknown_types_are_errors() {
        assert!(decode_event::<Pod>(&wire("SHRUG", serde_json::json!({}))).is_err());
    }
}
