//! Txn checks: duplicate keys, request validation, and failures on the chosen path.

use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::request_op::Request as Op;
use skiff_proto::etcdserverpb::{PutRequest, RangeRequest, RequestOp, TxnRequest};

use super::{cmp, op_del, op_put, op_txn, put_req, Fixture};
use crate::error::StoreError;
use crate::mvcc::check_txn;

use CompareResult::Equal;

#[test]
fn duplicate_keys_are_refused_before_anything_is_written() {
    let dup = |success: Vec<RequestOp>| TxnRequest {
        compare: vec![],
        success,
        failure: vec![],
    };
    let nested = |success: Vec<RequestOp>, failure: Vec<RequestOp>| {
        op_txn(TxnRequest {
            compare: vec![],
            success,
            failure,
        })
    };
    let refused = [
        dup(vec![op_put("a", "1"), op_put("a", "2")]),
        dup(vec![op_del("a", "c"), op_put("b", "1")]),
        dup(vec![op_put("b", "1"), op_del("b", "")]),
        dup(vec![
            op_put("a", "1"),
            nested(vec![op_put("a", "2")], vec![]),
        ]),
        dup(vec![
            op_del("a", "z"),
            nested(vec![op_put("q", "2")], vec![]),
        ]),
        dup(vec![
            nested(vec![op_put("a", "1")], vec![]),
            nested(vec![], vec![op_put("a", "1")]),
        ]),
    ];
    for (i, txn) in refused.into_iter().enumerate() {
        assert!(
            matches!(check_txn(&txn), Err(StoreError::DuplicateKey)),
            "case {i}"
        );
        let mut f = Fixture::new();
        assert!(
            matches!(f.txn(txn), Err(StoreError::DuplicateKey)),
            "case {i} in apply"
        );
        assert_eq!(f.sm.revision(), 1);
    }
    let allowed = [
        dup(vec![op_del("a", "c"), op_del("b", "")]),
        dup(vec![nested(vec![op_put("a", "1")], vec![op_put("a", "2")])]),
        dup(vec![op_put("a", "1"), op_put("b", "1")]),
        // etcd compares interval bounds as plain bytes: a "\0" end covers nothing here.
        dup(vec![op_del("a", "\0"), op_put("a", "1")]),
    ];
    for (i, txn) in allowed.into_iter().enumerate() {
        assert!(check_txn(&txn).is_ok(), "allowed case {i}");
        let mut f = Fixture::new();
        f.txn(txn).unwrap();
    }
}

#[test]
fn delete_then_put_of_one_key_in_one_txn_starts_a_new_generation() {
    let mut f = Fixture::new();
    f.put("a", "old");
    f.put("a", "old2");
    f.txn(TxnRequest {
        compare: vec![],
        success: vec![op_del("a", "\0"), op_put("a", "new")],
        failure: vec![],
    })
    .unwrap();
    let a = f.get("a").unwrap();
    assert_eq!(
        (
            a.create_revision,
            a.mod_revision,
            a.version,
            a.value.as_slice()
        ),
        (4, 4, 1, &b"new"[..])
    );
    assert_eq!(f.get_at("a", 3).unwrap().unwrap().value, b"old2");
}

#[test]
fn request_checks() {
    let many = TxnRequest {
        compare: vec![],
        success: (0..129).map(|i| op_put(&format!("k{i}"), "v")).collect(),
        failure: vec![],
    };
    assert!(matches!(check_txn(&many), Err(StoreError::TooManyOps)));
    let empty_cmp = TxnRequest {
        compare: vec![cmp(
            "",
            CompareTarget::Version,
            Equal,
            TargetUnion::Version(0),
        )],
        ..Default::default()
    };
    assert!(matches!(check_txn(&empty_cmp), Err(StoreError::EmptyKey)));
    let empty_op = TxnRequest {
        success: vec![RequestOp { request: None }],
        ..Default::default()
    };
    assert!(matches!(check_txn(&empty_op), Err(StoreError::KeyNotFound)));
    let empty_range = TxnRequest {
        failure: vec![RequestOp {
            request: Some(Op::RequestRange(RangeRequest::default())),
        }],
        ..Default::default()
    };
    assert!(matches!(check_txn(&empty_range), Err(StoreError::EmptyKey)));
    let mut f = Fixture::new();
    assert!(matches!(f.txn(empty_op), Err(StoreError::KeyNotFound)));
}

#[test]
fn failing_checks_on_the_chosen_path_write_nothing() {
    let mut f = Fixture::new();
    f.put("a", "1");
    let with = |op: RequestOp| TxnRequest {
        compare: vec![],
        success: vec![op_put("b", "1"), op],
        failure: vec![],
    };
    let lease_put = RequestOp {
        request: Some(Op::RequestPut(PutRequest {
            lease: 42,
            ..put_req("c", "1")
        })),
    };
    assert!(matches!(
        f.txn(with(lease_put)),
        Err(StoreError::LeaseNotFound)
    ));
    let ignore = RequestOp {
        request: Some(Op::RequestPut(PutRequest {
            key: b"zz".to_vec(),
            ignore_value: true,
            ..Default::default()
        })),
    };
    assert!(matches!(f.txn(with(ignore)), Err(StoreError::KeyNotFound)));
    let future = RequestOp {
        request: Some(Op::RequestRange(RangeRequest {
            revision: 3,
            ..super::range_req("a", "")
        })),
    };
    assert!(matches!(
        f.txn(with(future)),
        Err(StoreError::FutureRevision)
    ));
    assert_eq!(f.get("b"), None);
    assert_eq!(f.sm.revision(), 2);
    // The same ops on the branch not taken do not matter.
    let lease_put = RequestOp {
        request: Some(Op::RequestPut(PutRequest {
            lease: 42,
            ..put_req("c", "1")
        })),
    };
    f.txn(TxnRequest {
        compare: vec![],
        success: vec![op_put("b", "1")],
        failure: vec![lease_put],
    })
    .unwrap();
    assert!(f.get("b").is_some());
}
