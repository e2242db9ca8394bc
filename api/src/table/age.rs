//! Times as kubectl shows them: humanized ages (`45s`, `3m2s`, `5h`, `2d3h`) and RFC 1123 timestamps.

use chrono::{DateTime, Local, TimeZone, Utc};

use crate::meta::Time;

/// The clock every table and description is computed against. Pure formatting code takes it as
/// a value so tests can fix "now" and the time zone.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub now: DateTime<Utc>,
    /// Print timestamps in the machine's local time zone (as kubectl does) instead of UTC.
    pub local: bool,
}

impl Clock {
    /// The real clock, local time zone.
    pub fn system() -> Clock {
        Clock {
            now: Utc::now(),
            local: true,
        }
    }

    /// A fixed clock printing UTC, for tests.
    pub fn fixed(now: DateTime<Utc>) -> Clock {
        Clock { now, local: false }
    }

    /// kubectl's `translateTimestampSince`: the age of `t`, `<unknown>` when unset.
    pub fn since(&self, t: Option<&Time>) -> String {
        match t {
            Some(t) => human_duration(self.now.signed_duration_since(t.0)),
            None => "<unknown>".to_string(),
        }
    }

    /// Go's `time.RFC1123Z` (`Mon, 02 Jan 2006 15:04:05 -0700`), the format of every timestamp
    /// in `describe`.
    pub fn rfc1123z(&self, t: &DateTime<Utc>) -> String {
        const FORMAT: &str = "%a, %d %b %Y %H:%M:%S %z";
        if self.local {
            Local
                .from_utc_datetime(&t.naive_utc())
                .format(FORMAT)
                .to_string()
        } else {
            t.format(FORMAT).to_string()
        }
    }

    /// Like [`Clock::rfc1123z`] for an optional time; Go prints the zero time when unset.
    pub fn rfc1123z_opt(&self, t: Option<&Time>) -> String {
        match t {
            Some(t) => self.rfc1123z(&t.0),
            None => "Mon, 01 Jan 0001 00:00:00 +0000".to_string(),
        }
    }
}

/// kubectl's `duration.HumanDuration`: two significant units at most, coarser as time passes.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn ages_read_like_kubectl() {
        let table = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (5 * 3600 + 30 * 60, "5h30m"),
            (8 * 3600 + 59, "8h"),
            (47 * 3600, "47h"),
            (2 * 86400 + 3 * 3600, "2d3h"),
            (3 * 86400, "3d"),
            (30 * 86400, "30d"),
            (2 * 365 * 86400 + 5 * 86400, "2y5d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (secs, want) in table {
            assert_eq!(human_duration(TimeDelta::seconds(secs)), want, "{secs}s");
        }
    }

    #[test]
    fn timestamps_use_rfc1123z() {
        let now = Utc.with_ymd_and_hms(2024, 5, 5, 10, 0, 0).unwrap();
        let clock = Clock::fixed(now);
        assert_eq!(clock.rfc1123z(&now), "Sun, 05 May 2024 10:00:00 +0000");
        let t = Time(now - TimeDelta::seconds(25));
        assert_eq!(clock.since(Some(&t)), "25s");
        assert_eq!(clock.since(None), "<unknown>");
    }
}
