//! The client API over `serde_json::Value`, for tools (the CLI) that handle kinds by name.
//!
//! `resource` is the plural resource name (`pods`, `replicasets`); a cluster-scoped resource
//! (known to [`kinds`](skiff_api::kinds)) ignores the namespace given.

use serde_json::Value;

use super::options::{DeleteOptions, ListOptions, ObjectList, WatchOptions};
use super::raw::Subresource;
use super::typed::{decode, deleted_object, encode};
use super::watch::{self, WatchStream};
use super::{scope, Client};
use skiff_api::error::ApiError;
use skiff_api::kinds;

/// The namespace a request about `resource` carries.
fn scoped<'a>(resource: &str, namespace: &'a str) -> &'a str {
    scope(
        kinds::by_plural(resource).is_none_or(|info| info.namespaced),
        namespace,
    )
}

fn object_meta<'a>(object: &'a Value, field: &str) -> &'a str {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Client {
    pub async fn create_json(
        &self,
        resource: &str,
        namespace: &str,
        object: &Value,
    ) -> Result<Value, ApiError> {
        let bytes = self
            .raw_create(resource, scoped(resource, namespace), encode(object)?)
            .await?;
        decode(resource, &bytes)
    }

    pub async fn get_json(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let bytes = self
            .raw_get(resource, scoped(resource, namespace), name)
            .await?;
        decode(resource, &bytes)
    }

    /// Lists in one namespace, or in every namespace with `None`.
    pub async fn list_json(
        &self,
        resource: &str,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<ObjectList<Value>, ApiError> {
        let reply = self
            .raw_list(
                resource,
                scoped(resource, namespace.unwrap_or_default()),
                options,
            )
            .await?;
        let items = decode(&format!("a list of {resource}"), &reply.items)?;
        Ok(ObjectList {
            items,
            resource_version: reply.resource_version,
        })
    }

    /// Replaces the object (in the namespace its metadata names); compare-and-swap when it
    /// carries a resourceVersion.
    pub async fn update_json(&self, resource: &str, object: &Value) -> Result<Value, ApiError> {
        self.update_json_sub(Subresource::Main, resource, object)
            .await
    }

    pub async fn update_status_json(
        &self,
        resource: &str,
        object: &Value,
    ) -> Result<Value, ApiError> {
        self.update_json_sub(Subresource::Status, resource, object)
            .await
    }

    async fn update_json_sub(
        &self,
        sub: Subresource,
        resource: &str,
        object: &Value,
    ) -> Result<Value, ApiError> {
        let guarded = !object_meta(object, "resourceVersion").is_empty();
        let namespace = scoped(resource, object_meta(object, "namespace"));
        let bytes = self
            .raw_update(sub, resource, namespace, encode(object)?, guarded)
            .await?;
        decode(resource, &bytes)
    }

    /// Applies a JSON merge patch.
    pub async fn patch_json(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let bytes = self
            .raw_patch(resource, scoped(resource, namespace), name, encode(patch)?)
            .await?;
        decode(resource, &bytes)
    }

    /// Deletes; returns the object as the server returned it, if it did (see [`Client::delete`]).
    pub async fn delete_json(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Option<Value>, ApiError> {
        let bytes = self
            .raw_delete(resource, scoped(resource, namespace), name, options)
            .await?;
        deleted_object(&bytes)
    }

    pub async fn watch_json(
        &self,
        resource: &str,
        namespace: Option<&str>,
        options: &WatchOptions,
    ) -> Result<WatchStream<Value>, ApiError> {
        let wire = self
            .raw_watch(
                resource,
                scoped(resource, namespace.unwrap_or_default()),
                options,
            )
            .await?;
        Ok(watch::decode_stream(wire))
    }
}
