//! Deletes decide on the watch cache's copy of the object: a stale copy never makes a delete
//! refuse what the stored object allows, remove what finalizers hold, or succeed on an object
//! that is gone.

use std::time::Duration;

use serde_json::{json, Value};
use skiff_api::error::ApiError;
use skiff_api::kinds::by_plural;
use skiff_apiserver::registry::object::key;
use skiff_apiserver::registry::{unguarded, DeleteOptions};
use skiff_testkit::store::{StoreCluster, StoreSpec};

use crate::util::local::{local_registry, start_reflector};
use crate::util::*;

fn label(obj: &Value, key: &str) -> String {
    obj["metadata"]["labels"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Only objects labelled `delete: allowed` may go (decided on the object being deleted).
fn allowed_only(obj: &Value) -> Result<(), ApiError> {
    if label(obj, "delete") == "allowed" {
        Ok(())
    } else {
        Err(ApiError::bad_request("refused by the test's guard"))
    }
}

/// The registry in this process with a cache whose reflector the test stops, so the cache
/// holds every pod as it was before the writes that follow: each delete below would go
/// wrong if it trusted that copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_decided_on_a_stale_cached_copy_is_decided_again() {
    let (binary, _) = skiff_testkit::binary::store_under_test();
    let members = StoreCluster::launch(&StoreSpec::of(&binary, 1)).expect("start a store member");
    within(Duration::from_secs(90), "stale deletes", async {
        let (store, cache, registry) = local_registry(&members).await;
        let pods = by_plural("pods").unwrap();

        step("the cache learns five pods, then its reflector stops");
        let pods_cache = cache.kind(pods).unwrap().clone();
        let (stop, running) = start_reflector(&pods_cache, &store);
        let mut last = 0;
        for name in ["held", "newer", "gone", "older", "guarded"] {
            let body = pod(name, json!({"delete": "denied"})).to_string();
            let created = registry
                .create(pods, "default", body.as_bytes(), &unguarded)
                .await
                .unwrap();
            last = rv(&created).parse::<i64>().unwrap();
        }
        while pods_cache.revision() < last {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.cancel();
        running.await.unwrap();

        step("writes the cache does not see");
        let cached_at = pods_cache.revision();
        let patch = |name: &'static str, body: Value| {
            let registry = registry.clone();
            async move {
                registry
                    .patch(
                        pods,
                        "default",
                        name,
                        body.to_string().as_bytes(),
                        &unguarded,
                    )
                    .await
                    .unwrap()
            }
        };
        patch(
            "held",
            json!({"metadata": {"finalizers": ["example.com/hold"]}}),
        )
        .await;
        let newer = patch("newer", json!({"metadata": {"labels": {"v": "2"}}})).await;
        let older_before = registry.get(pods, "default", "older").await.unwrap();
        patch("older", json!({"metadata": {"labels": {"v": "2"}}})).await;
        patch(
            "guarded",
            json!({"metadata": {"labels": {"delete": "allowed"}}}),
        )
        .await;
        registry
            .delete(
                pods,
                "default",
                "gone",
                &DeleteOptions::default(),
                &unguarded,
            )
            .await
            .unwrap();
        let delete = |name: &'static str, opts: DeleteOptions| {
            let registry = registry.clone();
            async move {
                registry
                    .delete(pods, "default", name, &opts, &unguarded)
                    .await
            }
        };

        assert_eq!(
            pods_cache.revision(),
            cached_at,
            "the cache stays as it was"
        );

        step("a finalizer added since holds the pod: marked, not removed");
        let held = delete("held", DeleteOptions::default()).await.unwrap();
        assert!(!held["metadata"]["deletionTimestamp"].is_null(), "{held}");
        let stored = registry
            .get(pods, "default", "held")
            .await
            .expect("still stored");
        assert_eq!(
            stored["metadata"]["finalizers"],
            json!(["example.com/hold"])
        );

        step("a precondition on the newest resourceVersion holds against the store, not the copy");
        let opts = DeleteOptions {
            precondition_resource_version: rv(&newer),
            ..DeleteOptions::default()
        };
        delete("newer", opts)
            .await
            .expect("the precondition is the stored version");
        assert_eq!(
            registry
                .get(pods, "default", "newer")
                .await
                .unwrap_err()
                .code,
            404
        );

        step("a precondition on the version before is a conflict");
        let opts = DeleteOptions {
            precondition_resource_version: rv(&older_before),
            ..DeleteOptions::default()
        };
        let e = delete("older", opts).await.unwrap_err();
        assert_eq!(e.code, 409, "{e}");
        registry.get(pods, "default", "older").await.expect("kept");

        step("a pod deleted since is not found, though the cache still has it");
        assert!(
            pods_cache.get(&key(pods, "default", "gone")).is_some(),
            "the stopped cache still holds the deleted pod"
        );
        let e = delete("gone", DeleteOptions::default()).await.unwrap_err();
        assert_eq!(e.code, 404, "{e}");

        step("a guard decides on the stored object");
        registry
            .delete(
                pods,
                "default",
                "guarded",
                &DeleteOptions::default(),
                &allowed_only,
            )
            .await
            .expect("the stored pod is labelled delete: allowed");
        let e = registry
            .delete(
                pods,
                "default",
                "older",
                &DeleteOptions::default(),
                &allowed_only,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, 400, "the stored older is still denied: {e}");
    })
    .await;
    drop(members);
}
