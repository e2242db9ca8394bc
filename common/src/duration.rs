//! Durations on the command line, in Go's `time.ParseDuration` grammar (what every
//! Kubernetes component's flags take): a sequence of decimal numbers, each with an optional
//! fraction and a unit, such as `300ms`, `1.5s`, `2h45m`. Units: `ns`, `us` (or `µs`, `μs`),
//! `ms`, `s`, `m`, `h`. A bare `0` needs no unit; any other number does.
//!
//! Two differences from Go, both refusals: a negative duration (`-1s`) is refused, since no
//! flag means anything by it, and so is anything beyond Go's own limit (about 292 years,
//! `i64::MAX` nanoseconds), which Go reports as out of range too.

use std::time::Duration;

/// Go's largest duration, in nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses `10s`, `500ms`, `1h30m`, `1.5s`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let original = text;
    let invalid = |why: &str| {
        format!("invalid duration {original:?}: {why} (examples: 500ms, 10s, 1.5m, 1h30m)")
    };
    let mut rest = text.trim();
    if let Some(unsigned) = rest.strip_prefix('+') {
        rest = unsigned;
    } else if rest.starts_with('-') {
        return Err(invalid("must not be negative"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid("empty"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after_whole) = split_digits(rest);
        let (fraction, after_number) = match after_whole.strip_prefix('.') {
            Some(after_dot) => split_digits(after_dot),
            None => ("", after_whole),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid(&format!("expected a number at {rest:?}")));
        }
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let unit = &after_number[..unit_len];
        if unit.is_empty() {
            return Err(invalid("missing unit (ns, us, ms, s, m or h)"));
        }
        let scale = unit_nanos(unit).ok_or_else(|| {
            invalid(&format!(
                "unknown unit {unit:?} (use ns, us, ms, s, m or h)"
            ))
        })?;
        let part =
            component_nanos(whole, fraction, scale).ok_or_else(|| invalid("out of range"))?;
        total = total
            .checked_add(part)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(|| invalid("out of range"))?;
        rest = &after_number[unit_len..];
    }
    let nanos = u64::try_from(total).map_err(|_| invalid("out of range"))?;
    Ok(Duration::from_nanos(nanos))
}

/// The leading ASCII digits of `s`, and what follows them.
fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// `whole.fraction` units in nanoseconds (a fraction finer than a nanosecond is dropped, as
/// Go does); `None` beyond [`MAX_NANOS`].
fn component_nanos(whole: &str, fraction: &str, scale: u128) -> Option<u128> {
    let mut nanos: u128 = 0;
    for digit in whole.bytes() {
        nanos = nanos
            .checked_mul(10)?
            .checked_add(u128::from(digit - b'0'))?;
        if nanos > MAX_NANOS {
            return None;
        }
    }
    nanos = nanos.checked_mul(scale).filter(|n| *n <= MAX_NANOS)?;
    // Go's leadingFraction: digits are taken while they fit in 63 bits, and the fraction is
    // scaled in floating point, so results match Go's to the nanosecond.
    let mut numerator: u64 = 0;
    let mut denominator: f64 = 1.0;
    for digit in fraction.bytes() {
        match numerator
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(digit - b'0')))
            .filter(|n| *n <= 1 << 63)
        {
            Some(n) => {
                numerator = n;
                denominator *= 10.0;
            }
            None => break,
        }
    }
    let fraction_nanos = (numerator as f64 * (scale as f64 / denominator)) as u128;
    nanos
        .checked_add(fraction_nanos)
        .filter(|n| *n <= MAX_NANOS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: u64 = 1;
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;

    /// Go's own table (time/time_test.go, parseDurationTests), less the negative entries.
    #[test]
    fn go_grammar() {
        for (text, nanos) in [
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("+5s", 5 * S),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600 * MS),
            ("5.s", 5 * S),
            (".5s", 500 * MS),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4 * MS),
            ("1.0040s", S + 4 * MS),
            ("100.00100s", 100 * S + MS),
            ("10ns", 10 * NS),
            ("11us", 11 * US),
            ("12µs", 12 * US),
            ("12μs", 12 * US),
            ("13ms", 13 * MS),
            ("14s", 14 * S),
            ("15m", 15 * M),
            ("16h", 16 * H),
            ("3h30m", 3 * H + 30 * M),
            ("10.5s4m", 4 * M + 10 * S + 500 * MS),
            (
                "1h2m3s4ms5us6ns",
                H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS,
            ),
            ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
            ("52763797000ns", 52763797000 * NS),
            ("0.3333333333333333333h", 20 * M),
            ("9007199254740993ns", 9007199254740993),
            ("9223372036854775807ns", i64::MAX as u64),
            ("9223372036854775.807us", i64::MAX as u64),
            ("9223372036s854ms775us807ns", i64::MAX as u64),
            ("0.100000000000000000000h", 6 * M),
            ("0.830103483285477580700h", 49 * M + 48 * S + 372539827 * NS),
            // Ours, from the old parsers' tables.
            ("1m30s", 90 * S),
            ("1.5m", 90 * S),
            (" 10s ", 10 * S),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_nanos(nanos)),
                "{text}"
            );
        }
    }

    #[test]
    fn refusals_say_why() {
        for (text, why) in [
            ("", "empty"),
            ("3", "missing unit"),
            ("45", "missing unit"),
            ("-1s", "must not be negative"),
            ("-0", "must not be negative"),
            ("s", "expected a number"),
            (".s", "expected a number"),
            ("+.s", "expected a number"),
            ("1d", "unknown unit \"d\""),
            ("10x", "unknown unit \"x\""),
            ("1.2.3s", "missing unit"),
            ("1h2", "missing unit"),
            ("ten", "expected a number"),
            ("1s ms", "unknown unit \"s ms\""),
            ("9223372036854775808ns", "out of range"),
            ("9223372036854775.808us", "out of range"),
            ("9223372036854ms775us808ns", "out of range"),
            ("3000000h", "out of range"),
            ("99999999999999999999999999999999h", "out of range"),
            ("2562047h47m16.854775808s", "out of range"),
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(err.contains(&format!("{text:?}")), "names the input: {err}");
        }
    }

    #[test]
    fn the_largest_duration_is_gos() {
        assert_eq!(
            parse_duration("2562047h47m16.854775807s"),
            Ok(Duration::from_nanos(i64::MAX as u64))
        );
    }
}
