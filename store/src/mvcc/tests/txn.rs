//! Txn: the compare table, missing keys, range compares, nested txns and reads of
//! the txn's own writes.

use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::response_op::Response as OpResponse;
use skiff_proto::etcdserverpb::{Compare, PutRequest, TxnRequest};

use super::{cmp, kv_str, op_del, op_put, op_range, op_txn, put_req, Fixture};

use CompareResult::{Equal, Greater, Less, NotEqual};

/// "k": value "m", create 2, mod 3, version 2, lease 9.
fn sample() -> Fixture {
    let mut f = Fixture::new();
    f.grant(9, 60).unwrap();
    f.put("k", "a");
    f.put_with(PutRequest {
        lease: 9,
        ..put_req("k", "m")
    })
    .unwrap();
    f
}

fn holds(f: &mut Fixture, c: Compare) -> bool {
    let rev = f.sm.revision();
    let txn = TxnRequest {
        compare: vec![c],
        success: vec![],
        failure: vec![],
    };
    let resp = f.txn(txn).unwrap();
    // A txn without writes never bumps the revision.
    assert_eq!(resp.header.unwrap().revision, rev);
    resp.succeeded
}

#[test]
fn compare_table_on_an_existing_key() {
    let mut f = sample();
    type Make = fn(i64) -> TargetUnion;
    let ints: [(CompareTarget, Make, i64); 4] = [
        (CompareTarget::Version, TargetUnion::Version, 2),
        (CompareTarget::Create, TargetUnion::CreateRevision, 2),
        (CompareTarget::Mod, TargetUnion::ModRevision, 3),
        (CompareTarget::Lease, TargetUnion::Lease, 9),
    ];
    for (target, make, actual) in ints {
        for (given, eq, ne, gt, lt) in [
            (actual - 1, false, true, true, false),
            (actual, true, false, false, false),
            (actual + 1, false, true, false, true),
        ] {
            let case = format!("{target:?} actual {actual} vs {given}");
            assert_eq!(
                holds(&mut f, cmp("k", target, Equal, make(given))),
                eq,
                "{case} EQUAL"
            );
            assert_eq!(
                holds(&mut f, cmp("k", target, NotEqual, make(given))),
                ne,
                "{case} NOT_EQUAL"
            );
            assert_eq!(
                holds(&mut f, cmp("k", target, Greater, make(given))),
                gt,
                "{case} GREATER"
            );
            assert_eq!(
                holds(&mut f, cmp("k", target, Less, make(given))),
                lt,
                "{case} LESS"
            );
        }
    }
    for (given, eq, ne, gt, lt) in [
        ("a", false, true, true, false),
        ("m", true, false, false, false),
        ("z", false, true, false, true),
    ] {
        let v = || TargetUnion::Value(given.into());
        assert_eq!(
            holds(&mut f, cmp("k", CompareTarget::Value, Equal, v())),
            eq,
            "value {given} EQUAL"
        );
        assert_eq!(
            holds(&mut f, cmp("k", CompareTarget::Value, NotEqual, v())),
            ne,
            "value {given} NOT_EQUAL"
        );
        assert_eq!(
            holds(&mut f, cmp("k", CompareTarget::Value, Greater, v())),
            gt,
            "value {given} GREATER"
        );
        assert_eq!(
            holds(&mut f, cmp("k", CompareTarget::Value, Less, v())),
            lt,
            "value {given} LESS"
        );
    }
    // A target union of another kind compares against zero.
    assert!(holds(
        &mut f,
        cmp(
            "k",
            CompareTarget::Version,
            Greater,
            TargetUnion::Value(b"zzz".to_vec())
        )
    ));
}

#[test]
fn missing_keys_compare_as_zero_but_never_by_value() {
    let mut f = sample();
    for (target, make) in [
        (
            CompareTarget::Version,
            TargetUnion::Version as fn(i64) -> TargetUnion,
        ),
        (CompareTarget::Create, TargetUnion::CreateRevision),
        (CompareTarget::Mod, TargetUnion::ModRevision),
        (CompareTarget::Lease, TargetUnion::Lease),
    ] {
        assert!(
            holds(&mut f, cmp("nope", target, Equal, make(0))),
            "{target:?}"
        );
        assert!(
            !holds(&mut f, cmp("nope", target, NotEqual, make(0))),
            "{target:?}"
        );
        assert!(
            !holds(&mut f, cmp("nope", target, Greater, make(0))),
            "{target:?}"
        );
        assert!(
            holds(&mut f, cmp("nope", target, Less, make(1))),
            "{target:?}"
        );
    }
    for result in [Equal, NotEqual, Greater, Less] {
        assert!(
            !holds(
                &mut f,
                cmp(
                    "nope",
                    CompareTarget::Value,
                    result,
                    TargetUnion::Value(Vec::new())
                )
            ),
            "{result:?}"
        );
    }
    // A deleted key is missing too.
    f.delete("k", "");
    assert!(holds(
        &mut f,
        cmp("k", CompareTarget::Version, Equal, TargetUnion::Version(0))
    ));
}

