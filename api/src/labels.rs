//! Syntax rules for label keys and values, DNS-1123 names and port names, worded like Kubernetes.

const QUALIFIED_NAME_MAX_LEN: usize = 63;
const LABEL_VALUE_MAX_LEN: usize = 63;
const DNS1123_LABEL_MAX_LEN: usize = 63;
const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;
const IANA_SVC_NAME_MAX_LEN: usize = 15;

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/// Kubernetes' wording for a value that exceeds `max` characters.
fn max_len_error(max: usize) -> String {
    format!("must be no more than {max} characters")
}

/// Kubernetes' wording for a value that does not match a regex, listing examples.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (");
    if !examples.is_empty() {
        s.push_str("e.g. ");
        for (i, e) in examples.iter().enumerate() {
            if i > 0 {
                s.push_str(",  or ");
            }
            s.push('\'');
            s.push_str(e);
            s.push('\'');
        }
        s.push_str(", ");
    }
    s.push_str("regex used for validation is '");
    s.push_str(fmt);
    s.push_str("')");
    s
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`; also used (with empty allowed) for label values.
fn is_qualified_name_part(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    is_alnum(first)
        && is_alnum(last)
        && s.chars()
            .all(|c| is_alnum(c) || c == '-' || c == '_' || c == '.')
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_dns1123_label(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else {
        return false;
    };
    is_lower_alnum(first)
        && is_lower_alnum(last)
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
}

fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns1123_label)
}

/// Checks a label (or annotation) key: an optional DNS-1123 subdomain prefix and `/`, then a
/// name part of at most 63 characters.
pub fn validate_label_key(key: &str) -> Result<(), String> {
    validate_qualified_name(key)
}

/// Checks a qualified name (`[prefix/]name`), returning every problem joined by "; ".
pub fn validate_qualified_name(value: &str) -> Result<(), String> {
    let mut errs: Vec<String> = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else if let Err(e) = validate_dns1123_subdomain(prefix) {
                errs.push(format!("prefix part {e}"));
            }
            *name
        }
        _ => {
            return Err(regex_error(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"],
            ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX_LEN {
        errs.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_MAX_LEN)
        ));
    }
    if !is_qualified_name_part(name) {
        errs.push(regex_error(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            QUALIFIED_NAME_FMT,
            &["MyName", "my.name", "123-abc"],
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Checks a label value: at most 63 characters, empty allowed.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LEN {
        errs.push(max_len_error(LABEL_VALUE_MAX_LEN));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Checks an object name such as a pod's: a lowercase RFC 1123 subdomain of at most 253 characters.
pub fn validate_dns1123_subdomain(name: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if name.len() > DNS1123_SUBDOMAIN_MAX_LEN {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LEN));
    }
    if !is_dns1123_subdomain(name) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Checks a lowercase RFC 1123 label (namespace names, container names) of at most 63 characters.
pub fn validate_dns1123_label(name: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if name.len() > DNS1123_LABEL_MAX_LEN {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LEN));
    }
    if !is_dns1123_label(name) {
        errs.push(regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// Checks a named port (IANA_SVC_NAME): 1-15 lowercase alphanumerics or '-', at least one letter,
/// no leading/trailing or doubled hyphen.
pub fn validate_port_name(name: &str) -> Result<(), String> {
    let mut errs = Vec::new();
    if name.len() > IANA_SVC_NAME_MAX_LEN {
        errs.push(max_len_error(IANA_SVC_NAME_MAX_LEN));
    }
    if name.is_empty() || !name.chars().all(|c| is_lower_alnum(c) || c == '-') {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if !name.chars().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys() {
        let valid = [
            "app",
            "a",
            "A",
            "1",
            "app.kubernetes.io/name",
            "example.com/MyName",
            "my.name",
            "123-abc",
            "a_b",
            "k8s.io/a-b_c.d",
            &"x".repeat(63),
            &format!("{}/n", "a".repeat(253)),
        ];
        for k in valid {
            assert!(
                validate_label_key(k).is_ok(),
                "{k:?} should be valid: {:?}",
                validate_label_key(k)
            );
        }
        let invalid = [
            "",
            "-app",
            "app-",
            "_a",
            "a.",
            "a b",
            "a/b/c",
            "/name",
            "prefix/",
            "Example.com/name",
            "ex_ample.com/name",
            "app=x",
            "é",
            &"x".repeat(64),
            &format!("{}/n", "a".repeat(254)),
        ];
        for k in invalid {
            assert!(validate_label_key(k).is_err(), "{k:?} should be invalid");
        }
    }

    #[test]
    fn label_key_messages_match_kubernetes() {
        assert_eq!(
            validate_label_key("-bad").unwrap_err(),
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            validate_label_key(&"a".repeat(64)).unwrap_err(),
            "name part must be no more than 63 characters"
        );
        assert_eq!(
            validate_label_key("").unwrap_err(),
            "name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            validate_label_key("/a").unwrap_err(),
            "prefix part must be non-empty"
        );
        assert!(validate_label_key("Foo.com/a")
            .unwrap_err()
            .starts_with("prefix part a lowercase RFC 1123 subdomain must consist of"));
    }

    #[test]
    fn label_values() {
        for v in [
            "",
            "a",
            "crane",
            "MyValue",
            "my_value",
            "12345",
            "a.b-c_d",
            &"v".repeat(63),
        ] {
            assert!(validate_label_value(v).is_ok(), "{v:?} should be valid");
        }
        for v in ["-a", "a-", ".a", "a b", "a/b", "a,b", &"v".repeat(64)] {
            assert!(validate_label_value(v).is_err(), "{v:?} should be invalid");
        }
        assert_eq!(
            validate_label_value(&"v".repeat(64)).unwrap_err(),
            "must be no more than 63 characters"
        );
        assert!(validate_label_value("a b")
            .unwrap_err()
            .starts_with("a valid label must be an empty string"));
    }

    #[test]
    fn dns_names() {
        for n in [
            "a",
            "kubia",
            "crane-7x9k2",
            "my.pod",
            "0abc",
            &"a".repeat(253),
        ] {
            assert!(validate_dns1123_subdomain(n).is_ok(), "{n:?}");
        }
        for n in [
            "",
            "Kubia",
            "-a",
            "a-",
            "a..b",
            ".a",
            "a_b",
            &"a".repeat(254),
        ] {
            assert!(validate_dns1123_subdomain(n).is_err(), "{n:?}");
        }
        for n in ["a", "default", "kube-system", "0", &"a".repeat(63)] {
            assert!(validate_dns1123_label(n).is_ok(), "{n:?}");
        }
        for n in ["", "A", "a.b", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(validate_dns1123_label(n).is_err(), "{n:?}");
        }
        assert_eq!(
            validate_dns1123_label("My").unwrap_err(),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        );
    }

    #[test]
    fn port_names() {
        for n in ["http", "a", "web-1", "h2c", "abcdefghijklmno"] {
            assert!(validate_port_name(n).is_ok(), "{n:?}");
        }
        for n in [
            "",
            "123",
            "-http",
            "http-",
            "ht--tp",
            "HTTP",
            "http_1",
            "abcdefghijklmnop",
        ] {
            assert!(validate_port_name(n).is_err(), "{n:?}");
        }
        assert_eq!(
            validate_port_name("-A").unwrap_err(),
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-); must contain at least one letter (a-z); must not begin or end with a hyphen"
        );
        assert_eq!(
            validate_port_name("123").unwrap_err(),
            "must contain at least one letter (a-z)"
        );
    }
}
