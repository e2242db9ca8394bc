//! Five-field cron schedules (CronJob `spec.schedule`): parsing, and the next/previous/missed run times in UTC.
//!
//! Written here rather than taken from croner, cron or saffron: each of them fails part of
//! the table tests in `tests.rs`, which follow Kubernetes' schedule semantics
//! (ARCHITECTURE.md, "Cron schedules are parsed by our own code", lists the cases).

#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// How far `next_after` and `last_at_or_before` look before giving up (a schedule such as
/// `0 0 30 2 *` never fires). Every valid schedule fires at least once in any 5 years.
const SEARCH_YEARS: i32 = 5;

/// A parsed schedule. Each field is a bit set of the values it allows.
#[derive(Clone, PartialEq, Eq)]
pub struct Schedule {
    source: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Whether day-of-month / day-of-week were written as `*` or `?` (unrestricted); this decides
    /// between AND and the classic cron OR rule for the two day fields.
    dom_star: bool,
    dow_star: bool,
}

/// Times a CronJob should have started in a window, for the "too many missed start times" rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedRuns {
    /// The latest scheduled time in the window, if any.
    pub most_recent: Option<DateTime<Utc>>,
    /// How many scheduled times the window holds, counted up to the cap.
    pub count: usize,
    /// True when the window holds more times than the cap (so `count` is the cap).
    pub more_than_cap: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
/// Day-of-week accepts 7 as a second Sunday; it is folded onto 0 after parsing.
const DOW: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Field {
    fn value(&self, s: &str) -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            // Month names start at 1, weekday names at 0 (= min for both).
            return Ok(self.min + i as u32);
        }
        let n: u32 = match s.parse() {
            Ok(n) => n,
            Err(_) if !self.names.is_empty() => {
                return Err(format!(
                    "{}: invalid value {s:?} (expected a number {}-{} or a name such as {})",
                    self.name,
                    self.min,
                    self.max,
                    self.names[..3].join(", ").to_uppercase()
                ))
            }
            Err(_) => {
                return Err(format!(
                    "{}: invalid value {s:?} (expected a number {}-{})",
                    self.name, self.min, self.max
                ))
            }
        };
        if n < self.min || n > self.max {
            return Err(format!(
                "{}: {n} is out of range {}-{}",
                self.name, self.min, self.max
            ));
        }
        Ok(n)
    }

    /// One comma-separated entry: `*`, `?`, `N`, `N-M`, each optionally `/step`.
    /// Returns the bits and whether the entry leaves the field unrestricted.
    fn entry(&self, e: &str) -> Result<(u64, bool), String> {
        if e.is_empty() {
            return Err(format!("{}: empty entry in list", self.name));
        }
        let (range, step) = match e.split_once('/') {
            Some((r, st)) => {
                let step: u32 = st
                    .parse()
                    .map_err(|_| format!("{}: invalid step {st:?} in {e:?}", self.name))?;
                if step == 0 {
                    return Err(format!("{}: step must be at least 1 in {e:?}", self.name));
                }
                (r, Some(step))
            }
            None => (e, None),
        };
        let star = range == "*" || range == "?";
        if range == "?" && self.name != DOM.name && self.name != DOW.name {
            return Err(format!(
                "{}: '?' is only allowed in day-of-month and day-of-week",
                self.name
            ));
        }
        // A weekday range written with `*` or `N/step` ends on Saturday, so 7 never sneaks in a
        // second Sunday; only an explicit 7 means Sunday.
        let natural_max = if self.name == DOW.name { 6 } else { self.max };
        let (lo, hi) = if star {
            (self.min, natural_max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (lo, hi) = (self.value(a)?, self.value(b)?);
            if lo > hi {
                return Err(format!(
                    "{}: range {range} is backwards (start {lo} is after end {hi})",
                    self.name
                ));
            }
            (lo, hi)
        } else {
            let v = self.value(range)?;
            // `N/step` means "from N to the end, every step", as in Vixie cron.
            (
                v,
                if step.is_some() {
                    natural_max.max(v)
                } else {
                    v
                },
            )
        };
        let step = step.unwrap_or(1);
        let mut bits = 0u64;
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
        // `*/1` is still unrestricted; `*/2` restricts the field (as robfig/cron, used by Kubernetes).
        Ok((bits, star && step == 1))
    }

    fn parse(&self, s: &str) -> Result<(u64, bool), String> {
        let mut bits = 0;
        let mut star = false;
        for e in s.split(',') {
            let (b, st) = self.entry(e)?;
            bits |= b;
            star |= st;
        }
        Ok((bits, star))
    }
}

fn has(bits: u64, v: u32) -> bool {
    bits & (1 << v) != 0
}

