//! Read-modify-write histories with planted lost and doubled updates.

use super::*;

fn op(token: &str, outcome: EventType) -> RmwOp {
    RmwOp {
        process: 1,
        object: "cm-1".into(),
        token: token.into(),
        outcome,
        call: 0,
        ret: 1,
        note: None,
    }
}

fn run(ops: &[RmwOp], tokens: &[&str]) -> Vec<String> {
    let finals = [RmwFinal {
        object: "cm-1".into(),
        tokens: Some(tokens.iter().map(|t| t.to_string()).collect()),
    }];
    check(ops, &finals)
        .first
        .into_iter()
        .map(|a| a.what)
        .collect()
}

#[test]
fn every_acknowledged_update_present_once_passes() {
    let ops = [
        op("a", EventType::Ok),
        op("b", EventType::Ok),
        op("c", EventType::Info),
        op("d", EventType::Info),
        op("e", EventType::Fail),
    ];
    // An unknown outcome may or may not be there.
    assert!(run(&ops, &["a", "c", "b"]).is_empty());
}

#[test]
fn a_lost_update_is_caught() {
    let found = run(&[op("a", EventType::Ok), op("b", EventType::Ok)], &["b"]);
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("lost update"), "{found:?}");
}

#[test]
fn an_update_applied_twice_is_caught() {
    let found = run(&[op("a", EventType::Info)], &["a", "a"]);
    assert!(found[0].contains("applied 2 times"), "{found:?}");
}

#[test]
fn an_update_reported_failed_but_applied_is_caught() {
    let found = run(&[op("a", EventType::Fail)], &["a"]);
    assert!(found[0].contains("reported as failed"), "{found:?}");
}

#[test]
fn a_token_nobody_wrote_and_a_vanished_object_are_caught() {
    let found = run(&[op("a", EventType::Ok)], &["a", "zz"]);
    assert!(found[0].contains("never written"), "{found:?}");
    let gone = check(
        &[op("a", EventType::Ok)],
        &[RmwFinal {
            object: "cm-1".into(),
            tokens: None,
        }],
    );
    assert!(gone.first[0].what.contains("gone"), "{gone:?}");
}
