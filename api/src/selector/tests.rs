//! Table tests for selector parsing, printing, validation and matching.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn parse_and_print_canonical_form() {
    let table = [
        ("", ""),
        ("   ", ""),
        ("app=crane", "app=crane"),
        ("app==crane", "app==crane"),
        ("app!=crane", "app!=crane"),
        ("app = crane", "app=crane"),
        ("env in (prod,dev)", "env in (dev,prod)"),
        ("env in ( prod , dev )", "env in (dev,prod)"),
        ("env in(prod)", "env in (prod)"),
        ("env notin (a)", "env notin (a)"),
        ("env", "env"),
        ("!env", "!env"),
        ("! env", "!env"),
        ("gpu,!env,app=crane", "app=crane,!env,gpu"),
        (
            "app=crane,env in (dev,prod),!gpu",
            "app=crane,env in (dev,prod),!gpu",
        ),
        ("app=", "app="),
        ("app=,x", "app=,x"),
        ("env in (a,a,b)", "env in (a,b)"),
        ("env in ()", "env in ()"),
        ("env in (a,)", "env in (,a)"),
        ("in=notin", "in=notin"),
        ("example.com/app=x", "example.com/app=x"),
        ("env in (in,notin)", "env in (in,notin)"),
    ];
    for (input, want) in table {
        let s = Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(s.to_string(), want, "{input:?}");
        // The printed form parses back to the same selector.
        assert_eq!(
            Selector::parse(&s.to_string()).unwrap(),
            s,
            "{input:?} round trip"
        );
    }
}

#[test]
fn syntax_errors_name_the_token_and_position() {
    let table: &[(&str, &str, usize)] = &[
        ("app=crane,", "found '', expected: identifier after ','", 11),
        (",app", "found ',', expected: !, identifier, or 'end of string'", 1),
        ("app=crane env=x", "found 'env', expected: ',' or 'end of string'", 11),
        ("env in prod", "unable to parse requirement: found 'prod', expected: '('", 8),
        ("env in (a", "unable to parse requirement: found '', expected: ',', ')' or identifier", 10),
        ("env in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'", 11),
        ("env in (a,=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier", 11),
        ("env In (a)", "unable to parse requirement: found 'In', expected: in, notin, =, ==, != (operators are lowercase)", 5),
        ("env foo", "unable to parse requirement: found 'foo', expected: in, notin, =, ==, !=", 5),
        ("app==(x)", "unable to parse requirement: found '(', expected: identifier", 6),
        ("!app=x", "found '=', expected: ',' or 'end of string'", 5),
        ("!", "unable to parse requirement: found '', expected: identifier", 2),
        ("=x", "found '=', expected: !, identifier, or 'end of string'", 1),
        ("a>1", "unable to parse requirement: operator '>' is only supported in node selectors", 2),
        ("-app=x", "unable to parse requirement: invalid label key \"-app\": name part must consist of", 1),
        ("app=-x", "unable to parse requirement: invalid label value \"-x\": a valid label must be", 5),
        ("env in (a,-b)", "unable to parse requirement: invalid label value \"-b\"", 8),
        ("a/b/c", "unable to parse requirement: invalid label key \"a/b/c\"", 1),
    ];
    for (input, want, pos) in table {
        let e = Selector::parse(input).unwrap_err();
        assert!(
            e.message.starts_with(want),
            "{input:?}: got {:?}, want prefix {want:?}",
            e.message
        );
        assert_eq!(e.position, *pos, "{input:?}: position ({})", e.message);
        assert!(
            e.to_string().contains(&format!("at character {pos}")),
            "{e}"
        );
    }
}

#[test]
fn matching_semantics() {
    let crane_prod = labels(&[("app", "crane"), ("env", "prod")]);
    let crane = labels(&[("app", "crane")]);
    let other = labels(&[("app", "kubia"), ("gpu", "")]);
    let none = labels(&[]);
    // (selector, crane_prod, crane, other, none)
    let table: &[(&str, [bool; 4])] = &[
        ("", [true, true, true, true]),
        ("app=crane", [true, true, false, false]),
        ("app==crane", [true, true, false, false]),
        ("app!=crane", [false, false, true, true]),
        ("env in (prod,dev)", [true, false, false, false]),
        ("env notin (prod)", [false, true, true, true]),
        ("env notin (dev)", [true, true, true, true]),
        ("env", [true, false, false, false]),
        ("!env", [false, true, true, true]),
        ("gpu", [false, false, true, false]),
        ("gpu=", [false, false, true, false]),
        ("app=crane,!env", [false, true, false, false]),
        (
            "app in (crane,kubia),env notin (prod)",
            [false, true, true, false],
        ),
    ];
    for (sel, want) in table {
        let s = Selector::parse(sel).unwrap();
        let got = [
            s.matches(&crane_prod),
            s.matches(&crane),
            s.matches(&other),
            s.matches(&none),
        ];
        assert_eq!(got, *want, "{sel:?}");
    }
    assert!(Selector::everything().matches(&none));
    assert!(Selector::everything().is_empty());
    assert!(!Selector::parse("a").unwrap().is_empty());
}

