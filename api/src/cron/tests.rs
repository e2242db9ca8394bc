//! Table tests for cron parsing and next/previous run computation.

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn next(schedule: &str, after: &str) -> Option<String> {
    let s = Schedule::parse(schedule).unwrap_or_else(|e| panic!("{schedule:?}: {e}"));
    s.next_after(t(after)).map(|d| d.to_rfc3339())
}

#[test]
fn next_after_table() {
    let table: &[(&str, &str, &str)] = &[
        // The spec's example: every quarter hour, strictly after t.
        (
            "0,15,30,45 * * * *",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:15:00+00:00",
        ),
        (
            "0,15,30,45 * * * *",
            "2024-05-01T10:14:59Z",
            "2024-05-01T10:15:00+00:00",
        ),
        (
            "0,15,30,45 * * * *",
            "2024-05-01T23:50:00Z",
            "2024-05-02T00:00:00+00:00",
        ),
        (
            "* * * * *",
            "2024-05-01T10:00:30Z",
            "2024-05-01T10:01:00+00:00",
        ),
        (
            "*/15 * * * *",
            "2024-05-01T10:46:00Z",
            "2024-05-01T11:00:00+00:00",
        ),
        (
            "1-30/5 * * * *",
            "2024-05-01T10:26:00Z",
            "2024-05-01T11:01:00+00:00",
        ),
        (
            "1-30/5 * * * *",
            "2024-05-01T10:12:00Z",
            "2024-05-01T10:16:00+00:00",
        ),
        (
            "5/20 * * * *",
            "2024-05-01T10:46:00Z",
            "2024-05-01T11:05:00+00:00",
        ),
        (
            "0 9-17 * * MON-FRI",
            "2024-05-03T17:00:00Z",
            "2024-05-06T09:00:00+00:00",
        ),
        (
            "30 2 * * *",
            "2024-05-01T02:30:00Z",
            "2024-05-02T02:30:00+00:00",
        ),
        // Month boundaries and month lengths.
        (
            "0 0 31 * *",
            "2024-04-01T00:00:00Z",
            "2024-05-31T00:00:00+00:00",
        ),
        (
            "0 0 1 * *",
            "2024-12-15T00:00:00Z",
            "2025-01-01T00:00:00+00:00",
        ),
        (
            "59 23 30 * *",
            "2024-01-31T00:00:00Z",
            "2024-03-30T23:59:00+00:00",
        ),
        (
            "0 12 * JUN *",
            "2024-07-01T00:00:00Z",
            "2025-06-01T12:00:00+00:00",
        ),
        (
            "0 0 1 jan,jul *",
            "2024-02-01T00:00:00Z",
            "2024-07-01T00:00:00+00:00",
        ),
        // Leap years.
        (
            "0 0 29 2 *",
            "2024-03-01T00:00:00Z",
            "2028-02-29T00:00:00+00:00",
        ),
        (
            "0 0 29 2 *",
            "2023-01-01T00:00:00Z",
            "2024-02-29T00:00:00+00:00",
        ),
        (
            "0 0 29 FEB *",
            "2100-01-01T00:00:00Z",
            "2104-02-29T00:00:00+00:00",
        ),
        // Day-of-month OR day-of-week when both are restricted (Vixie cron).
        (
            "0 0 13 * FRI",
            "2024-09-01T00:00:00Z",
            "2024-09-06T00:00:00+00:00",
        ),
        (
            "0 0 13 * FRI",
            "2024-09-06T00:00:00Z",
            "2024-09-13T00:00:00+00:00",
        ),
        (
            "0 0 13 * 5",
            "2024-09-13T00:00:00Z",
            "2024-09-20T00:00:00+00:00",
        ),
        (
            "0 0 1 * 1",
            "2024-09-29T00:00:00Z",
            "2024-09-30T00:00:00+00:00",
        ),
        // ... but AND when either is `*` or `?`.
        (
            "0 0 * * FRI",
            "2024-09-06T00:00:00Z",
            "2024-09-13T00:00:00+00:00",
        ),
        (
            "0 0 13 * ?",
            "2024-09-06T00:00:00Z",
            "2024-09-13T00:00:00+00:00",
        ),
        (
            "0 0 ? * 5",
            "2024-09-06T00:00:00Z",
            "2024-09-13T00:00:00+00:00",
        ),
        // A stepped star restricts the field, so the OR rule applies (as robfig/cron).
        (
            "0 0 */10 * MON",
            "2024-09-02T00:00:00Z",
            "2024-09-09T00:00:00+00:00",
        ),
        // Sunday is 0 and 7.
        (
            "0 0 * * 0",
            "2024-09-01T00:00:00Z",
            "2024-09-08T00:00:00+00:00",
        ),
        (
            "0 0 * * 7",
            "2024-09-01T00:00:00Z",
            "2024-09-08T00:00:00+00:00",
        ),
        (
            "0 0 * * SUN",
            "2024-09-01T00:00:00Z",
            "2024-09-08T00:00:00+00:00",
        ),
        (
            "0 0 * * 5-7",
            "2024-09-01T00:00:00Z",
            "2024-09-06T00:00:00+00:00",
        ),
        (
            "0 0 * * sat,sun",
            "2024-09-02T00:00:00Z",
            "2024-09-07T00:00:00+00:00",
        ),
        // Macros.
        (
            "@hourly",
            "2024-05-01T10:00:00Z",
            "2024-05-01T11:00:00+00:00",
        ),
        (
            "@daily",
            "2024-05-01T10:00:00Z",
            "2024-05-02T00:00:00+00:00",
        ),
        (
            "@midnight",
            "2024-05-01T00:00:00Z",
            "2024-05-02T00:00:00+00:00",
        ),
        (
            "@weekly",
            "2024-09-04T00:00:00Z",
            "2024-09-08T00:00:00+00:00",
        ),
        (
            "@monthly",
            "2024-09-04T00:00:00Z",
            "2024-10-01T00:00:00+00:00",
        ),
        (
            "@yearly",
            "2024-09-04T00:00:00Z",
            "2025-01-01T00:00:00+00:00",
        ),
        (
            "@annually",
            "2024-09-04T00:00:00Z",
            "2025-01-01T00:00:00+00:00",
        ),
    ];
    for (schedule, after, want) in table {
        assert_eq!(
            next(schedule, after).as_deref(),
            Some(*want),
            "{schedule:?} after {after}"
        );
    }
}

