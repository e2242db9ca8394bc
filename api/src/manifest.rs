//! Manifest files: YAML (several `---` documents) or JSON, split into one JSON object per resource.
//!
//! YAML is read with the YAML 1.2 core schema: only `true`/`false` are booleans, so unquoted
//! `yes`, `no`, `on`, `off`, `y` and `n` stay strings (Kubernetes' YAML 1.1 reader would turn
//! them into booleans); `0755` is the decimal number 755, not octal. Numbers stay numbers,
//! quoted scalars (`"0,15,30,45 * * * *"`, `"8080"`) stay strings, and duplicate keys are errors.

use serde_json::Value;

/// Why a manifest could not be read; every variant names the document (1-based) it concerns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    /// The YAML or JSON text itself is malformed.
    #[error("document {document}{}: {message}", at(*line, *column))]
    Syntax {
        document: usize,
        line: Option<u64>,
        column: Option<u64>,
        message: String,
    },
    /// The document parsed but is not a resource (not a mapping, or no apiVersion/kind).
    #[error("document {document}{}: {message}", at(*line, None))]
    NotAnObject {
        document: usize,
        line: Option<u64>,
        message: String,
    },
}

fn at(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(", line {l}, column {c}"),
        (Some(l), None) => format!(", line {l}"),
        _ => String::new(),
    }
}

impl ManifestError {
    /// The 1-based document number the error concerns.
    pub fn document(&self) -> usize {
        match self {
            ManifestError::Syntax { document, .. }
            | ManifestError::NotAnObject { document, .. } => *document,
        }
    }
}

/// Parses a manifest file into resources. YAML documents that are empty (or only comments) are
/// skipped; a `kind: List` (or any `*List` with `items`) is flattened into its items. Text whose
/// first non-blank character is `{` or `[` is read as JSON (one or more values).
pub fn parse_manifests(text: &str) -> Result<Vec<Value>, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // YAML flow style (`{apiVersion: v1, ...}`) also starts with a brace; fall back to it,
        // but report the JSON error when neither reading works.
        return parse_json(text).or_else(|json_err| parse_yaml(text).map_err(|_| json_err));
    }
    parse_yaml(text)
}

fn parse_yaml(text: &str) -> Result<Vec<Value>, ManifestError> {
    let mut out = Vec::new();
    for doc in split_documents(text) {
        let value = parse_yaml_document(&doc)?;
        if value.is_null() {
            continue;
        }
        push_resources(value, doc.number, Some(doc.first_line), &mut out)?;
    }
    Ok(out)
}

fn parse_json(text: &str) -> Result<Vec<Value>, ManifestError> {
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut number = 0;
    loop {
        let line = {
            // Line of the next value: 1 + newlines consumed so far, skipping leading whitespace.
            let consumed = stream.byte_offset();
            let rest = &text[consumed..];
            let ws = rest.len() - rest.trim_start().len();
            text[..consumed + ws].matches('\n').count() as u64 + 1
        };
        match stream.next() {
            None => break,
            Some(Ok(v)) => {
                number += 1;
                push_resources(v, number, Some(line), &mut out)?;
            }
            Some(Err(e)) => {
                return Err(ManifestError::Syntax {
                    document: number + 1,
                    line: Some(e.line() as u64),
                    column: Some(e.column() as u64),
                    message: format!("invalid JSON: {}", strip_json_position(&e.to_string())),
                });
            }
        }
    }
    Ok(out)
}

/// serde_json appends " at line L column C"; the error already carries both.
fn strip_json_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Adds `v` to `out`, flattening lists and checking that each resource names its kind.
fn push_resources(
    v: Value,
    document: usize,
    line: Option<u64>,
    out: &mut Vec<Value>,
) -> Result<(), ManifestError> {
    let not_object = |message: String| ManifestError::NotAnObject {
        document,
        line,
        message,
    };
    let Value::Object(map) = v else {
        return Err(not_object(format!(
            "expected a resource (a mapping with apiVersion and kind), found {}",
            describe(&v)
        )));
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind.ends_with("List") {
        if let Some(items) = map.get("items") {
            let Value::Array(items) = items else {
                return Err(not_object(format!(
                    "{kind}: items must be a list, found {}",
                    describe(items)
                )));
            };
            for item in items.clone() {
                push_resources(item, document, line, out)?;
            }
            return Ok(());
        }
    }
    let mut missing = Vec::new();
    for key in ["apiVersion", "kind"] {
        match map.get(key) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) | None | Some(Value::Null) => {
                missing.push(format!("{key} not set"))
            }
            Some(other) => {
                missing.push(format!("{key} must be a string, found {}", describe(other)))
            }
        }
    }
    if !missing.is_empty() {
        return Err(not_object(format!(
            "error validating data: [{}]",
            missing.join(", ")
        )));
    }
    out.push(Value::Object(map));
    Ok(())
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// One YAML document's text, with where it sits in the file.
struct Document {
    number: usize,
    /// 1-based line of the document's first line in the whole file.
    first_line: u64,
    text: String,
}

