//! Range options: prefix, from-key, limit + more, sort, count_only, keys_only,
//! revision, and the mod/create revision filters.

use skiff_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use skiff_proto::etcdserverpb::RangeRequest;

use super::{kv_str, range_req, Fixture};
use crate::error::StoreError;

/// keys: a(rev 2), b/1(3), b/2(4), b/3(5), c(6); then b/1 again (7) and a again (8)
fn sample() -> Fixture {
    let mut f = Fixture::new();
    for (k, v) in [
        ("a", "z"),
        ("b/1", "y"),
        ("b/2", "x"),
        ("b/3", "w"),
        ("c", "v"),
        ("b/1", "u"),
        ("a", "t"),
    ] {
        f.put(k, v);
    }
    f
}

fn keys(f: &Fixture, req: RangeRequest) -> Vec<String> {
    f.range(req)
        .unwrap()
        .kvs
        .iter()
        .map(|kv| kv_str(kv).0)
        .collect()
}

#[test]
fn prefix_and_from_key() {
    let f = sample();
    assert_eq!(keys(&f, range_req("b/", "b0")), ["b/1", "b/2", "b/3"]);
    assert_eq!(keys(&f, range_req("b/2", "\0")), ["b/2", "b/3", "c"]);
    assert_eq!(
        keys(&f, range_req("\0", "\0")),
        ["a", "b/1", "b/2", "b/3", "c"]
    );
    assert_eq!(keys(&f, range_req("c", "a")), Vec::<String>::new());
    assert_eq!(keys(&f, range_req("b", "")), Vec::<String>::new());
    let resp = f.range(range_req("b/", "b0")).unwrap();
    assert_eq!(
        (resp.count, resp.more, resp.header.unwrap().revision),
        (3, false, 8)
    );
}

#[test]
fn limit_sets_more_and_count_stays_total() {
    let f = sample();
    let resp = f
        .range(RangeRequest {
            limit: 2,
            ..range_req("\0", "\0")
        })
        .unwrap();
    assert_eq!(
        resp.kvs.iter().map(|kv| kv_str(kv).0).collect::<Vec<_>>(),
        ["a", "b/1"]
    );
    assert_eq!((resp.count, resp.more), (5, true));
    let resp = f
        .range(RangeRequest {
            limit: 5,
            ..range_req("\0", "\0")
        })
        .unwrap();
    assert_eq!((resp.kvs.len(), resp.count, resp.more), (5, 5, false));
}

#[test]
fn sorting() {
    let f = sample();
    let sorted = |order: SortOrder, target: SortTarget, limit: i64| {
        keys(
            &f,
            RangeRequest {
                sort_order: order as i32,
                sort_target: target as i32,
                limit,
                ..range_req("\0", "\0")
            },
        )
    };
    assert_eq!(
        sorted(SortOrder::Descend, SortTarget::Key, 0),
        ["c", "b/3", "b/2", "b/1", "a"]
    );
    assert_eq!(
        sorted(SortOrder::Ascend, SortTarget::Key, 0),
        ["a", "b/1", "b/2", "b/3", "c"]
    );
    // values: a=t b/1=u b/2=x b/3=w c=v
    assert_eq!(
        sorted(SortOrder::Ascend, SortTarget::Value, 0),
        ["a", "b/1", "c", "b/3", "b/2"]
    );
    assert_eq!(
        sorted(SortOrder::Descend, SortTarget::Value, 2),
        ["b/2", "b/3"]
    );
    // mod: a=8 b/1=7 b/2=4 b/3=5 c=6
    assert_eq!(
        sorted(SortOrder::Descend, SortTarget::Mod, 0),
        ["a", "b/1", "c", "b/3", "b/2"]
    );
    // a target other than KEY with NONE sorts ascending (etcd).
    assert_eq!(
        sorted(SortOrder::None, SortTarget::Mod, 0),
        ["b/2", "b/3", "c", "b/1", "a"]
    );
    // create: a=2 b/1=3 b/2=4 b/3=5 c=6
    assert_eq!(
        sorted(SortOrder::Descend, SortTarget::Create, 3),
        ["c", "b/3", "b/2"]
    );
    // version: a=2 b/1=2 others 1; ties keep key order.
    assert_eq!(
        sorted(SortOrder::Ascend, SortTarget::Version, 0),
        ["b/2", "b/3", "c", "a", "b/1"]
    );
    assert_eq!(
        sorted(SortOrder::Descend, SortTarget::Version, 0),
        ["a", "b/1", "b/2", "b/3", "c"]
    );
    let resp = f
        .range(RangeRequest {
            sort_order: SortOrder::Descend as i32,
            limit: 2,
            ..range_req("\0", "\0")
        })
        .unwrap();
    assert_eq!((resp.count, resp.more), (5, true));
}