#[test]
fn from_map_is_equality_only() {
    let s = Selector::from_map(&labels(&[("app", "crane"), ("tier", "web")]));
    assert_eq!(s.to_string(), "app=crane,tier=web");
    assert!(s.matches(&labels(&[("app", "crane"), ("tier", "web"), ("x", "y")])));
    assert!(!s.matches(&labels(&[("app", "crane")])));
    assert!(Selector::from_map(&BTreeMap::new()).matches(&labels(&[("a", "b")])));
}

fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

#[test]
fn label_selector_conversion_and_matching() {
    let ls = LabelSelector {
        match_labels: labels(&[("app", "crane")]),
        match_expressions: vec![
            expr("env", "In", &["prod", "dev"]),
            expr("gpu", "DoesNotExist", &[]),
        ],
    };
    let s = Selector::from_label_selector(&ls).unwrap();
    assert_eq!(s.to_string(), "app=crane,env in (dev,prod),!gpu");
    assert!(s.matches(&labels(&[("app", "crane"), ("env", "dev")])));
    assert!(!s.matches(&labels(&[("app", "crane"), ("env", "qa")])));
    assert!(!s.matches(&labels(&[("app", "crane"), ("env", "dev"), ("gpu", "1")])));

    let ls = LabelSelector {
        match_expressions: vec![expr("env", "NotIn", &["prod"]), expr("app", "Exists", &[])],
        ..Default::default()
    };
    let s = Selector::from_label_selector(&ls).unwrap();
    assert!(s.matches(&labels(&[("app", "x")])));
    assert!(!s.matches(&labels(&[("app", "x"), ("env", "prod")])));
    assert!(!s.matches(&labels(&[("env", "dev")])));

    let empty = Selector::from_label_selector(&LabelSelector::default()).unwrap();
    assert!(empty.is_empty());
    assert!(empty.matches(&labels(&[("anything", "goes")])));
}

#[test]
fn label_selector_validation_reports_every_problem() {
    let ls = LabelSelector {
        match_labels: labels(&[("-bad", "ok"), ("app", "bad value")]),
        match_expressions: vec![
            expr("env", "In", &[]),
            expr("env", "Exists", &["x"]),
            expr("env", "in", &["a"]),
            expr("env", "Gt", &["1"]),
            expr("bad key", "DoesNotExist", &[]),
            expr("env", "NotIn", &["ok", "-no"]),
        ],
    };
    let problems = Selector::from_label_selector(&ls).unwrap_err();
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let want_prefixes = [
        "matchLabels: Invalid value: \"-bad\": name part must consist of",
        "matchLabels: Invalid value: \"bad value\": a valid label must be an empty string",
        "matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        "matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        "matchExpressions[2].operator: Unsupported value: \"in\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\" (did you mean \"In\"?)",
        "matchExpressions[3].operator: Unsupported value: \"Gt\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\"",
        "matchExpressions[4].key: Invalid value: \"bad key\": name part must consist of",
        "matchExpressions[5].values[1]: Invalid value: \"-no\": a valid label must be",
    ];
    assert_eq!(shown.len(), want_prefixes.len(), "{shown:#?}");
    for (got, want) in shown.iter().zip(want_prefixes) {
        assert!(got.starts_with(want), "got {got:?}\nwant prefix {want:?}");
    }
    assert_eq!(problems[2].kind, ProblemKind::Required);
    assert_eq!(problems[3].kind, ProblemKind::Forbidden);
    assert_eq!(problems[4].kind, ProblemKind::NotSupported);
    assert_eq!(problems[0].kind, ProblemKind::Invalid);
    assert_eq!(problems[3].path, "matchExpressions[1].values");
}

#[test]
fn label_selector_serde_is_strict_and_camel_case() {
    let yaml_like = serde_json::json!({
        "matchLabels": {"app": "crane"},
        "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]
    });
    let ls: LabelSelector = serde_json::from_value(yaml_like.clone()).unwrap();
    assert_eq!(serde_json::to_value(&ls).unwrap(), yaml_like);
    let e =
        serde_json::from_value::<LabelSelector>(serde_json::json!({"matchLabel": {}})).unwrap_err();
    assert!(e.to_string().contains("unknown field `matchLabel`"), "{e}");
    assert_eq!(
        serde_json::to_value(LabelSelector::default()).unwrap(),
        serde_json::json!({})
    );
}

#[test]
fn requirement_new_checks_value_counts() {
    assert!(Requirement::new("a", Operator::In, vec![])
        .unwrap_err()
        .contains("values set can't be empty"));
    assert!(
        Requirement::new("a", Operator::Equals, vec!["x".into(), "y".into()])
            .unwrap_err()
            .contains("one single value")
    );
    assert!(Requirement::new("a", Operator::Exists, vec!["x".into()])
        .unwrap_err()
        .contains("must be empty"));
    let r = Requirement::new("a", Operator::NotIn, vec!["y".into(), "x".into()]).unwrap();
    assert_eq!(r.values(), ["x", "y"]);
    assert_eq!(r.to_string(), "a notin (x,y)");
}
