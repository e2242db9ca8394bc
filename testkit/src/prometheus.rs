//! A strict reader of Prometheus' text exposition format (version 0.0.4), so tests can prove
//! that a `/metrics` answer is something Prometheus accepts, not only that it contains a line.
//!
//! Checked: line syntax (names, label escapes, values), one HELP and one TYPE per family with
//! TYPE before the family's samples, every family in one group, no series twice, counters
//! not negative, and histograms whole: `le` buckets ascending with cumulative counts, a
//! `+Inf` bucket equal to `_count`, and a `_sum`.

use std::collections::{BTreeMap, HashMap, HashSet};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// What a valid exposition holds: samples in order, and each family's type.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    /// The value of the sample with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
            })
            .map(|s| s.value)
    }
}

/// Parses and checks `text`; the error names the line (1-based) and the rule broken.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let mut helps: HashSet<String> = HashSet::new();
    // Families whose group has ended: a later line of one of them splits it.
    let mut closed: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut series: HashSet<(String, Vec<(String, String)>)> = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let at = |why: String| format!("line {}: {why}: {line:?}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let family = if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
            match words.as_slice() {
                ["HELP", name, ..] => {
                    check_metric_name(name).map_err(at)?;
                    if !helps.insert(name.to_string()) {
                        return Err(at(format!("a second HELP for {name}")));
                    }
                    name.to_string()
                }
                ["TYPE", name, kind] => {
                    check_metric_name(name).map_err(at)?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(kind) {
                        return Err(at(format!("unknown type {kind:?}")));
                    }
                    if out.types.contains_key(*name) {
                        return Err(at(format!("a second TYPE for {name}")));
                    }
                    if out
                        .samples
                        .iter()
                        .any(|s| family_of(&s.name, &out.types) == *name)
                    {
                        return Err(at(format!("TYPE of {name} after its samples")));
                    }
                    out.types.insert(name.to_string(), kind.to_string());
                    name.to_string()
                }
                ["TYPE", ..] => return Err(at("a TYPE line needs a name and a type".into())),
                _ => continue,
            }
        } else {
            let sample = parse_sample(line).map_err(at)?;
            let family = family_of(&sample.name, &out.types);
            let key = (sample.name.clone(), sorted(&sample.labels));
            if !series.insert(key) {
                return Err(at("the same series twice".into()));
            }
            if out.types.get(&family).map(String::as_str) == Some("counter") && sample.value < 0.0 {
                return Err(at("a negative counter".into()));
            }
            out.samples.push(sample);
            family
        };
        if current.as_deref() != Some(family.as_str()) {
            if closed.contains(&family) {
                return Err(at(format!(
                    "the lines of {family} are split by another family's"
                )));
            }
            if let Some(previous) = current.replace(family) {
                closed.insert(previous);
            }
        }
    }
    check_histograms(&out)?;
    Ok(out)
}

/// The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` samples
/// belong to it.
fn family_of(name: &str, types: &BTreeMap<String, String>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if matches!(
                types.get(base).map(String::as_str),
                Some("histogram" | "summary")
            ) {
                return base.to_string();
            }
        }
    }
    name.to_string()
}

fn sorted(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut labels = labels.to_vec();
    labels.sort();
    labels
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("{name:?} is not a metric name"))
    }
}

fn check_label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(format!("{name:?} is not a label name"))
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("a sample needs a value")?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        rest = inside;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest.find('=').ok_or("a label needs =")?;
            let label = rest[..eq].trim();
            check_label_name(label)?;
            if labels.iter().any(|(l, _): &(String, String)| l == label) {
                return Err(format!("label {label} twice"));
            }
            rest = rest[eq + 1..]
                .trim_start()
                .strip_prefix('"')
                .ok_or("a label value must be quoted")?;
            let (value, after) = label_value(rest)?;
            labels.push((label.to_string(), value));
            rest = after.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
            } else if !rest.starts_with('}') {
                return Err("labels are separated by commas".into());
            }
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("a sample needs a value")?;
    let value = parse_value(value)?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("{timestamp:?} is not a timestamp"))?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// A label value up to its closing quote, with `\\`, `\"` and `\n` unescaped.
fn label_value(s: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                other => {
                    return Err(format!(
                        "bad escape \\{:?} in a label value",
                        other.map(|o| o.1)
                    ))
                }
            },
            '\n' => return Err("a raw newline in a label value".into()),
            c => value.push(c),
        }
    }
    Err("an unterminated label value".into())
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{text:?} is not a sample value")),
    }
}

/// A series' labels, sorted, `le` left out.
type Labels = Vec<(String, String)>;

