//! Leases: grant, attach, move between leases, detach, revoke with its keys.

use skiff_proto::etcdserverpb::{LeaseGrantRequest, LeaseRevokeRequest, PutRequest};
use skiff_proto::skiffstore::internal_request::Request;

use super::{put_req, Fixture};
use crate::error::StoreError;
use crate::mvcc::{Outcome, MAX_LEASE_TTL};

fn keys(f: &Fixture, id: i64) -> Vec<String> {
    f.sm.lease_keys(id)
        .into_iter()
        .map(|k| String::from_utf8(k).unwrap())
        .collect()
}

#[test]
fn grant_and_errors() {
    let mut f = Fixture::new();
    f.grant(10, 30).unwrap();
    f.grant(3, 5).unwrap();
    assert!(matches!(f.grant(10, 1), Err(StoreError::LeaseExists)));
    assert!(matches!(f.grant(0, 1), Err(StoreError::LeaseNotFound)));
    assert!(matches!(
        f.grant(11, MAX_LEASE_TTL + 1),
        Err(StoreError::LeaseTtlTooLarge)
    ));
    assert_eq!(f.sm.lease(10).map(|l| l.ttl), Some(30));
    assert_eq!(
        f.sm.leases().iter().map(|l| l.id).collect::<Vec<_>>(),
        [3, 10]
    );
    assert!(matches!(f.revoke(77), Err(StoreError::LeaseNotFound)));
    // Granting does not create a revision.
    assert_eq!(f.sm.revision(), 1);
}

#[test]
fn attach_move_detach_and_revoke() {
    let mut f = Fixture::new();
    f.grant(1, 60).unwrap();
    f.grant(2, 60).unwrap();
    for k in ["a", "b", "c"] {
        f.put_with(PutRequest {
            lease: 1,
            ..put_req(k, "v")
        })
        .unwrap();
    }
    f.put("free", "v");
    assert_eq!(keys(&f, 1), ["a", "b", "c"]);
    // Moving a key to another lease detaches it from the first.
    f.put_with(PutRequest {
        lease: 2,
        ..put_req("b", "v2")
    })
    .unwrap();
    // A put without a lease detaches.
    f.put("c", "v2");
    // A delete detaches.
    f.put_with(PutRequest {
        lease: 1,
        ..put_req("d", "v")
    })
    .unwrap();
    f.delete("d", "");
    assert_eq!(keys(&f, 1), ["a"]);
    assert_eq!(keys(&f, 2), ["b"]);
    assert_eq!(f.get("a").unwrap().lease, 1);
    assert_eq!(f.get("c").unwrap().lease, 0);

    f.put_with(PutRequest {
        lease: 2,
        ..put_req("e", "v")
    })
    .unwrap();
    let before = f.sm.revision();
    let rev = f.revoke(2).unwrap();
    // Every attached key goes in one revision.
    assert_eq!(rev, before + 1);
    assert_eq!(f.get("b"), None);
    assert_eq!(f.get("e"), None);
    assert!(f.get("a").is_some() && f.get("c").is_some() && f.get("free").is_some());
    assert_eq!(f.sm.lease(2), None);
    assert!(keys(&f, 2).is_empty());
    let b_del = f.get_at("b", before).unwrap().unwrap();
    assert_eq!(b_del.value, b"v2");

    // Revoking a lease without keys does not bump the revision.
    f.grant(3, 60).unwrap();
    let rev = f.revoke(3).unwrap();
    assert_eq!(rev, f.sm.revision());
    assert_eq!(rev, before + 1);
}

#[test]
fn leases_inside_one_batch() {
    let mut f = Fixture::new();
    let out = f.apply_all(vec![
        Request::LeaseGrant(LeaseGrantRequest { ttl: 10, id: 5 }),
        Request::Put(PutRequest {
            lease: 5,
            ..put_req("k", "1")
        }),
        Request::LeaseRevoke(LeaseRevokeRequest { id: 5 }),
        Request::Put(PutRequest {
            lease: 5,
            ..put_req("k2", "1")
        }),
        Request::LeaseGrant(LeaseGrantRequest { ttl: 20, id: 5 }),
        Request::Put(PutRequest {
            lease: 5,
            ..put_req("k3", "1")
        }),
    ]);
    assert!(matches!(
        out[3].outcome,
        Outcome::Error(StoreError::LeaseNotFound)
    ));
    assert!(matches!(out[5].outcome, Outcome::Put(_)));
    assert_eq!(f.get("k"), None);
    assert_eq!(f.get("k2"), None);
    assert_eq!(keys(&f, 5), ["k3"]);
    assert_eq!(f.sm.lease(5).unwrap().ttl, 20);
}