#[test]
fn count_only_and_keys_only() {
    let f = sample();
    let resp = f
        .range(RangeRequest {
            count_only: true,
            limit: 1,
            ..range_req("b/", "b0")
        })
        .unwrap();
    assert_eq!((resp.kvs.len(), resp.count, resp.more), (0, 3, false));
    let resp = f
        .range(RangeRequest {
            keys_only: true,
            ..range_req("b/", "b0")
        })
        .unwrap();
    assert_eq!(resp.kvs.len(), 3);
    assert!(resp
        .kvs
        .iter()
        .all(|kv| kv.value.is_empty() && kv.mod_revision > 0 && kv.version > 0));
}

#[test]
fn revision_filters() {
    let f = sample();
    let filtered = |req: RangeRequest| {
        let resp = f.range(req).unwrap();
        (
            resp.kvs.iter().map(|kv| kv_str(kv).0).collect::<Vec<_>>(),
            resp.count,
        )
    };
    let all = || range_req("\0", "\0");
    assert_eq!(
        filtered(RangeRequest {
            min_mod_revision: 6,
            ..all()
        }),
        (vec!["a".into(), "b/1".into(), "c".into()], 5)
    );
    assert_eq!(
        filtered(RangeRequest {
            max_mod_revision: 5,
            ..all()
        }),
        (vec!["b/2".into(), "b/3".into()], 5)
    );
    assert_eq!(
        filtered(RangeRequest {
            min_create_revision: 4,
            max_create_revision: 5,
            ..all()
        })
        .0,
        ["b/2", "b/3"]
    );
    assert_eq!(
        filtered(RangeRequest {
            max_create_revision: 3,
            limit: 1,
            ..all()
        })
        .0,
        ["a"]
    );
    let resp = f
        .range(RangeRequest {
            max_create_revision: 3,
            limit: 1,
            ..all()
        })
        .unwrap();
    assert!(resp.more);
}

#[test]
fn reads_at_a_revision() {
    let f = sample();
    let resp = f
        .range(RangeRequest {
            revision: 4,
            ..range_req("\0", "\0")
        })
        .unwrap();
    let kvs: Vec<_> = resp.kvs.iter().map(kv_str).collect();
    assert_eq!(
        kvs,
        [
            ("a".into(), "z".into()),
            ("b/1".into(), "y".into()),
            ("b/2".into(), "x".into())
        ]
    );
    // The header carries the current revision, not the requested one (etcd).
    assert_eq!((resp.count, resp.header.unwrap().revision), (3, 8));
    assert!(matches!(
        f.range(RangeRequest {
            revision: 9,
            ..range_req("a", "")
        }),
        Err(StoreError::FutureRevision)
    ));
    assert!(matches!(
        f.range(range_req("", "")),
        Err(StoreError::EmptyKey)
    ));
}

#[test]
fn a_thousand_keys_under_a_prefix() {
    let mut f = Fixture::new();
    let reqs = (0..1000).map(|i| {
        skiff_proto::skiffstore::internal_request::Request::Put(super::put_req(
            &format!("p/{i:04}"),
            "v",
        ))
    });
    f.apply_all(reqs.collect());
    f.put("q", "outside");
    let resp = f.range(range_req("p/", "p0")).unwrap();
    assert_eq!((resp.kvs.len(), resp.count), (1000, 1000));
    assert_eq!(kv_str(&resp.kvs[999]).0, "p/0999");
}
