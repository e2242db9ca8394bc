//! Lists from the watch cache: every write is in the next list, through either apiserver and either API; a cache that cannot catch up hands the list to the store; resourceVersion 0 and Exact.

use std::time::{Duration, Instant};

use serde_json::json;
use skiff_api::kinds::by_plural;
use skiff_apiserver::registry::filter::Filter;
use skiff_apiserver::registry::{unguarded, ListFrom, Listing};
use skiff_testkit::store::{StoreCluster, StoreSpec};

use crate::rest::names as rest_names;
use crate::util::local::{local_registry, start_reflector};
use crate::util::*;

const PODS: &str = "/api/v1/namespaces/default/pods";

/// The pods named by a list through apiserver `a`, by gRPC or REST, and the list's revision.
async fn listed(a: &Apiserver, grpc: &mut Client, rest: bool, labels: &str) -> (Vec<String>, i64) {
    if rest {
        let path = format!("{PODS}?labelSelector={}", labels.replace('=', "%3D"));
        let r = a.rest(ADMIN).get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let revision = r.body["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        (rest_names(&r.body), revision)
    } else {
        let (items, revision) = list(grpc, "pods", "default", labels, "")
            .await
            .expect("list");
        let names = items
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        (names, revision.parse().unwrap())
    }
}

/// Would fail if lists were answered from a cache that has not caught up: apiserver B's cache
/// learns of A's writes only through its store watch, and the list comes right after the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_is_in_the_next_list_through_the_other_apiserver() {
    let cluster = Cluster::start(2, &[]).await;
    within(Duration::from_secs(180), "read your writes", async {
        let servers = [&cluster.apiservers[0], &cluster.apiservers[1]];
        let mut clients = [servers[0].client(ADMIN).await, servers[1].client(ADMIN).await];
        step("create, update, delete through one apiserver; each followed at once by a list through the other");
        const ROUNDS: usize = 60;
        for i in 0..ROUNDS {
            let (w, r) = (i % 2, 1 - i % 2);
            let rest = (i / 2) % 2 == 1;
            let name = format!("ryw-{i}");
            let created = create(&mut clients[w], "pods", "default", &pod(&name, json!({"round": "a"})))
                .await
                .expect("create");
            let (names, revision) = listed(servers[r], &mut clients[r], rest, "").await;
            assert!(names.contains(&name), "round {i} (rest: {rest}): the created {name} is not listed: {names:?}");
            assert!(revision >= rv(&created).parse::<i64>().unwrap(), "round {i}: list at {revision}, write at {}", rv(&created));

            let patch_body = json!({"metadata": {"labels": {"round": "b"}}});
            patch(&mut clients[w], "pods", "default", &name, &patch_body).await.expect("patch");
            let (names, _) = listed(servers[r], &mut clients[r], rest, "round=b").await;
            assert!(names.contains(&name), "round {i} (rest: {rest}): the updated {name} is not selected by its new label: {names:?}");

            delete(&mut clients[w], "pods", "default", &name, 0, "").await.expect("delete");
            let (names, _) = listed(servers[r], &mut clients[r], rest, "").await;
            assert!(!names.contains(&name), "round {i} (rest: {rest}): the deleted {name} is still listed: {names:?}");
        }

        step("the lists were answered by the watch caches");
        let mut from_cache = 0.0;
        let mut fallbacks = 0.0;
        for a in servers {
            from_cache += a.metric(r#"skiff_apiserver_watch_cache_lists_total{resource="pods"}"#).await.unwrap_or(0.0);
            fallbacks += a.metric(r#"skiff_apiserver_watch_cache_list_fallbacks_total{resource="pods"}"#).await.unwrap_or(0.0);
        }
        let lists = (3 * ROUNDS) as f64;
        println!("lists from the cache: {from_cache}, read from the store instead: {fallbacks}");
        assert!(from_cache + fallbacks >= lists, "every list is counted: {from_cache} + {fallbacks}");
        assert!(from_cache >= 0.9 * lists, "{from_cache} of {lists} lists from the cache ({fallbacks} fell back)");

        step("the store member under apiserver 1's watch of pods freezes (SIGSTOP): its cache stops, its lists still see every write");
        let under = cluster.store_watch_member(1, "pods").await;
        let fallbacks_before = servers[1].metric(r#"skiff_apiserver_watch_cache_list_fallbacks_total{resource="pods"}"#).await.unwrap_or(0.0);
        cluster.signal_member(under, rustix::process::Signal::STOP);
        for i in 0..3 {
            let name = format!("frozen-{i}");
            let started = Instant::now();
            create(&mut clients[0], "pods", "default", &pod(&name, json!({}))).await.expect("create");
            let written = started.elapsed();
            let (names, _) = listed(servers[1], &mut clients[1], i % 2 == 1, "").await;
            assert!(names.contains(&name), "frozen round {i}: the created {name} is not listed: {names:?}");
            println!("frozen round {i}: create {written:?}, then list {:?}", started.elapsed() - written);
        }
        cluster.signal_member(under, rustix::process::Signal::CONT);
        let fallbacks = servers[1].metric(r#"skiff_apiserver_watch_cache_list_fallbacks_total{resource="pods"}"#).await.unwrap_or(0.0);
        println!("lists of apiserver 1 that read the store while its watch was frozen: {}", fallbacks - fallbacks_before);
        for i in 0..3 {
            delete(&mut clients[0], "pods", "default", &format!("frozen-{i}"), 0, "").await.expect("delete");
        }

        step("REST: resourceVersion=0 from the cache as it is, Exact from the store's history, paging");
        // These lists select only the pods made from here on. A create the frozen member
        // received while stopped, which the apiserver meanwhile retried on another member
        // and answered, can still be applied once the member resumes, after the delete
        // above: a frozen pod may come back (seen once in CI; a known gap of the store
        // client's retries, not of lists).
        const AFTER: &str = "labelSelector=after%3Dfreeze";
        let after = || json!({"after": "freeze"});
        let rest = servers[1].rest(ADMIN);
        let keep = create(&mut clients[0], "pods", "default", &pod("kept", after())).await.unwrap();
        let r = rest.get(&format!("{PODS}?resourceVersion=0")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let gone = create(&mut clients[0], "pods", "default", &pod("gone", after())).await.unwrap();
        delete(&mut clients[0], "pods", "default", "gone", 0, "").await.unwrap();
        let exact = rest.get(&format!("{PODS}?{AFTER}&resourceVersion={}&resourceVersionMatch=Exact", rv(&gone))).await;
        assert_eq!(exact.status, 200, "{}", exact.text);
        assert_eq!(rest_names(&exact.body), ["gone", "kept"], "the state at the revision that created gone");
        assert_eq!(exact.body["metadata"]["resourceVersion"], rv(&gone));
        let now = rest.get(&format!("{PODS}?resourceVersion={}", rv(&keep))).await;
        assert!(rest_names(&now.body).contains(&"kept".to_string()), "NotOlderThan: at least as new as kept's creation: {}", now.text);
        let future = rest.get(&format!("{PODS}?resourceVersion={}", rv(&gone).parse::<i64>().unwrap() + 1_000_000)).await;
        assert_eq!(future.status, 504, "a revision nobody has reached: {}", future.text);
        for i in 0..5 {
            create(&mut clients[0], "pods", "default", &pod(&format!("page-{i}"), after())).await.unwrap();
        }
        let mut paged = Vec::new();
        let mut token = String::new();
        loop {
            let page = rest.get(&format!("{PODS}?{AFTER}&limit=2&continue={token}")).await.body;
            paged.extend(rest_names(&page));
            match page["metadata"]["continue"].as_str() {
                Some(t) => token = t.to_string(),
                None => break,
            }
        }
        assert_eq!(paged, ["kept", "page-0", "page-1", "page-2", "page-3", "page-4"]);
    })
    .await;
}

fn names(listing: &Listing) -> Vec<&str> {
    listing.items.iter().map(|o| o.index.name()).collect()
}

/// The registry in this process over a real store, with a cache whose reflector the test
/// starts and stops: the fallback to the store, deterministically.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_reads_the_store_when_the_cache_cannot_catch_up() {
    let (binary, _) = skiff_testkit::binary::store_under_test();
    let members = StoreCluster::launch(&StoreSpec::of(&binary, 1)).expect("start a store member");
    within(Duration::from_secs(90), "fallback", async {
        let (store, cache, registry) = local_registry(&members).await;
        let wait = Duration::from_millis(500);
        let registry = registry.with_list_from_cache(true, wait);
        let pods = by_plural("pods").unwrap();
        let all = Filter::new(pods, "", "", "").unwrap();
        let pods_cache = cache.kind(pods).unwrap().clone();
        let counts = || {
            use std::sync::atomic::Ordering::Relaxed;
            (pods_cache.lists_from_cache.load(Relaxed), pods_cache.list_fallbacks.load(Relaxed))
        };
        let create_pod = |name: &str| {
            let body = pod(name, json!({})).to_string();
            let registry = registry.clone();
            async move { registry.create(pods, "default", body.as_bytes(), &unguarded).await.unwrap() }
        };

        step("no reflector: the cache is not ready, lists read the store");
        create_pod("a").await;
        let l = registry.list(pods, &all, ListFrom::Consistent).await.unwrap();
        assert_eq!((names(&l), l.from_cache), (vec!["a"], false));
        let l = registry.list(pods, &all, ListFrom::Any).await.unwrap();
        assert_eq!((names(&l), l.from_cache), (vec!["a"], false));
        assert_eq!(counts(), (0, 2));

        step("a reflector fills the cache: lists come from it and see every write");
        let (stop, running) = start_reflector(&pods_cache, &store);
        while !pods_cache.is_ready() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let b = create_pod("b").await;
        let l = registry.list(pods, &all, ListFrom::Consistent).await.unwrap();
        assert_eq!((names(&l), l.from_cache), (vec!["a", "b"], true));
        assert!(l.revision >= rv(&b).parse::<i64>().unwrap());
        assert_eq!(counts(), (1, 2));

        step("the reflector stops: a list waits for the cache, then reads the store");
        stop.cancel();
        running.await.unwrap();
        let c = create_pod("c").await;
        let started = Instant::now();
        let l = registry.list(pods, &all, ListFrom::Consistent).await.unwrap();
        assert_eq!((names(&l), l.from_cache), (vec!["a", "b", "c"], false));
        assert!(l.revision >= rv(&c).parse::<i64>().unwrap());
        assert!(started.elapsed() >= wait, "it waited for the cache first: {:?}", started.elapsed());
        assert_eq!(counts(), (1, 3));

        step("resourceVersion 0 takes the stale cache as it is; a future one is refused; Exact reads history");
        let l = registry.list(pods, &all, ListFrom::Any).await.unwrap();
        assert_eq!((names(&l), l.from_cache), (vec!["a", "b"], true));
        let e = registry.list(pods, &all, ListFrom::NotOlderThan(l.revision + 1_000_000)).await.unwrap_err();
        assert_eq!(e.code, 504, "{e}");
        let at_b = rv(&b).parse::<i64>().unwrap();
        let l = registry.list(pods, &all, ListFrom::Exact(at_b)).await.unwrap();
        assert_eq!((names(&l), l.revision, l.from_cache), (vec!["a", "b"], at_b, false));
    })
    .await;
    drop(members);
}
