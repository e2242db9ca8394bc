//! Revisions, versions and generations of puts and deletes; put options and errors.

use skiff_proto::etcdserverpb::{DeleteRangeRequest, PutRequest};
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::{InternalRequest, MemberAttributes};

use super::{put_req, Fixture};
use crate::error::StoreError;
use crate::mvcc::{Committed, Outcome};

#[test]
fn empty_store_is_at_revision_one() {
    let f = Fixture::new();
    assert_eq!(f.sm.revision(), 1);
    assert_eq!(f.sm.compact_revision(), -1);
    assert_eq!(f.sm.applied_index(), 0);
    let resp = f.range(super::range_req("a", "\0")).unwrap();
    assert_eq!(resp.header.unwrap().revision, 1);
    assert_eq!(resp.count, 0);
}

#[test]
fn revisions_versions_and_generations() {
    let mut f = Fixture::new();
    assert_eq!(f.put("a", "1").header.unwrap().revision, 2);
    assert_eq!(f.put("b", "1").header.unwrap().revision, 3);
    assert_eq!(f.put("a", "2").header.unwrap().revision, 4);
    let a = f.get("a").unwrap();
    assert_eq!(
        (
            a.create_revision,
            a.mod_revision,
            a.version,
            a.value.as_slice()
        ),
        (2, 4, 2, &b"2"[..])
    );

    let del = f.delete("a", "");
    assert_eq!((del.deleted, del.header.unwrap().revision), (1, 5));
    assert_eq!(del.prev_kvs, vec![a.clone()]);
    assert_eq!(f.get("a"), None);

    // A new generation starts at version 1 with a new create revision.
    f.put("a", "3");
    let a2 = f.get("a").unwrap();
    assert_eq!((a2.create_revision, a2.mod_revision, a2.version), (6, 6, 1));

    // Every past revision still reads as it was.
    assert_eq!(f.get_at("a", 1).unwrap(), None);
    assert_eq!(f.get_at("a", 3).unwrap().unwrap().version, 1);
    assert_eq!(f.get_at("a", 4).unwrap(), Some(a));
    assert_eq!(f.get_at("a", 5).unwrap(), None);
    assert_eq!(f.get_at("a", 6).unwrap(), Some(a2));
    assert!(matches!(f.get_at("a", 7), Err(StoreError::FutureRevision)));
}

#[test]
fn deleting_nothing_does_not_bump_the_revision() {
    let mut f = Fixture::new();
    f.put("a", "1");
    let del = f.delete("zzz", "");
    assert_eq!((del.deleted, del.header.unwrap().revision), (0, 2));
    let del = f.delete("b", "c");
    assert_eq!(del.deleted, 0);
    assert_eq!(f.sm.revision(), 2);
    assert_eq!(f.sm.applied_index(), 3);
}

#[test]
fn delete_range_deletes_every_key_in_one_revision() {
    let mut f = Fixture::new();
    for k in ["a", "b1", "b2", "b3", "c"] {
        f.put(k, "v");
    }
    let del = f.delete("b", "c");
    assert_eq!((del.deleted, del.header.unwrap().revision), (3, 7));
    let keys: Vec<_> = del.prev_kvs.iter().map(|kv| super::kv_str(kv).0).collect();
    assert_eq!(keys, ["b1", "b2", "b3"]);
    let del = f.delete("a", "\0");
    assert_eq!((del.deleted, del.header.unwrap().revision), (2, 8));
    assert_eq!(f.range(super::range_req("a", "\0")).unwrap().count, 0);
}

