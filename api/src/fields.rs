//! Field selectors for list and watch (`spec.nodeName=node-1,status.phase!=Succeeded`).

use std::fmt;

use crate::selector::SelectorError;

/// Fields every kind supports in a field selector.
pub const COMMON_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// Extra fields pods support (the ones the scheduler, nodelets and the CLI filter on).
pub const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "status.phase",
    "spec.restartPolicy",
    "spec.schedulerName",
];

/// One `field=value` or `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    /// True for `!=`.
    pub negated: bool,
    pub value: String,
}

/// A parsed field selector: terms ANDed. No terms matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    /// Parses `a=b`, `a==b`, `a!=b`, comma-separated. As in Kubernetes, `\,`, `\=`, `\!` and
    /// `\\` escape those characters inside a value, and terms are kept sorted.
    pub fn parse(s: &str) -> Result<FieldSelector, SelectorError> {
        let mut requirements = Vec::new();
        for (pos, term) in split_terms(s) {
            if term.trim().is_empty() {
                continue;
            }
            let err = |message: String| SelectorError {
                message,
                position: pos,
                input: s.to_string(),
            };
            let Some((field, negated, raw_value)) = split_term(&term) else {
                return Err(err(format!(
                    "invalid selector: '{s}'; can't understand '{}' (expected field=value, field==value or field!=value)",
                    term.trim()
                )));
            };
            let field = field.trim();
            if field.is_empty() {
                return Err(err(format!(
                    "invalid selector: '{s}'; missing field name in '{}'",
                    term.trim()
                )));
            }
            let value = unescape(raw_value.trim())
                .map_err(|e| err(format!("invalid selector: '{s}'; {e}")))?;
            requirements.push(FieldRequirement {
                field: field.to_string(),
                negated,
                value,
            });
        }
        requirements.sort_by(|a, b| (&a.field, &a.value).cmp(&(&b.field, &b.value)));
        Ok(FieldSelector { requirements })
    }

    /// True when every term holds; `get` returns a field's value, and a missing field counts as
    /// the empty string (so `spec.nodeName=` selects unscheduled pods, as in Kubernetes).
    pub fn matches<'v>(&self, get: impl Fn(&str) -> Option<&'v str>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = get(&r.field).unwrap_or_default();
            (actual == r.value) != r.negated
        })
    }

    /// The field names used, so a server can reject the ones it does not index.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.field.as_str())
    }

    /// The first field not in `supported`, with Kubernetes' wording, e.g.
    /// `field label not supported: spec.host`.
    pub fn check_supported(&self, supported: &[&str]) -> Result<(), String> {
        match self.fields().find(|f| !supported.contains(f)) {
            Some(f) => Err(format!(
                "field label not supported: {f} (supported: {})",
                supported.join(", ")
            )),
            None => Ok(()),
        }
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The value an `=` term requires for `field`, if any (lets a server use an index).
    pub fn exact_value(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && !r.negated)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if r.negated { "!=" } else { "=" };
            write!(f, "{}{op}{}", r.field, escape(&r.value))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FieldSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<FieldSelector, SelectorError> {
        FieldSelector::parse(s)
    }
}

/// Splits on unescaped commas; each term comes with its 1-based starting character position.
fn split_terms(s: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    let mut escaped = false;
    for (i, c) in s.chars().enumerate() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == ',' {
            out.push((start, std::mem::take(&mut cur)));
            start = i + 2;
        } else {
            cur.push(c);
        }
    }
    out.push((start, cur));
    out
}

/// Finds the first unescaped operator (`!=`, `==` or `=`): (field, negated, raw value).
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], true, &term[i + 2..]))
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((&term[..i], false, &term[i + 2..]))
            }
            b'=' => return Some((&term[..i], false, &term[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

fn unescape(v: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=' | '!')) => out.push(e),
                Some(e) => return Err(format!("invalid escape sequence '\\{e}' in {v:?}")),
                None => return Err(format!("unterminated escape sequence in {v:?}")),
            },
            // An unescaped operator character inside a value is ambiguous.
            '=' | '!' => {
                return Err(format!(
                    "unescaped '{c}' in value {v:?}; escape it as '\\{c}'"
                ))
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn escape(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if matches!(c, '\\' | ',' | '=' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(fields: &'static [(&str, &'static str)]) -> impl Fn(&str) -> Option<&'static str> {
        move |f: &str| fields.iter().find(|(k, _)| *k == f).map(|(_, v)| *v)
    }

    #[test]
    fn parses_and_matches() {
        let running_on_a = pod(&[
            ("spec.nodeName", "node-a"),
            ("status.phase", "Running"),
            ("metadata.name", "p1"),
        ]);
        let pending = pod(&[("status.phase", "Pending"), ("metadata.name", "p2")]);
        let table: &[(&str, bool, bool)] = &[
            ("", true, true),
            ("spec.nodeName=node-a", true, false),
            ("spec.nodeName==node-a", true, false),
            ("spec.nodeName!=node-a", false, true),
            ("spec.nodeName=", false, true),
            ("spec.nodeName!=", true, false),
            ("status.phase=Running,metadata.name=p1", true, false),
            ("status.phase!=Succeeded,status.phase!=Failed", true, true),
            (" status.phase = Pending ", false, true),
            ("metadata.name=p1,", true, false),
        ];
        for (s, a, b) in table {
            let sel = FieldSelector::parse(s).unwrap();
            assert_eq!(sel.matches(&running_on_a), *a, "{s:?} on running pod");
            assert_eq!(sel.matches(&pending), *b, "{s:?} on pending pod");
        }
    }

    #[test]
    fn fields_and_support_check() {
        let sel = FieldSelector::parse("status.phase=Running,spec.nodeName=n1").unwrap();
        assert_eq!(
            sel.fields().collect::<Vec<_>>(),
            vec!["spec.nodeName", "status.phase"]
        );
        assert_eq!(sel.exact_value("spec.nodeName"), Some("n1"));
        let supported: Vec<&str> = COMMON_FIELDS.iter().chain(POD_FIELDS).copied().collect();
        assert!(sel.check_supported(&supported).is_ok());
        let bad = FieldSelector::parse("spec.host=x").unwrap();
        let e = bad.check_supported(COMMON_FIELDS).unwrap_err();
        assert!(e.starts_with("field label not supported: spec.host"), "{e}");
        assert_eq!(sel.to_string(), "spec.nodeName=n1,status.phase=Running");
    }

    #[test]
    fn escapes() {
        let sel = FieldSelector::parse(r"metadata.name=a\,b\=c").unwrap();
        assert_eq!(sel.exact_value("metadata.name"), Some("a,b=c"));
        assert_eq!(sel.to_string(), r"metadata.name=a\,b\=c");
        assert_eq!(FieldSelector::parse(&sel.to_string()).unwrap(), sel);
    }

    #[test]
    fn errors_name_the_term_and_position() {
        let e = FieldSelector::parse("status.phase=Running,spec.nodeName").unwrap_err();
        assert_eq!(e.position, 22);
        assert!(
            e.message.contains("can't understand 'spec.nodeName'"),
            "{e}"
        );
        let e = FieldSelector::parse("=x").unwrap_err();
        assert!(e.message.contains("missing field name"), "{e}");
        let e = FieldSelector::parse("a=b=c").unwrap_err();
        assert!(e.message.contains("unescaped '='"), "{e}");
        let e = FieldSelector::parse(r"a=b\q").unwrap_err();
        assert!(e.message.contains("invalid escape"), "{e}");
    }
}