/// Midnight on the first day of the month after `d`.
fn next_month_start(d: NaiveDate) -> Option<NaiveDateTime> {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)
}

impl Schedule {
    /// Parses `minute hour day-of-month month day-of-week`, or a macro such as `@hourly`.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let trimmed = s.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            m if m.starts_with('@') => {
                return Err(format!(
                    "unknown schedule macro {trimmed:?} (supported: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"
                ))
            }
            _ => trimmed,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            let hint = if fields.first().is_some_and(|f| f.contains('=')) {
                " (time zone prefixes such as TZ= are not supported; schedules are in UTC)"
            } else {
                " (minute hour day-of-month month day-of-week)"
            };
            return Err(format!(
                "expected exactly 5 fields, found {}{hint}",
                fields.len()
            ));
        }
        let (minutes, _) = MINUTE.parse(fields[0])?;
        let (hours, _) = HOUR.parse(fields[1])?;
        let (days_of_month, dom_star) = DOM.parse(fields[2])?;
        let (months, _) = MONTH.parse(fields[3])?;
        let (mut days_of_week, dow_star) = DOW.parse(fields[4])?;
        if has(days_of_week, 7) {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        Ok(Schedule {
            source: s.to_string(),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_star,
            dow_star,
        })
    }

    /// The schedule as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Day-of-month and day-of-week combine with AND when either is `*`, otherwise with OR.
    fn day_matches(&self, d: NaiveDate) -> bool {
        let dom = has(self.days_of_month, d.day());
        let dow = has(self.days_of_week, d.weekday().num_days_from_sunday());
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first scheduled minute strictly after `t`, or None if there is none within 5 years.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = t.naive_utc().with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let limit = start.year() + SEARCH_YEARS;
        let mut t = start;
        // Each step either returns or jumps to the start of the next month, day or hour that
        // could match, so the loop runs a few thousand times at most.
        while t.year() <= limit {
            if !has(self.months, t.month()) {
                t = next_month_start(t.date())?;
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().succ_opt()?.and_hms_opt(0, 0, 0)?;
                continue;
            }
            if !has(self.hours, t.hour()) {
                t = t.date().and_hms_opt(t.hour(), 0, 0)? + Duration::hours(1);
                continue;
            }
            match (t.minute()..60).find(|m| has(self.minutes, *m)) {
                Some(m) => return Some(Utc.from_utc_datetime(&t.with_minute(m)?)),
                None => t = t.date().and_hms_opt(t.hour(), 0, 0)? + Duration::hours(1),
            }
        }
        None
    }

    /// The latest scheduled minute at or before `t`, or None if there is none within 5 years.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = t.naive_utc().with_second(0)?.with_nanosecond(0)?;
        let limit = start.year() - SEARCH_YEARS;
        let mut t = start;
        // Mirror image of `next_after`: jump to the last minute of the previous month, day or hour.
        while t.year() >= limit {
            if !has(self.months, t.month()) {
                t = t.date().with_day(1)?.and_hms_opt(0, 0, 0)? - Duration::minutes(1);
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().and_hms_opt(0, 0, 0)? - Duration::minutes(1);
                continue;
            }
            if !has(self.hours, t.hour()) {
                t = t.date().and_hms_opt(t.hour(), 0, 0)? - Duration::minutes(1);
                continue;
            }
            match (0..=t.minute()).rev().find(|m| has(self.minutes, *m)) {
                Some(m) => return Some(Utc.from_utc_datetime(&t.with_minute(m)?)),
                None => t = t.date().and_hms_opt(t.hour(), 0, 0)? - Duration::minutes(1),
            }
        }
        None
    }

    /// Scheduled times in `(after, until]`, earliest first, at most `cap` of them.
    pub fn times_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = after;
        while out.len() < cap {
            match self.next_after(t) {
                Some(n) if n <= until => {
                    out.push(n);
                    t = n;
                }
                _ => break,
            }
        }
        out
    }

    /// The most recent scheduled time in `(after, until]` and how many there are, counting at
    /// most `cap` (Kubernetes warns when a CronJob has missed more than 100 start times).
    pub fn missed_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: usize,
    ) -> MissedRuns {
        let most_recent = self.last_at_or_before(until).filter(|t| *t > after);
        if most_recent.is_none() {
            return MissedRuns {
                most_recent,
                count: 0,
                more_than_cap: false,
            };
        }
        let times = self.times_between(after, until, cap.saturating_add(1));
        let more_than_cap = times.len() > cap;
        MissedRuns {
            most_recent,
            count: times.len().min(cap),
            more_than_cap,
        }
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.source)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Schedule, String> {
        Schedule::parse(s)
    }
}