/// A `---` or `...` marker at column 0 (optionally followed by content after a space).
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// Whether a chunk has no YAML content: only blank lines, comments and directives.
fn is_preamble(lines: &[&str]) -> bool {
    lines.iter().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || l.starts_with('%')
    })
}

/// Splits a YAML stream at document markers. YAML forbids `---` and `...` at column 0 inside
/// any scalar, so a line-based split is exact; it lets errors name the document and the line
/// in the whole file. A `---` line stays in its document (it may carry content: `--- {a: 1}`).
fn split_documents(text: &str) -> Vec<Document> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut chunks: Vec<(usize, usize)> = Vec::new(); // [start, end) line indices
    let mut start = 0;
    for (i, line) in lines.iter().enumerate() {
        if is_marker(line, "---") && i > start {
            chunks.push((start, i));
            start = i;
        } else if is_marker(line, "...") {
            chunks.push((start, i));
            start = i + 1;
        }
    }
    chunks.push((start, lines.len()));
    let mut docs = Vec::new();
    let mut pending: Option<usize> = None; // start of a directives/comments-only prefix
    for (s, e) in chunks {
        let body = &lines[s..e];
        let begins_with_marker = body.first().is_some_and(|l| is_marker(l, "---"));
        if !begins_with_marker && is_preamble(body) {
            // Text before the first `---` (comments, `%YAML`) or after a `...` is not a document.
            pending.get_or_insert(s);
            continue;
        }
        let from = pending.take().unwrap_or(s);
        docs.push(Document {
            number: docs.len() + 1,
            first_line: from as u64 + 1,
            text: lines[from..e].join("\n"),
        });
    }
    docs
}

/// Parses one document; line numbers in errors are made relative to the whole file.
fn parse_yaml_document(doc: &Document) -> Result<Value, ManifestError> {
    let options = serde_saphyr::Options {
        strict_booleans: true,
        with_snippet: false,
        crop_radius: 0,
        ..serde_saphyr::Options::default()
    };
    serde_saphyr::from_str_with_options::<Value>(&doc.text, options).map_err(|e| {
        let loc = e.location();
        ManifestError::Syntax {
            document: doc.number,
            line: loc.map(|l| l.line() + doc.first_line - 1),
            column: loc.map(|l| l.column()),
            message: saphyr_message(&e),
        }
    })
}

