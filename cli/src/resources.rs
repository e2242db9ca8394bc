//! Reading the resource arguments of a command: `po`, `po,rc`, `rc crane`, `pod/a rc/b`, `all`.

use skiff_api::kinds::{self, KindInfo};

use crate::error::{unknown_resource, CliError};

/// What `all` stands for, in kubectl's order (core kinds first, then apps, then batch).
pub const ALL: [&str; 6] = [
    "pods",
    "replicationcontrollers",
    "daemonsets",
    "replicasets",
    "cronjobs",
    "jobs",
];

/// The objects a command was asked about.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// One or more kinds, with names that apply to each (none: every object).
    ByKind {
        kinds: Vec<&'static KindInfo>,
        names: Vec<String>,
        /// The user typed `all` (names are then shown as `kind/name`).
        all: bool,
    },
    /// `TYPE/NAME` arguments.
    ByName(Vec<(&'static KindInfo, String)>),
}

impl Selection {
    /// True when the output mixes kinds, so names are shown as `kind/name` as kubectl does.
    pub fn mixes_kinds(&self) -> bool {
        match self {
            Selection::ByKind { kinds, all, .. } => *all || kinds.len() > 1,
            Selection::ByName(pairs) => pairs.iter().any(|(k, _)| k.kind != pairs[0].0.kind),
        }
    }
}

fn lookup(name: &str) -> Result<&'static KindInfo, CliError> {
    kinds::lookup_cli(name).map_err(unknown_resource)
}

/// Reads `args` (everything before the flags). An empty list is an error naming the verb.
pub fn parse(args: &[String], verb: &str) -> Result<Selection, CliError> {
    let Some(first) = args.first() else {
        let known: Vec<String> = kinds::KINDS
            .iter()
            .map(|k| match k.short_names.first() {
                Some(short) => format!("{} ({short})", k.plural),
                None => k.plural.to_string(),
            })
            .collect();
        return Err(CliError::msg(format!(
            "you must specify the type of resource to {verb}. Known types: {}, all",
            known.join(", ")
        )));
    };
    if first.contains('/') {
        let mut pairs = Vec::new();
        for arg in args {
            let Some((kind, name)) = arg.split_once('/') else {
                return Err(CliError::msg(format!(
                    "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'skiff {verb} resource/<resource_name>' instead of 'skiff {verb} resource resource/<resource_name>'"
                )));
            };
            if name.is_empty() {
                return Err(CliError::msg(format!(
                    "arguments in resource/name form must have a single resource and name: {arg:?}"
                )));
            }
            pairs.push((lookup(kind)?, name.to_string()));
        }
        return Ok(Selection::ByName(pairs));
    }
    if let Some(arg) = args[1..].iter().find(|a| a.contains('/')) {
        return Err(CliError::msg(format!(
            "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'skiff {verb} resource/<resource_name>' instead of 'skiff {verb} resource resource/<resource_name>'): {arg}"
        )));
    }
    let mut kinds_found: Vec<&'static KindInfo> = Vec::new();
    let mut all = false;
    for part in first.split(',').filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("all") {
            all = true;
            for plural in ALL {
                let info = lookup(plural)?;
                if !kinds_found.contains(&info) {
                    kinds_found.push(info);
                }
            }
            continue;
        }
        let info = lookup(part)?;
        if !kinds_found.contains(&info) {
            kinds_found.push(info);
        }
    }
    if kinds_found.is_empty() {
        return Err(CliError::msg(format!(
            "no resource type given in {first:?}"
        )));
    }
    Ok(Selection::ByKind {
        kinds: kinds_found,
        names: args[1..].to_vec(),
        all,
    })
}

/// Splits `TYPE NAME` / `TYPE/NAME` for commands about exactly one object.
pub fn one_object(args: &[String], verb: &str) -> Result<(&'static KindInfo, String), CliError> {
    match parse(args, verb)? {
        Selection::ByName(pairs) if pairs.len() == 1 => Ok(pairs[0].clone()),
        Selection::ByKind { kinds, names, .. } if kinds.len() == 1 && names.len() == 1 => {
            Ok((kinds[0], names[0].clone()))
        }
        Selection::ByKind { names, .. } if names.is_empty() => Err(CliError::msg(format!(
            "a resource name is required: skiff {verb} TYPE NAME"
        ))),
        _ => Err(CliError::msg(format!(
            "skiff {verb} takes exactly one resource: TYPE NAME or TYPE/NAME"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn plurals(s: &Selection) -> Vec<&'static str> {
        match s {
            Selection::ByKind { kinds, .. } => kinds.iter().map(|k| k.plural).collect(),
            Selection::ByName(p) => p.iter().map(|(k, _)| k.plural).collect(),
        }
    }

    #[test]
    fn kinds_names_and_pairs() {
        let s = parse(&args(&["po", "a", "b"]), "get").unwrap();
        assert_eq!(plurals(&s), ["pods"]);
        assert!(matches!(&s, Selection::ByKind { names, all: false, .. } if names == &["a", "b"]));
        assert!(!s.mixes_kinds());
        let s = parse(&args(&["rc,rs,po,rc"]), "get").unwrap();
        assert_eq!(
            plurals(&s),
            ["replicationcontrollers", "replicasets", "pods"]
        );
        assert!(s.mixes_kinds());
        let s = parse(&args(&["all"]), "get").unwrap();
        assert_eq!(plurals(&s), ALL);
        assert!(s.mixes_kinds());
        let s = parse(&args(&["pod/a", "rc/crane"]), "get").unwrap();
        assert_eq!(
            s,
            Selection::ByName(vec![
                (lookup("po").unwrap(), "a".into()),
                (lookup("rc").unwrap(), "crane".into())
            ])
        );
        assert!(s.mixes_kinds());
        assert!(!parse(&args(&["pod/a", "pod/b"]), "get")
            .unwrap()
            .mixes_kinds());
    }

    #[test]
    fn mistakes_are_explained() {
        let e = parse(&args(&["foo"]), "get").unwrap_err().to_string();
        assert!(
            e.starts_with(r#"error: the server doesn't have a resource type "foo""#),
            "{e}"
        );
        let e = parse(&[], "get").unwrap_err().to_string();
        assert!(
            e.starts_with("error: you must specify the type of resource to get"),
            "{e}"
        );
        assert!(parse(&args(&["pod/a", "b"]), "get").is_err());
        assert!(parse(&args(&["pod", "rc/b"]), "get").is_err());
        assert_eq!(one_object(&args(&["rc/crane"]), "edit").unwrap().1, "crane");
        assert_eq!(
            one_object(&args(&["rc", "crane"]), "edit").unwrap().0.kind,
            "ReplicationController"
        );
        assert!(one_object(&args(&["rc"]), "edit").is_err());
        assert!(one_object(&args(&["rc", "a", "b"]), "edit").is_err());
    }
}
