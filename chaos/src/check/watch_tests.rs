//! Watches with planted gaps, repeats and reorderings.

use super::*;

fn put(revision: i64, name: &str) -> StoreEvent {
    StoreEvent {
        revision,
        kind: "pods".into(),
        namespace: "default".into(),
        name: name.into(),
        deleted: false,
    }
}

fn truth() -> Vec<StoreEvent> {
    let mut t = vec![put(5, "a"), put(6, "b"), put(8, "a"), put(9, "c")];
    t.push(StoreEvent {
        deleted: true,
        ..put(10, "b")
    });
    // Another kind in between: not this watch's business.
    t.push(StoreEvent {
        kind: "nodes".into(),
        ..put(7, "n1")
    });
    t
}

fn ev(kind: &str, name: &str, revision: i64) -> WatchMark {
    WatchMark::Event {
        kind: kind.into(),
        namespace: "default".into(),
        name: name.into(),
        revision,
    }
}

fn record(marks: Vec<WatchMark>) -> WatchRecord {
    WatchRecord {
        watcher: 1,
        kind: "pods".into(),
        namespace: None,
        marks,
    }
}

fn whats(marks: Vec<WatchMark>) -> Vec<String> {
    check(&truth(), &[record(marks)])
        .first
        .into_iter()
        .map(|a| a.what)
        .collect()
}

#[test]
fn a_complete_watch_passes_even_across_expiry_and_breaks() {
    let marks = vec![
        WatchMark::Start { revision: 4 },
        ev("ADDED", "a", 5),
        WatchMark::Broken {
            error: "connection reset".into(),
        },
        WatchMark::Start { revision: 5 },
        ev("ADDED", "b", 6),
        WatchMark::Expired,
        // Relisted at 8: the events up to 8 are in the list.
        WatchMark::Start { revision: 8 },
        WatchMark::Bookmark { revision: 8 },
        ev("ADDED", "c", 9),
        ev("DELETED", "b", 10),
        WatchMark::End { revision: 10 },
    ];
    assert_eq!(whats(marks), Vec::<String>::new());
}

#[test]
fn a_gap_is_caught() {
    let marks = vec![
        WatchMark::Start { revision: 4 },
        ev("ADDED", "a", 5),
        ev("MODIFIED", "a", 8),
    ];
    let found = whats(marks);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("gap"), "{found:?}");
}

#[test]
fn a_watch_that_stops_short_of_the_end_is_a_gap() {
    let marks = vec![
        WatchMark::Start { revision: 8 },
        ev("ADDED", "c", 9),
        WatchMark::End { revision: 10 },
    ];
    assert!(whats(marks)[0].contains("gap"));
}

#[test]
fn a_duplicate_event_is_caught() {
    let marks = vec![
        WatchMark::Start { revision: 4 },
        ev("ADDED", "a", 5),
        ev("ADDED", "a", 5),
        ev("ADDED", "b", 6),
    ];
    let found = whats(marks);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("duplicate"), "{found:?}");
    // Replaying the listed revision itself is a repeat too.
    let found = whats(vec![WatchMark::Start { revision: 5 }, ev("ADDED", "a", 5)]);
    assert!(found[0].contains("duplicate"), "{found:?}");
}

#[test]
fn events_out_of_order_are_caught() {
    let marks = vec![
        WatchMark::Start { revision: 4 },
        ev("ADDED", "a", 5),
        ev("MODIFIED", "a", 8),
        ev("ADDED", "b", 6),
    ];
    let found = whats(marks);
    assert!(
        found.iter().any(|w| w.contains("out of order")),
        "{found:?}"
    );
}

#[test]
fn events_the_store_never_had_or_of_the_wrong_type_are_caught() {
    let found = whats(vec![WatchMark::Start { revision: 4 }, ev("ADDED", "zz", 7)]);
    assert!(found[0].contains("never had"), "{found:?}");
    let found = whats(vec![
        WatchMark::Start { revision: 8 },
        ev("DELETED", "c", 9),
    ]);
    assert!(found[0].contains("wrong type"), "{found:?}");
    let found = whats(vec![WatchMark::Start { revision: 8 }, ev("ADDED", "x", 9)]);
    assert!(found[0].contains("wrong object"), "{found:?}");
}

#[test]
fn a_namespaced_watch_sees_only_its_namespace() {
    let mut t = truth();
    t.push(StoreEvent {
        namespace: "other".into(),
        ..put(11, "d")
    });
    let w = WatchRecord {
        namespace: Some("default".into()),
        ..record(vec![
            WatchMark::Start { revision: 8 },
            ev("ADDED", "c", 9),
            ev("DELETED", "b", 10),
            WatchMark::End { revision: 11 },
        ])
    };
    assert!(check(&t, &[w]).valid());
}
