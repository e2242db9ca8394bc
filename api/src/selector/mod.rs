//! Label selectors: the `matchLabels`/`matchExpressions` API form, the kubectl `-l` string form, and matching.

mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::labels::{validate_label_key, validate_label_value};

/// The API form of a label selector (ReplicaSet, DaemonSet and Job `spec.selector`).
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// True when the selector has no terms, which selects every object.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }
}

/// One `matchExpressions` entry; `operator` stays a string so unknown operators reach validation.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A syntax error in a selector string; `position` is the 1-based character where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position} of {input:?})")]
pub struct SelectorError {
    pub message: String,
    pub position: usize,
    pub input: String,
}

/// The class of a problem in a [`LabelSelector`], as Kubernetes field errors classify them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Invalid,
    Required,
    Forbidden,
    NotSupported,
}

impl fmt::Display for ProblemKind {
    /// Kubernetes' wording of the class, as printed between the path and the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::Invalid => "Invalid value",
            ProblemKind::Required => "Required value",
            ProblemKind::Forbidden => "Forbidden",
            ProblemKind::NotSupported => "Unsupported value",
        })
    }
}

/// One problem in a [`LabelSelector`]. `path` is relative to the selector
/// (`matchExpressions[0].values`); for `Invalid` and `NotSupported` the message starts with the
/// offending value quoted, so `"{path}: {kind}: {message}"` reads exactly like Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub path: String,
    pub kind: ProblemKind,
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.path, self.kind, self.message)
    }
}

/// A selector operator. `Equals` and `DoubleEquals` behave alike but print as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// One requirement of a selector: `key <operator> values`. Values are sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement after checking the key, the values and their count for the operator.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Requirement, String> {
        validate_label_key(key).map_err(|e| format!("invalid label key {key:?}: {e}"))?;
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err("for 'in', 'notin' operators, values set can't be empty".to_string());
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                return Err("exact-match compatibility requires one single value".to_string());
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err("values set must be empty for exists and does not exist".to_string());
            }
            _ => {}
        }
        for v in &values {
            validate_label_value(v).map_err(|e| format!("invalid label value {v:?}: {e}"))?;
        }
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Requirement {
            key: key.to_string(),
            operator,
            values,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Kubernetes semantics: `!=` and `notin` also match objects that lack the key.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|key| labels.get(key).map(String::as_str))
    }

    /// The same test on labels kept in another form: `label` returns a label's value.
    pub fn matches_with<'v>(&self, label: impl Fn(&str) -> Option<&'v str>) -> bool {
        let value = label(&self.key);
        let has_value = |v: &str| self.values.iter().any(|x| x == v);
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                value.is_some_and(has_value)
            }
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(has_value),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.first().map(String::as_str).unwrap_or("");
        match self.operator {
            Operator::Equals => write!(f, "{}={}", self.key, first),
            Operator::DoubleEquals => write!(f, "{}=={}", self.key, first),
            Operator::NotEquals => write!(f, "{}!={}", self.key, first),
            Operator::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, self.values.join(",")),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
        }
    }
}

/// A parsed label selector: requirements ANDed together, kept sorted by key like Kubernetes
/// so the printed form is canonical. No requirements means "matches everything".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches every object.
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// Parses the kubectl `-l` form: `app=crane,env in (dev,prod),!gpu`.
    pub fn parse(s: &str) -> Result<Selector, SelectorError> {
        parse::parse(s).map(Selector::from_requirements)
    }

    /// An equality-only selector (ReplicationController selectors, `nodeSelector`).
    /// Keys and values are not validated here; callers validate the map where it is declared.
    pub fn from_map(m: &BTreeMap<String, String>) -> Selector {
        let requirements = m
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                operator: Operator::Equals,
                values: vec![v.clone()],
            })
            .collect();
        Selector { requirements }
    }

    /// Validates an API selector and converts it; every problem is reported, not just the first.
    pub fn from_label_selector(ls: &LabelSelector) -> Result<Selector, Vec<FieldProblem>> {
        let problems = validate_label_selector(ls);
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut reqs = Vec::new();
        for (k, v) in &ls.match_labels {
            reqs.push(Requirement {
                key: k.clone(),
                operator: Operator::Equals,
                values: vec![v.clone()],
            });
        }
        for e in &ls.match_expressions {
            let operator = match e.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                _ => Operator::DoesNotExist,
            };
            let mut values = e.values.clone();
            values.sort();
            values.dedup();
            reqs.push(Requirement {
                key: e.key.clone(),
                operator,
                values,
            });
        }
        Ok(Selector::from_requirements(reqs))
    }

    /// Builds a selector from already-checked requirements.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Selector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Selector { requirements }
    }

    /// True when every requirement holds for `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// True when every requirement holds for the labels `label` looks up.
    pub fn matches_with<'v>(&self, label: impl Fn(&str) -> Option<&'v str> + Copy) -> bool {
        self.requirements.iter().all(|r| r.matches_with(label))
    }

    /// True for a selector without requirements (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Selector, SelectorError> {
        Selector::parse(s)
    }
}

/// Kubernetes' ValidateLabelSelector: operators, value counts, key and value syntax.
/// Paths are relative to the selector, e.g. `matchExpressions[0].values`.
pub fn validate_label_selector(ls: &LabelSelector) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    let invalid = |path: String, value: &str, msg: String| FieldProblem {
        path,
        kind: ProblemKind::Invalid,
        message: format!("{value:?}: {msg}"),
    };
    for (k, v) in &ls.match_labels {
        if let Err(e) = validate_label_key(k) {
            out.push(invalid("matchLabels".to_string(), k, e));
        }
        if let Err(e) = validate_label_value(v) {
            out.push(invalid("matchLabels".to_string(), v, e));
        }
    }
    for (i, e) in ls.match_expressions.iter().enumerate() {
        let base = format!("matchExpressions[{i}]");
        match e.operator.as_str() {
            "In" | "NotIn" => {
                if e.values.is_empty() {
                    out.push(FieldProblem {
                        path: format!("{base}.values"),
                        kind: ProblemKind::Required,
                        message: "must be specified when `operator` is 'In' or 'NotIn'".to_string(),
                    });
                }
            }
            "Exists" | "DoesNotExist" => {
                if !e.values.is_empty() {
                    out.push(FieldProblem {
                        path: format!("{base}.values"),
                        kind: ProblemKind::Forbidden,
                        message: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'".to_string(),
                    });
                }
            }
            other => out.push(FieldProblem {
                path: format!("{base}.operator"),
                kind: ProblemKind::NotSupported,
                message: format!(
                    "{other:?}: supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\"{}",
                    case_hint(other)
                ),
            }),
        }
        if let Err(msg) = validate_label_key(&e.key) {
            out.push(invalid(format!("{base}.key"), &e.key, msg));
        }
        for (j, v) in e.values.iter().enumerate() {
            if let Err(msg) = validate_label_value(v) {
                out.push(invalid(format!("{base}.values[{j}]"), v, msg));
            }
        }
    }
    out
}

/// The operator meant by a misspelt one: `in` -> `In` (operators are case-sensitive),
/// `DoesNotExists` -> `DoesNotExist`.
fn case_hint(op: &str) -> String {
    crate::decode::did_you_mean(op, ["In", "NotIn", "Exists", "DoesNotExist"])
        .map(|known| format!(" (did you mean {known:?}?)"))
        .unwrap_or_default()
}
