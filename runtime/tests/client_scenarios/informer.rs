//! Informers: initial list and watch, relist after Expired with the gap's deletions reported, bookmarks, resync.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;
use skiff_api::types::{Node, Pod, Resource};
use skiff_client::{Client, DeleteOptions};
use skiff_runtime::informer::{Event, Informer, InformerConfig, Store};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{eventually, pod, single, step, within};

/// What the handlers saw, as `add ns/name`, `update ns/name`, `resync ns/name`, `delete ns/name`.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn has(&self, entry: &str) -> bool {
        self.0.lock().iter().any(|e| e == entry)
    }

    fn count(&self, entry: &str) -> usize {
        self.0.lock().iter().filter(|e| *e == entry).count()
    }

    fn take(&self) -> Vec<String> {
        let mut entries = std::mem::take(&mut *self.0.lock());
        entries.sort();
        entries
    }
}

struct Running {
    store: Store<Pod>,
    log: Log,
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.cancel.cancel();
        within(5, "informer stops on cancel", self.handle)
            .await
            .unwrap();
    }
}

fn start(client: &Client, config: InformerConfig) -> Running {
    let log = Log::default();
    let mut informer = Informer::<Pod>::new(client.clone(), config);
    let entries = log.0.clone();
    informer.on_event(move |event| {
        let key = |p: &Arc<Pod>| format!("{}/{}", p.namespace(), p.name());
        let entry = match event {
            Event::Added(p) => format!("add {}", key(p)),
            Event::Updated { old, new } if Arc::ptr_eq(old, new) => format!("resync {}", key(new)),
            Event::Updated { new, .. } => format!("update {}", key(new)),
            Event::Deleted(p) => format!("delete {}", key(p)),
        };
        entries.lock().push(entry);
    });
    let store = informer.store();
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(informer.run(cancel.clone()));
    Running {
        store,
        log,
        cancel,
        handle,
    }
}

#[tokio::test]
async fn lists_then_watches_and_keeps_the_store_current() {
    let (_shared, _server, client) = single().await;
    within(20, "list and watch", async {
        client.create(&pod("default", "a", "web")).await.unwrap();
        client.create(&pod("default", "b", "web")).await.unwrap();
        client.create(&pod("default", "other", "db")).await.unwrap();
        client.create(&pod("elsewhere", "c", "web")).await.unwrap();
        let informer = start(
            &client,
            InformerConfig::default()
                .namespace("default")
                .labels("app=web"),
        );

        step("the initial list is reported as adds");
        informer.store.wait_synced().await;
        assert!(informer.store.has_synced());
        assert_eq!(informer.log.take(), ["add default/a", "add default/b"]);
        assert_eq!(informer.store.len(), 2);

        step("watched changes reach the store before the handlers");
        client.create(&pod("default", "d", "web")).await.unwrap();
        client
            .patch::<Pod>("default", "b", &json!({"metadata": {"labels": {"v": "2"}}}))
            .await
            .unwrap();
        client
            .delete::<Pod>("default", "a", &DeleteOptions::now())
            .await
            .unwrap();
        eventually(5, "three events", || informer.log.0.lock().len() == 3).await;
        assert_eq!(
            informer.log.take(),
            ["add default/d", "delete default/a", "update default/b"]
        );
        assert!(informer.store.get("default", "a").is_none());
        assert_eq!(
            informer.store.get("default", "b").unwrap().metadata.labels["v"],
            "2"
        );
        assert!(informer.store.get_by_key("default/d").is_some());
        informer.stop().await;
    })
    .await;
}

#[tokio::test]
async fn relists_after_expired_and_reports_what_changed_in_the_gap() {
    let (shared, _server, client) = single().await;
    within(30, "relist after Expired", async {
        client.create(&pod("default", "a", "web")).await.unwrap();
        client.create(&pod("default", "b", "web")).await.unwrap();
        client.create(&pod("default", "c", "web")).await.unwrap();
        let informer = start(&client, InformerConfig::default());
        informer.store.wait_synced().await;
        informer.log.take();

        step("the watch breaks; meanwhile a is deleted, b changed, d created and the history compacted");
        shared.block_watches(true);
        shared.break_watches();
        client.delete::<Pod>("default", "a", &DeleteOptions::now()).await.unwrap();
        client.patch::<Pod>("default", "b", &json!({"metadata": {"labels": {"v": "2"}}})).await.unwrap();
        client.create(&pod("default", "d", "web")).await.unwrap();
        shared.compact();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(informer.store.get("default", "a").is_some(), "the informer cannot know yet");

        step("the resumed watch is Expired: the informer lists again and reports the difference");
        shared.block_watches(false);
        eventually(10, "the gap's changes", || informer.log.0.lock().len() == 3).await;
        assert_eq!(informer.log.take(), ["add default/d", "delete default/a", "update default/b"]);
        assert_eq!(shared.lists(), 2);
        assert!(informer.store.get("default", "a").is_none());
        assert_eq!(informer.store.len(), 3);

        step("and watches on from the new list");
        client.delete::<Pod>("default", "c", &DeleteOptions::now()).await.unwrap();
        eventually(5, "delete of c", || informer.log.has("delete default/c")).await;
        informer.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_broken_watch_resumes_from_the_last_bookmark_without_listing_again() {
    let (shared, _server, client) = single().await;
    within(20, "resume after a broken watch", async {
        client.create(&pod("default", "a", "web")).await.unwrap();
        let informer = start(&client, InformerConfig::default());
        informer.store.wait_synced().await;
        client
            .create(&pod("default", "marker", "web"))
            .await
            .unwrap();
        eventually(5, "marker seen", || informer.log.has("add default/marker")).await;

        step("changes to other kinds advance the resourceVersion; the pod watch gets bookmarks");
        for name in ["n1", "n2", "n3"] {
            client.create(&Node::named("", name)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;

        step("history compacted up to the last bookmark, watch broken: resuming needs no list");
        shared.compact();
        shared.break_watches();
        client
            .create(&pod("default", "after", "web"))
            .await
            .unwrap();
        eventually(5, "pod created after the break", || {
            informer.log.has("add default/after")
        })
        .await;
        assert_eq!(
            shared.lists(),
            1,
            "the informer listed again instead of resuming"
        );
        informer.stop().await;
    })
    .await;
}

#[tokio::test]
async fn resync_reports_every_cached_object_again() {
    let (_shared, _server, client) = single().await;
    within(20, "resync", async {
        client.create(&pod("default", "a", "web")).await.unwrap();
        client.create(&pod("default", "b", "web")).await.unwrap();
        let informer = start(
            &client,
            InformerConfig::default().resync(Duration::from_millis(200)),
        );
        informer.store.wait_synced().await;
        eventually(5, "two resyncs of each object", || {
            informer.log.count("resync default/a") >= 2
                && informer.log.count("resync default/b") >= 2
        })
        .await;
        assert_eq!(informer.log.count("add default/a"), 1);
        informer.stop().await;
    })
    .await;
}