#[test]
fn impossible_schedules_return_none_quickly() {
    for s in ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 apr,jun,sep,nov *"] {
        let started = std::time::Instant::now();
        assert_eq!(next(s, "2024-01-01T00:00:00Z"), None, "{s}");
        assert_eq!(
            Schedule::parse(s)
                .unwrap()
                .last_at_or_before(t("2024-01-01T00:00:00Z")),
            None,
            "{s}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "{s} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn last_at_or_before_table() {
    let table: &[(&str, &str, &str)] = &[
        (
            "0,15,30,45 * * * *",
            "2024-05-01T10:15:00Z",
            "2024-05-01T10:15:00+00:00",
        ),
        (
            "0,15,30,45 * * * *",
            "2024-05-01T10:14:59Z",
            "2024-05-01T10:00:00+00:00",
        ),
        (
            "0,15,30,45 * * * *",
            "2024-05-01T00:10:00Z",
            "2024-05-01T00:00:00+00:00",
        ),
        (
            "50 * * * *",
            "2024-05-01T00:10:00Z",
            "2024-04-30T23:50:00+00:00",
        ),
        (
            "0 0 31 * *",
            "2024-05-30T00:00:00Z",
            "2024-03-31T00:00:00+00:00",
        ),
        (
            "0 0 29 2 *",
            "2028-02-28T00:00:00Z",
            "2024-02-29T00:00:00+00:00",
        ),
        (
            "0 0 13 * FRI",
            "2024-09-12T00:00:00Z",
            "2024-09-06T00:00:00+00:00",
        ),
        (
            "@yearly",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00+00:00",
        ),
    ];
    for (schedule, at, want) in table {
        let s = Schedule::parse(schedule).unwrap();
        assert_eq!(
            s.last_at_or_before(t(at))
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some(*want),
            "{schedule} at {at}"
        );
    }
}

#[test]
fn times_between_and_missed_runs() {
    let s = Schedule::parse("0,15,30,45 * * * *").unwrap();
    let got = s.times_between(t("2024-05-01T10:00:00Z"), t("2024-05-01T11:00:00Z"), 10);
    let want: Vec<_> = ["10:15", "10:30", "10:45", "11:00"]
        .iter()
        .map(|hm| t(&format!("2024-05-01T{hm}:00Z")))
        .collect();
    assert_eq!(got, want, "window is (after, until]");
    assert_eq!(
        s.times_between(t("2024-05-01T10:00:00Z"), t("2024-05-01T11:00:00Z"), 2)
            .len(),
        2
    );
    assert!(s
        .times_between(t("2024-05-01T10:00:00Z"), t("2024-05-01T10:14:00Z"), 10)
        .is_empty());

    let every_minute = Schedule::parse("* * * * *").unwrap();
    let m = every_minute.missed_between(t("2024-05-01T10:00:00Z"), t("2024-05-01T12:00:30Z"), 100);
    assert_eq!(
        m,
        MissedRuns {
            most_recent: Some(t("2024-05-01T12:00:00Z")),
            count: 100,
            more_than_cap: true
        }
    );
    let m = every_minute.missed_between(t("2024-05-01T10:00:00Z"), t("2024-05-01T10:03:00Z"), 100);
    assert_eq!(
        m,
        MissedRuns {
            most_recent: Some(t("2024-05-01T10:03:00Z")),
            count: 3,
            more_than_cap: false
        }
    );
    let m = s.missed_between(t("2024-05-01T10:00:00Z"), t("2024-05-01T10:10:00Z"), 100);
    assert_eq!(
        m,
        MissedRuns {
            most_recent: None,
            count: 0,
            more_than_cap: false
        }
    );
}

#[test]
fn parse_errors_name_the_field_and_problem() {
    let table: &[(&str, &str)] = &[
        ("61 * * * *", "minute: 61 is out of range 0-59"),
        ("* 24 * * *", "hour: 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month: 0 is out of range 1-31"),
        ("* * 32 * *", "day-of-month: 32 is out of range 1-31"),
        ("* * * 13 *", "month: 13 is out of range 1-12"),
        ("* * * * 8", "day-of-week: 8 is out of range 0-7"),
        ("* * * *", "expected exactly 5 fields, found 4"),
        ("* * * * * *", "expected exactly 5 fields, found 6"),
        ("", "expected exactly 5 fields, found 0"),
        (
            "TZ=UTC * * * * *",
            "expected exactly 5 fields, found 6 (time zone prefixes",
        ),
        ("x * * * *", "minute: invalid value \"x\""),
        (
            "* * * FOO *",
            "month: invalid value \"FOO\" (expected a number 1-12 or a name such as JAN, FEB, MAR)",
        ),
        ("* * * * MONDAY", "day-of-week: invalid value \"MONDAY\""),
        ("30-10 * * * *", "minute: range 30-10 is backwards"),
        ("*/0 * * * *", "minute: step must be at least 1"),
        ("*/x * * * *", "minute: invalid step \"x\""),
        ("1,,2 * * * *", "minute: empty entry in list"),
        (
            "? * * * *",
            "minute: '?' is only allowed in day-of-month and day-of-week",
        ),
        ("@reboot", "unknown schedule macro \"@reboot\""),
        ("@every 5m", "unknown schedule macro"),
    ];
    for (input, want) in table {
        let e = Schedule::parse(input).unwrap_err();
        assert!(
            e.starts_with(want),
            "{input:?}: got {e:?}, want prefix {want:?}"
        );
    }
}

#[test]
fn steps_and_lists_expand_exactly() {
    let s = Schedule::parse("1-30/5,45 */6 1,15 */3 *").unwrap();
    let minutes: Vec<u32> = (0..60).filter(|m| has(s.minutes, *m)).collect();
    assert_eq!(minutes, [1, 6, 11, 16, 21, 26, 45]);
    let hours: Vec<u32> = (0..24).filter(|h| has(s.hours, *h)).collect();
    assert_eq!(hours, [0, 6, 12, 18]);
    let months: Vec<u32> = (1..13).filter(|m| has(s.months, *m)).collect();
    assert_eq!(months, [1, 4, 7, 10]);
    let weekdays = Schedule::parse("0 0 * * 1/2").unwrap();
    let dows: Vec<u32> = (0..8).filter(|d| has(weekdays.days_of_week, *d)).collect();
    assert_eq!(dows, [1, 3, 5], "N/step on weekdays stops at Saturday");
    assert_eq!(
        Schedule::parse(" */5 * * * * ").unwrap().to_string(),
        " */5 * * * * "
    );
}

/// Minute-by-minute reference implementation used to check the skipping search.
fn naive_matches(s: &Schedule, d: NaiveDateTime) -> bool {
    has(s.months, d.month())
        && s.day_matches(d.date())
        && has(s.hours, d.hour())
        && has(s.minutes, d.minute())
}

#[test]
fn skipping_search_agrees_with_minute_by_minute_search() {
    let minutes = ["*", "0", "*/7", "5-10", "59", "0,30", "13/20"];
    let hours = ["*", "0", "23", "*/5", "9-17", "3,4"];
    let doms = ["*", "1", "31", "15-20", "*/9", "?", "29"];
    let months = ["*", "2", "jan,dec", "*/4", "6-8"];
    let dows = ["*", "0", "7", "MON-FRI", "sat", "?", "2/3"];
    let starts = [
        "2023-12-31T23:59:00Z",
        "2024-02-28T12:34:56Z",
        "2024-06-30T23:00:00Z",
    ];
    // A fixed linear congruential generator keeps the test deterministic.
    let mut seed: u64 = 0x5eed;
    let mut pick = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n
    };
    let window = 60 * 24 * 70; // minutes searched by the reference
    for _ in 0..60 {
        let expr = format!(
            "{} {} {} {} {}",
            minutes[pick(minutes.len())],
            hours[pick(hours.len())],
            doms[pick(doms.len())],
            months[pick(months.len())],
            dows[pick(dows.len())]
        );
        let s = Schedule::parse(&expr).unwrap();
        let start = t(starts[pick(starts.len())]);
        let base = start
            .naive_utc()
            .with_second(0)
            .unwrap()
            .with_nanosecond(0)
            .unwrap();
        let want = (1..=window)
            .map(|i| base + Duration::minutes(i))
            .find(|d| naive_matches(&s, *d));
        let got = s.next_after(start).map(|d| d.naive_utc());
        match want {
            Some(w) => assert_eq!(got, Some(w), "{expr:?} after {start}"),
            None => assert!(
                got.is_none_or(|g| g > base + Duration::minutes(window)),
                "{expr:?} after {start}: {got:?}"
            ),
        }
        let want_prev = (0..window)
            .map(|i| base - Duration::minutes(i))
            .find(|d| naive_matches(&s, *d));
        let got_prev = s.last_at_or_before(start).map(|d| d.naive_utc());
        match want_prev {
            Some(w) => assert_eq!(got_prev, Some(w), "{expr:?} at or before {start}"),
            None => assert!(
                got_prev.is_none_or(|g| g < base - Duration::minutes(window)),
                "{expr:?} before {start}: {got_prev:?}"
            ),
        }
    }
}