#[test]
fn range_compares_need_every_key() {
    let mut f = Fixture::new();
    f.put("r/1", "x");
    f.put("r/2", "x");
    f.put("r/2", "y");
    let ranged = |target, result, value: TargetUnion, end: &str| Compare {
        range_end: end.into(),
        ..cmp("r/", target, result, value)
    };
    assert!(holds(
        &mut f,
        ranged(
            CompareTarget::Version,
            Greater,
            TargetUnion::Version(0),
            "r0"
        )
    ));
    assert!(!holds(
        &mut f,
        ranged(CompareTarget::Version, Equal, TargetUnion::Version(1), "r0")
    ));
    assert!(holds(
        &mut f,
        ranged(
            CompareTarget::Create,
            Less,
            TargetUnion::CreateRevision(4),
            "r0"
        )
    ));
    assert!(!holds(
        &mut f,
        ranged(
            CompareTarget::Value,
            Equal,
            TargetUnion::Value(b"x".to_vec()),
            "r0"
        )
    ));
    assert!(holds(
        &mut f,
        ranged(
            CompareTarget::Mod,
            Greater,
            TargetUnion::ModRevision(1),
            "\0"
        )
    ));
    // An empty range compares a zero KeyValue, except by value.
    assert!(holds(
        &mut f,
        Compare {
            range_end: b"t".to_vec(),
            ..cmp("s", CompareTarget::Version, Equal, TargetUnion::Version(0))
        }
    ));
    assert!(!holds(
        &mut f,
        Compare {
            range_end: b"t".to_vec(),
            ..cmp(
                "s",
                CompareTarget::Value,
                NotEqual,
                TargetUnion::Value(b"q".to_vec())
            )
        }
    ));
}

#[test]
fn branches_and_responses_in_order() {
    let mut f = sample();
    let txn = |ok: bool| TxnRequest {
        compare: vec![cmp(
            "k",
            CompareTarget::Value,
            Equal,
            TargetUnion::Value(if ok { b"m".to_vec() } else { b"no".to_vec() }),
        )],
        success: vec![op_put("s", "1"), op_range("s", ""), op_del("k", "")],
        failure: vec![op_range("k", ""), op_put("f", "1")],
    };
    let resp = f.txn(txn(false)).unwrap();
    assert!(!resp.succeeded);
    assert_eq!(resp.header.unwrap().revision, 4);
    assert!(
        matches!(&resp.responses[0].response, Some(OpResponse::ResponseRange(r)) if r.kvs[0].value == b"m")
    );
    assert!(
        matches!(&resp.responses[1].response, Some(OpResponse::ResponsePut(r)) if r.header.as_ref().unwrap().revision == 4)
    );

    let resp = f.txn(txn(true)).unwrap();
    assert!(resp.succeeded);
    assert_eq!(resp.header.unwrap().revision, 5);
    assert_eq!(resp.responses.len(), 3);
    match &resp.responses[1].response {
        // The range sees the put before it, at the txn's revision.
        Some(OpResponse::ResponseRange(r)) => {
            assert_eq!(
                r.kvs.iter().map(kv_str).collect::<Vec<_>>(),
                [("s".to_string(), "1".to_string())]
            );
            assert_eq!(
                (r.kvs[0].mod_revision, r.header.as_ref().unwrap().revision),
                (5, 5)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&resp.responses[2].response, Some(OpResponse::ResponseDeleteRange(r)) if r.deleted == 1)
    );
    assert_eq!(f.get("k"), None);
    assert_eq!(f.get("s").unwrap().mod_revision, 5);
    // One revision for the whole txn: both writes share it.
    assert_eq!(f.sm.revision(), 5);
}

#[test]
fn reads_inside_a_txn_see_its_earlier_writes() {
    let mut f = Fixture::new();
    f.put("x", "old");
    let resp = f
        .txn(TxnRequest {
            compare: vec![],
            success: vec![
                op_range("x", ""),
                op_del("x", ""),
                op_range("x", ""),
                op_put("y", "new"),
                op_range("\0", "\0"),
            ],
            failure: vec![],
        })
        .unwrap();
    let ranges: Vec<Vec<(String, String)>> = resp
        .responses
        .iter()
        .filter_map(|r| match &r.response {
            Some(OpResponse::ResponseRange(r)) => Some(r.kvs.iter().map(kv_str).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ranges,
        [
            vec![("x".into(), "old".into())],
            vec![],
            vec![("y".into(), "new".into())]
        ]
    );
}

#[test]
fn nested_txns_take_their_path_from_the_state_before_the_txn() {
    let mut f = Fixture::new();
    let nested = TxnRequest {
        // "a" does not exist before the txn, even though the outer txn puts it first.
        compare: vec![cmp(
            "a",
            CompareTarget::Version,
            Equal,
            TargetUnion::Version(0),
        )],
        success: vec![op_put("b", "1"), op_range("a", "")],
        failure: vec![op_put("c", "1")],
    };
    let resp = f
        .txn(TxnRequest {
            compare: vec![],
            success: vec![op_put("a", "1"), op_txn(nested)],
            failure: vec![],
        })
        .unwrap();
    match &resp.responses[1].response {
        Some(OpResponse::ResponseTxn(t)) => {
            assert!(t.succeeded);
            assert_eq!(t.header.as_ref().unwrap().revision, 0);
            assert!(
                matches!(&t.responses[1].response, Some(OpResponse::ResponseRange(r)) if r.kvs.len() == 1)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(f.get("b").is_some());
    assert!(f.get("c").is_none());
    assert_eq!(
        f.get("b").unwrap().mod_revision,
        f.get("a").unwrap().mod_revision
    );
}
