//! The client API generic over kinds: objects go out and come back as their Rust types.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::options::{
    DeleteOptions, ListOptions, LogOptions, ObjectList, Scale, UserInfo, WatchOptions,
};
use super::raw::Subresource;
use super::watch::{self, ByteStream, WatchStream};
use super::{scope, Client};
use skiff_api::error::ApiError;
use skiff_api::types::Resource;

pub(crate) fn encode<T: Serialize>(object: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(object)
        .map_err(|e| ApiError::bad_request(format!("cannot encode the object as JSON: {e}")))
}

pub(crate) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::internal(format!("cannot decode {what} from the apiserver: {e}")))
}

/// A delete reply: the object as the server returned it, or nothing when the reply is empty or
/// a bare Status (the object is gone and the server did not echo it).
pub(crate) fn deleted_object(bytes: &[u8]) -> Result<Option<serde_json::Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = decode("the deleted object", bytes)?;
    if value.get("kind").and_then(|k| k.as_str()) == Some("Status") {
        return Ok(None);
    }
    Ok(Some(value))
}

impl Client {
    /// Creates `object` in the namespace its metadata names (empty: the server's default
    /// namespace); returns it as stored (uid, resourceVersion, defaults filled in).
    pub async fn create<T: Resource>(&self, object: &T) -> Result<T, ApiError> {
        let bytes = self
            .raw_create(
                T::PLURAL,
                scope(T::NAMESPACED, object.namespace()),
                encode(object)?,
            )
            .await?;
        decode(T::KIND, &bytes)
    }

    /// Reads one object; `namespace` is ignored for cluster-scoped kinds.
    pub async fn get<T: Resource>(&self, namespace: &str, name: &str) -> Result<T, ApiError> {
        let bytes = self
            .raw_get(T::PLURAL, scope(T::NAMESPACED, namespace), name)
            .await?;
        decode(T::KIND, &bytes)
    }

    /// Like [`Client::get`], with NotFound as `None`.
    pub async fn get_opt<T: Resource>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.get(namespace, name).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists objects in one namespace, or in every namespace with `None`.
    pub async fn list<T: Resource>(
        &self,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<ObjectList<T>, ApiError> {
        let reply = self
            .raw_list(
                T::PLURAL,
                scope(T::NAMESPACED, namespace.unwrap_or_default()),
                options,
            )
            .await?;
        let items = decode(&format!("a list of {}", T::PLURAL), &reply.items)?;
        Ok(ObjectList {
            items,
            resource_version: reply.resource_version,
        })
    }

    /// Replaces the object. With `metadata.resourceVersion` set the write is a compare-and-swap:
    /// a stale version fails with Conflict.
    pub async fn update<T: Resource>(&self, object: &T) -> Result<T, ApiError> {
        self.update_sub(Subresource::Main, object).await
    }

    /// Writes only the object's status (the status subresource); the spec is left as stored.
    pub async fn update_status<T: Resource>(&self, object: &T) -> Result<T, ApiError> {
        self.update_sub(Subresource::Status, object).await
    }

    async fn update_sub<T: Resource>(
        &self,
        subresource: Subresource,
        object: &T,
    ) -> Result<T, ApiError> {
        let meta = object.metadata();
        let guarded = !meta.resource_version.is_empty();
        let namespace = scope(T::NAMESPACED, &meta.namespace);
        let bytes = self
            .raw_update(subresource, T::PLURAL, namespace, encode(object)?, guarded)
            .await?;
        decode(T::KIND, &bytes)
    }

    /// Applies a JSON merge patch (RFC 7386), e.g. `{"metadata": {"labels": {"app": null}}}`.
    pub async fn patch<T: Resource>(
        &self,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<T, ApiError> {
        let bytes = self
            .raw_patch(
                T::PLURAL,
                scope(T::NAMESPACED, namespace),
                name,
                encode(patch)?,
            )
            .await?;
        decode(T::KIND, &bytes)
    }

    /// Deletes an object. Returns the object as the server returned it: still present with
    /// `deletionTimestamp` set (a pod in its grace period, an object with finalizers) or its
    /// final state; `None` when the server answered with no object.
    pub async fn delete<T: Resource>(
        &self,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Option<T>, ApiError> {
        let bytes = self
            .raw_delete(T::PLURAL, scope(T::NAMESPACED, namespace), name, options)
            .await?;
        match deleted_object(&bytes)? {
            None => Ok(None),
            Some(value) => serde_json::from_value(value).map(Some).map_err(|e| {
                ApiError::internal(format!("cannot decode {} from the apiserver: {e}", T::KIND))
            }),
        }
    }

    /// Watches one namespace, or every namespace with `None`.
    pub async fn watch<T: Resource>(
        &self,
        namespace: Option<&str>,
        options: &WatchOptions,
    ) -> Result<WatchStream<T>, ApiError> {
        let wire = self
            .raw_watch(
                T::PLURAL,
                scope(T::NAMESPACED, namespace.unwrap_or_default()),
                options,
            )
            .await?;
        Ok(watch::decode_stream(wire))
    }

    /// Binds a pod to a node (pods/binding): sets `spec.nodeName`, once.
    pub async fn bind(&self, namespace: &str, pod: &str, node: &str) -> Result<(), ApiError> {
        self.raw_bind(namespace, pod, node, None).await.map(drop)
    }

    /// Like [`Client::bind`], only if the pod still has `uid` (not a new pod under the same name).
    pub async fn bind_uid(
        &self,
        namespace: &str,
        pod: &str,
        uid: &str,
        node: &str,
    ) -> Result<(), ApiError> {
        self.raw_bind(namespace, pod, node, Some(uid))
            .await
            .map(drop)
    }

    /// Reads the scale subresource of `resource` (`replicationcontrollers`, `replicasets`,
    /// `jobs`).
    pub async fn get_scale(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Scale, ApiError> {
        let reply = self.raw_get_scale(resource, namespace, name).await?;
        Ok(Scale {
            spec_replicas: reply.spec_replicas,
            status_replicas: reply.status_replicas,
            selector: reply.selector,
            resource_version: reply.resource_version,
        })
    }

    /// Sets the desired replicas; with `current_replicas` only if the object still wants that
    /// many (otherwise Conflict).
    pub async fn update_scale(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        replicas: i32,
        current_replicas: Option<i32>,
    ) -> Result<Scale, ApiError> {
        let reply = self
            .raw_update_scale(resource, namespace, name, replicas, current_replicas)
            .await?;
        Ok(Scale {
            spec_replicas: reply.spec_replicas,
            status_replicas: reply.status_replicas,
            selector: reply.selector,
            resource_version: reply.resource_version,
        })
    }

    /// A container's log, streamed from the node that runs the pod.
    pub async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        options: &LogOptions,
    ) -> Result<ByteStream, ApiError> {
        Ok(watch::log_stream(
            self.raw_logs(namespace, pod, options).await?,
        ))
    }

    /// The caller as the apiserver authenticated it.
    pub async fn who_am_i(&self) -> Result<UserInfo, ApiError> {
        let reply = self.raw_who_am_i().await?;
        Ok(UserInfo {
            user: reply.user,
            groups: reply.groups,
            role: reply.role,
        })
    }
}
