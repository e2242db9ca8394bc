//! YAML output (`-o yaml`, `edit`) in kubectl's shape: keys sorted, two-space indentation, list items at their key's indentation.
//!
//! A small emitter of our own rather than serde-saphyr's serializer: that one indents lists
//! under their key and writes a string with trailing spaces as a plain scalar, which loses the
//! spaces when read back. Here a string is written plain only when it is unmistakably a
//! string (it starts with a letter, `/` or `_`, holds no YAML indicator and is no YAML keyword);
//! otherwise it is double-quoted with JSON escapes, which every YAML 1.2 reader understands.

use serde_json::Value;

/// One object (or a `List`) as a YAML document, ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => emit_map(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => emit_list(items, 0, &mut out),
        scalar => {
            out.push_str(&inline(scalar, 0));
            out.push('\n');
        }
    }
    out
}

fn emit_map(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let pad = " ".repeat(indent);
    for key in keys {
        let value = &map[key];
        out.push_str(&pad);
        out.push_str(&key_string(key));
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push_str(":\n");
                emit_map(m, indent + 2, out);
            }
            // kubectl's style: a list's items sit at the indentation of its key.
            Value::Array(items) if !items.is_empty() => {
                out.push_str(":\n");
                emit_list(items, indent, out);
            }
            scalar => {
                out.push_str(": ");
                out.push_str(&inline(scalar, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn emit_list(items: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        let mut block = String::new();
        match item {
            Value::Object(m) if !m.is_empty() => emit_map(m, indent + 2, &mut block),
            Value::Array(inner) if !inner.is_empty() => emit_list(inner, indent + 2, &mut block),
            scalar => {
                out.push_str(&pad);
                out.push_str("- ");
                out.push_str(&inline(scalar, indent + 2));
                out.push('\n');
                continue;
            }
        }
        // The nested block's first line takes the dash in place of its indentation.
        out.push_str(&pad);
        out.push_str("- ");
        out.push_str(&block[indent + 2..]);
    }
}

/// A scalar, or an empty collection, on the rest of a line.
fn inline(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s, indent),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
    }
}

/// Words a YAML reader (1.1 or 1.2) would take for something other than a string.
const KEYWORDS: [&str; 10] = [
    "null", "true", "false", "yes", "no", "on", "off", "y", "n", "~",
];

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if first.is_ascii_digit() {
        // A leading digit is safe only when a letter makes it no number, date or time
        // (`10Mi`, `500m` and uids like `3ec7f801-...` stay plain; `8080`, `1e3`, `0x1F` and
        // `2024-05-05T10:00:00Z` are quoted).
        let radix = ["0x", "0o", "0b"].iter().any(|p| s.starts_with(p));
        let letter = s
            .chars()
            .any(|c| c.is_ascii_alphabetic() && !"eEtTzZ".contains(c));
        if radix || !letter {
            return false;
        }
    } else if !(first.is_alphabetic() || first == '/' || first == '_') {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    if KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k)) {
        return false;
    }
    // Past the first character only `: ` and ` #` mean something to a block-context reader;
    // quotes, brackets and braces are plain text there.
    s.chars().all(|c| !c.is_control())
}

/// A multi-line string that a literal block (`|` or `|-`) reproduces exactly.
fn literal_block_safe(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    s.contains('\n')
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\t'])
        && !s.contains(['\r', '\t'])
        && body.split('\n').all(|line| !line.ends_with(' '))
}

fn key_string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

fn scalar_string(s: &str, indent: usize) -> String {
    if is_plain_safe(s) {
        return s.to_string();
    }
    if literal_block_safe(s) {
        let (header, body) = match s.strip_suffix('\n') {
            Some(body) => ("|", body),
            None => ("|-", s),
        };
        let pad = " ".repeat(indent.max(2));
        let mut out = header.to_string();
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
                out.push_str(line);
            }
        }
        return out;
    }
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skiff_api::manifest::parse_manifests;

    #[test]
    fn tricky_scalars_survive_a_round_trip() {
        let object = json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "x", "labels": {"a": "yes", "b": "true", "c": "8080", "d": "0755", "e": "", "f": "null", "g": "~", "h": "1e3", "i": "- x", "j": "a: b", "k": "#c", "l": "a #b", "m": "x:", "n": "Y", "o": ".inf", "p": "ünïcode ok", "q": "10Mi", "r": "3ec7f801-6405", "s": "0x1F", "t": "1e-3", "u": "12:30:00", "v": "2024-05-05t10:00:00z", "w": "spec.containers{crane}", "x": "say \"hi\" it's [ok]", "y": "a\u{7f}b", "z": "50%"}},
            "spec": {"schedule": "0,15,30,45 * * * *", "n": 3, "f": 0.5, "neg": -2, "t": true, "nothing": null, "empty": {}, "list": [], "nested": [{"a": 1, "z": {"q": [1]}}, {"b": [1, 2]}, [3, [4]]],
                     "script": "line one\n  indented\n\nlast\n", "nonl": "a\nb", "lead": " space\nx\n", "trail": "a \nb\n", "twice": "a\n\n",
                     "long": "word ".repeat(40), "quote": "say \"hi\"\t\\"}
        });
        let text = to_yaml(&object);
        let back = parse_manifests(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, vec![object], "{text}");
    }

    #[test]
    fn output_reads_like_kubectl() {
        let object = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "labels": {"app": "kubia"}, "creationTimestamp": "2024-05-05T10:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "luksa/kubia", "args": ["sh", "-c", "echo hi"], "ports": [{"containerPort": 8080}]}]}});
        assert_eq!(
            to_yaml(&object),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: \"2024-05-05T10:00:00Z\"\n  labels:\n    app: kubia\n  name: p\n\
             spec:\n  containers:\n  - args:\n    - sh\n    - \"-c\"\n    - echo hi\n    image: luksa/kubia\n    name: c\n    ports:\n    - containerPort: 8080\n"
        );
    }
}