/// The parser's message without its own position suffix (the error carries line and column).
fn saphyr_message(e: &serde_saphyr::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    format!("invalid YAML: {msg}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn syntax(e: ManifestError) -> (usize, Option<u64>, Option<u64>, String) {
        match e {
            ManifestError::Syntax {
                document,
                line,
                column,
                message,
            } => (document, line, column, message),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn every_seed_fixture_is_one_resource() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let docs = parse_manifests(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(docs.len(), 1, "{}", path.display());
            assert!(
                docs[0]["apiVersion"].is_string() && docs[0]["kind"].is_string(),
                "{}",
                path.display()
            );
            assert!(
                docs[0]["metadata"]["name"].is_string(),
                "{}",
                path.display()
            );
            seen += 1;
        }
        assert!(
            seen >= 13,
            "only {seen} fixtures found in {}",
            dir.display()
        );
    }

    #[test]
    fn scalars_keep_their_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed");
        let cj = parse_manifests(
            &std::fs::read_to_string(dir.join("cronjob-every-fifteen-minutes.yaml")).unwrap(),
        )
        .unwrap();
        assert_eq!(cj[0]["spec"]["schedule"], json!("0,15,30,45 * * * *"));
        assert_eq!(cj[0]["spec"]["startingDeadlineSeconds"], json!(15));
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: yes, b: on, c: no, d: off, e: y, f: \"8080\", g: true}\nspec:\n  n: 8080\n  r: 0.5\n  o: 0755\n  z: ~\n";
        let v = &parse_manifests(text).unwrap()[0];
        let labels = &v["metadata"]["labels"];
        // YAML 1.2 core schema: only true/false are booleans.
        assert_eq!(
            labels,
            &json!({"a": "yes", "b": "on", "c": "no", "d": "off", "e": "y", "f": "8080", "g": true})
        );
        assert_eq!(v["spec"], json!({"n": 8080, "r": 0.5, "o": 755, "z": null}));
    }

    #[test]
    fn multiple_documents_with_empty_ones_skipped() {
        let text = "# leading comment\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n# only a comment\n---\n\n---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: b}\n...\n--- {apiVersion: v1, kind: Pod, metadata: {name: c}}\n";
        let docs = parse_manifests(text).unwrap();
        let names: Vec<_> = docs
            .iter()
            .map(|d| d["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(parse_manifests("").unwrap().is_empty());
        assert!(parse_manifests("# nothing\n---\n---\n").unwrap().is_empty());
        // A first document without a leading marker.
        let docs = parse_manifests("apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Node\n")
            .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["kind"], "Node");
    }

    #[test]
    fn block_scalars_and_indented_markers_stay_inside_their_document() {
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  script: |\n    echo a\n     ---\n    echo b\n";
        let docs = parse_manifests(text).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["data"]["script"], "echo a\n ---\necho b\n");
    }

    #[test]
    fn json_object_list_and_stream() {
        let one =
            parse_manifests(r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}"#)
                .unwrap();
        assert_eq!(one.len(), 1);
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}},
            {"apiVersion": "v1", "kind": "PodList", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}]}
        ]});
        let docs = parse_manifests(&serde_json::to_string_pretty(&list).unwrap()).unwrap();
        let names: Vec<_> = docs
            .iter()
            .map(|d| d["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b"]);
        let flow = parse_manifests("{apiVersion: v1, kind: Pod, metadata: {name: f}}").unwrap();
        assert_eq!(
            flow[0]["metadata"]["name"], "f",
            "YAML flow style is not mistaken for JSON"
        );
        let stream =
            "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}\n{\"apiVersion\":\"v1\",\"kind\":\"Node\"}\n";
        assert_eq!(parse_manifests(stream).unwrap().len(), 2);
        // A YAML List is flattened too.
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n- apiVersion: v1\n  kind: Node\n";
        assert_eq!(parse_manifests(yaml).unwrap().len(), 2);
        assert_eq!(
            parse_manifests("apiVersion: v1\nkind: List\nitems: []\n")
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn broken_yaml_names_document_line_and_column() {
        let text = "apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {}\n";
        let (doc, line, column, message) = syntax(parse_manifests(text).unwrap_err());
        assert_eq!((doc, line), (2, Some(8)), "{message}");
        assert!(column.is_some());
        assert!(message.starts_with("invalid YAML: "), "{message}");
        let shown = parse_manifests(text).unwrap_err().to_string();
        assert!(shown.starts_with("document 2, line 8, column "), "{shown}");

        let (doc, line, _, message) =
            syntax(parse_manifests("apiVersion: v1\nkind: Pod\nkind: Node\n").unwrap_err());
        assert_eq!((doc, line), (1, Some(3)));
        assert!(message.contains("duplicate mapping key"), "{message}");

        let (doc, line, _, _) = syntax(parse_manifests("---\na: [1, 2\n---\nb: 1\n").unwrap_err());
        assert_eq!(doc, 1);
        assert!(line.is_some());
    }

    #[test]
    fn broken_json_names_line_and_column() {
        let (doc, line, column, message) = syntax(
            parse_manifests("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\" \"x\"\n}")
                .unwrap_err(),
        );
        assert_eq!((doc, line, column), (1, Some(3), Some(17)));
        assert!(
            message.starts_with("invalid JSON: expected `,` or `}`"),
            "{message}"
        );
        let stream = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}\n{\"apiVersion\":\n";
        assert_eq!(syntax(parse_manifests(stream).unwrap_err()).0, 2);
    }

    #[test]
    fn documents_must_be_resources() {
        let e = parse_manifests("apiVersion: v1\nkind: Pod\n---\n- a\n- b\n").unwrap_err();
        assert_eq!(e.document(), 2);
        assert_eq!(e.to_string(), "document 2, line 3: expected a resource (a mapping with apiVersion and kind), found a list");
        let e = parse_manifests("metadata: {name: x}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "document 1, line 1: error validating data: [apiVersion not set, kind not set]"
        );
        let e = parse_manifests("apiVersion: v1\nkind: 3\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("kind must be a string, found the number 3"),
            "{e}"
        );
        let e = parse_manifests("just a string\n").unwrap_err();
        assert!(
            e.to_string().contains("found the string \"just a string\""),
            "{e}"
        );
    }
}