/// Every histogram's series: buckets ascending and cumulative, `+Inf` equal to `_count`,
/// a `_sum`.
fn check_histograms(out: &Exposition) -> Result<(), String> {
    for (family, kind) in &out.types {
        if kind != "histogram" {
            continue;
        }
        // Labels without `le` -> [(le, count)]
        let mut buckets: HashMap<Labels, Vec<(f64, f64)>> = HashMap::new();
        let mut counts: HashMap<Labels, f64> = HashMap::new();
        let mut sums: HashSet<Labels> = HashSet::new();
        for s in &out.samples {
            let others: Vec<(String, String)> = sorted(&s.labels)
                .into_iter()
                .filter(|(k, _)| k != "le")
                .collect();
            if s.name == format!("{family}_bucket") {
                let le = s
                    .labels
                    .iter()
                    .find(|(k, _)| k == "le")
                    .ok_or_else(|| format!("{family}: a bucket without le"))?;
                let bound = parse_value(&le.1)?;
                buckets.entry(others).or_default().push((bound, s.value));
            } else if s.name == format!("{family}_count") {
                counts.insert(others, s.value);
            } else if s.name == format!("{family}_sum") {
                sums.insert(others);
            } else if s.name == *family {
                return Err(format!("{family}: a histogram has no plain samples"));
            }
        }
        for (labels, series) in &buckets {
            let ascending = series.windows(2).all(|w| w[0].0 < w[1].0);
            let cumulative = series.windows(2).all(|w| w[0].1 <= w[1].1);
            if !ascending || !cumulative {
                return Err(format!(
                    "{family}{labels:?}: buckets must ascend in le with cumulative counts: {series:?}"
                ));
            }
            let inf = series
                .last()
                .filter(|(le, _)| le.is_infinite())
                .ok_or_else(|| format!("{family}{labels:?}: no le=\"+Inf\" bucket"))?;
            if counts.get(labels) != Some(&inf.1) {
                return Err(format!(
                    "{family}{labels:?}: _count {:?} differs from the +Inf bucket {}",
                    counts.get(labels),
                    inf.1
                ));
            }
            if !sums.contains(labels) {
                return Err(format!("{family}{labels:?}: no _sum"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
# HELP up Whether it is up.
# TYPE up gauge
up 1
# HELP reqs_total Requests.
# TYPE reqs_total counter
reqs_total{verb=\"get\",path=\"a\\\"b\\\\c\\nd\"} 3
reqs_total{verb=\"put\"} 4 1700000000000
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{op=\"x\",le=\"0.1\"} 1
lat_seconds_bucket{op=\"x\",le=\"1\"} 2
lat_seconds_bucket{op=\"x\",le=\"+Inf\"} 3
lat_seconds_sum{op=\"x\"} 12.5
lat_seconds_count{op=\"x\"} 3
";

    #[test]
    fn a_valid_exposition_is_read() {
        let e = parse(GOOD).unwrap();
        assert_eq!(e.value("up", &[]), Some(1.0));
        assert_eq!(e.value("reqs_total", &[("verb", "put")]), Some(4.0));
        assert_eq!(
            e.value("reqs_total", &[("verb", "get"), ("path", "a\"b\\c\nd")]),
            Some(3.0)
        );
        assert_eq!(e.types["lat_seconds"], "histogram");
    }

    /// Each planted fault is caught, with the rule it breaks.
    #[test]
    fn planted_faults_are_caught() {
        let faults: &[(&str, &str, &str)] = &[
            ("split family", "up{x=\"1\"} 1\n", "split"),
            ("TYPE twice", "# TYPE up gauge\n", "a second TYPE"),
            ("HELP twice", "# HELP up again\n", "a second HELP"),
            ("bad name", "9lives 1\n", "not a metric name"),
            ("bad label name", "x{9a=\"b\"} 1\n", "not a label name"),
            ("bad escape", "x{a=\"\\t\"} 1\n", "bad escape"),
            ("unquoted label", "x{a=b} 1\n", "quoted"),
            ("no value", "x\n", "value"),
            ("bad value", "x one\n", "not a sample value"),
            ("same series twice", "y{a=\"1\"} 1\ny{a=\"1\"} 2\n", "twice"),
            (
                "negative counter",
                "# TYPE c_total counter\nc_total -1\n",
                "negative",
            ),
        ];
        for (what, extra, want) in faults {
            let text = format!("{GOOD}{extra}");
            let err = parse(&text).expect_err(what);
            assert!(err.contains(want), "{what}: {err}");
        }
        let late_type = "x 1\n# TYPE x gauge\n";
        assert!(parse(late_type).unwrap_err().contains("after its samples"));
    }

    #[test]
    fn broken_histograms_are_caught() {
        let hist = |buckets: &str, count: &str| {
            format!("# TYPE h histogram\n{buckets}h_sum 1\nh_count {count}\n")
        };
        parse(&hist(
            "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n",
            "2",
        ))
        .unwrap();
        for (what, text, want) in [
            (
                "not cumulative",
                hist("h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n", "2"),
                "cumulative",
            ),
            (
                "no +Inf",
                hist("h_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 2\n", "2"),
                "+Inf",
            ),
            (
                "count differs",
                hist("h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n", "3"),
                "differs",
            ),
            (
                "descending",
                hist(
                    "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n",
                    "1",
                ),
                "ascend",
            ),
            (
                "no sum",
                "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n".to_string(),
                "_sum",
            ),
        ] {
            let err = parse(&text).expect_err(what);
            assert!(err.contains(want), "{what}: {err}");
        }
    }
}