#[test]
fn put_options() {
    let mut f = Fixture::new();
    // prev_kv
    f.put("k", "v1");
    let resp = f
        .put_with(PutRequest {
            prev_kv: true,
            ..put_req("k", "v2")
        })
        .unwrap();
    assert_eq!(resp.prev_kv.unwrap().value, b"v1");
    let resp = f
        .put_with(PutRequest {
            prev_kv: true,
            ..put_req("new", "x")
        })
        .unwrap();
    assert_eq!(resp.prev_kv, None);

    // ignore_value keeps the value, ignore_lease keeps the lease.
    f.grant(5, 60).unwrap();
    f.put_with(PutRequest {
        lease: 5,
        ..put_req("k", "v3")
    })
    .unwrap();
    f.put_with(PutRequest {
        key: b"k".to_vec(),
        ignore_value: true,
        lease: 5,
        ..Default::default()
    })
    .unwrap();
    let k = f.get("k").unwrap();
    assert_eq!((k.value.as_slice(), k.lease, k.version), (&b"v3"[..], 5, 4));
    f.put_with(PutRequest {
        ignore_lease: true,
        ..put_req("k", "v4")
    })
    .unwrap();
    let k = f.get("k").unwrap();
    assert_eq!((k.value.as_slice(), k.lease, k.version), (&b"v4"[..], 5, 5));

    // Errors are identical outcomes and do not bump the revision.
    let rev = f.sm.revision();
    let missing = |f: &mut Fixture, req| f.put_with(req).unwrap_err();
    assert!(matches!(
        missing(
            &mut f,
            PutRequest {
                key: b"nope".to_vec(),
                ignore_value: true,
                ..Default::default()
            }
        ),
        StoreError::KeyNotFound
    ));
    assert!(matches!(
        missing(
            &mut f,
            PutRequest {
                ignore_lease: true,
                ..put_req("nope", "x")
            }
        ),
        StoreError::KeyNotFound
    ));
    assert!(matches!(
        missing(
            &mut f,
            PutRequest {
                lease: 99,
                ..put_req("k", "x")
            }
        ),
        StoreError::LeaseNotFound
    ));
    assert!(matches!(
        missing(&mut f, put_req("", "x")),
        StoreError::EmptyKey
    ));
    assert!(matches!(
        missing(
            &mut f,
            PutRequest {
                ignore_value: true,
                ..put_req("k", "x")
            }
        ),
        StoreError::ValueProvided
    ));
    assert!(matches!(
        missing(
            &mut f,
            PutRequest {
                ignore_lease: true,
                lease: 5,
                ..put_req("k", "")
            }
        ),
        StoreError::LeaseProvided
    ));
    assert_eq!(f.sm.revision(), rev);
    assert_eq!(f.get("k").unwrap().value, b"v4");
}

#[test]
fn a_batch_sees_its_own_earlier_entries() {
    let mut f = Fixture::new();
    let out = f.apply_all(vec![
        Request::Put(put_req("a", "1")),
        Request::Put(PutRequest {
            prev_kv: true,
            ..put_req("a", "2")
        }),
        Request::DeleteRange(DeleteRangeRequest {
            key: b"a".to_vec(),
            prev_kv: true,
            ..Default::default()
        }),
        Request::Put(put_req("a", "3")),
    ]);
    let revs: Vec<i64> = out
        .iter()
        .map(|a| match &a.outcome {
            Outcome::Put(r) => r.header.as_ref().unwrap().revision,
            Outcome::DeleteRange(r) => r.header.as_ref().unwrap().revision,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(revs, [2, 3, 4, 5]);
    match &out[1].outcome {
        Outcome::Put(r) => assert_eq!(r.prev_kv.as_ref().unwrap().value, b"1"),
        other => panic!("{other:?}"),
    }
    match &out[2].outcome {
        Outcome::DeleteRange(r) => assert_eq!(r.prev_kvs[0].value, b"2"),
        other => panic!("{other:?}"),
    }
    let a = f.get("a").unwrap();
    assert_eq!((a.create_revision, a.version), (5, 1));
    assert_eq!(f.get_at("a", 3).unwrap().unwrap().version, 2);
}

#[test]
fn no_ops_advance_the_applied_index_and_members_are_listed() {
    let mut f = Fixture::new();
    let out =
        f.sm.apply(vec![
            Committed {
                index: 1,
                request: None,
            },
            Committed {
                index: 2,
                request: None,
            },
        ])
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(f.sm.applied_index(), 2);
    f.index = 2;
    let member = |id: u64, name: &str| MemberAttributes {
        member_id: id,
        name: name.into(),
        client_urls: vec![format!("http://{name}")],
    };
    assert!(matches!(
        f.apply(Request::MemberAttributes(member(9, "s9"))),
        Outcome::MemberAttributes
    ));
    f.apply(Request::MemberAttributes(member(3, "s3")));
    f.apply(Request::MemberAttributes(member(9, "s9b")));
    let names: Vec<_> =
        f.sm.members()
            .into_iter()
            .map(|m| (m.member_id, m.name))
            .collect();
    assert_eq!(names, [(3, "s3".to_string()), (9, "s9b".to_string())]);
    assert_eq!(f.sm.revision(), 1);
    // An entry without an operation answers an error instead of hanging its proposer.
    f.index += 1;
    let empty = Committed {
        index: f.index,
        request: Some(InternalRequest {
            proposer: 1,
            id: 2,
            request: None,
        }),
    };
    let out = f.sm.apply(vec![empty]).unwrap();
    assert!(matches!(out[0].outcome, Outcome::Error(_)));
}

#[test]
fn large_values_round_trip() {
    let mut f = Fixture::new();
    let big = vec![0xabu8; 1536 * 1024];
    f.put_with(PutRequest {
        key: b"big".to_vec(),
        value: big.clone(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(f.get("big").unwrap().value, big);
}
