//! `-f FILE|DIR|-`: reading manifests, resolving their kinds and namespaces.

use std::io::Read;
use std::path::Path;

use serde_json::Value;
use skiff_api::decode::type_of;
use skiff_api::kinds::KindInfo;
use skiff_api::manifest::parse_manifests;

use crate::error::CliError;

/// One resource read from a manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it came from, as kubectl names it in messages (`-` reads as `STDIN`).
    pub source: String,
    pub info: &'static KindInfo,
    pub object: Value,
}

impl Manifest {
    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The namespace the object goes to: its own, else the request's. A manifest that names a
    /// namespace other than an explicit `-n` is refused, as kubectl does.
    pub fn namespace(&self, namespace: &str, explicit: bool) -> Result<String, CliError> {
        if !self.info.namespaced {
            return Ok(String::new());
        }
        let own = self
            .object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if own.is_empty() {
            return Ok(namespace.to_string());
        }
        if explicit && own != namespace {
            return Err(CliError::msg(format!(
                "the namespace from the provided object {own:?} does not match the namespace {namespace:?}. You must pass '--namespace={own}' to perform this operation."
            )));
        }
        Ok(own.to_string())
    }

    /// The object with its namespace filled in.
    pub fn object_in(&self, namespace: &str) -> Value {
        let mut object = self.object.clone();
        if self.info.namespaced {
            if let Some(meta) = object
                .as_object_mut()
                .map(|o| {
                    o.entry("metadata")
                        .or_insert_with(|| Value::Object(Default::default()))
                })
                .and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(namespace.to_string()));
            }
        }
        object
    }
}

fn is_manifest_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn parse_text(source: &str, text: &str, out: &mut Vec<Manifest>) -> Result<(), CliError> {
    let objects =
        parse_manifests(text).map_err(|e| CliError::msg(format!("error parsing {source}: {e}")))?;
    for object in objects {
        let info = type_of(&object)
            .map_err(|e| CliError::msg(format!("unable to recognize {source:?}: {}", e.message)))?;
        out.push(Manifest {
            source: source.to_string(),
            info,
            object,
        });
    }
    Ok(())
}

/// Reads every `-f` argument: a file, a directory (its `.yaml`, `.yml` and `.json` files,
/// in name order) or `-` for stdin.
pub fn load(filenames: &[String]) -> Result<Vec<Manifest>, CliError> {
    let mut out = Vec::new();
    for name in filenames {
        if name == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::msg(format!("cannot read stdin: {e}")))?;
            parse_text("STDIN", &text, &mut out)?;
            continue;
        }
        let path = Path::new(name);
        let cannot =
            |e: std::io::Error| CliError::msg(format!("the path {name:?} cannot be read: {e}"));
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(cannot)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_manifest_file(p))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).map_err(cannot)?;
                parse_text(&file.display().to_string(), &text, &mut out)?;
            }
        } else {
            if !path.exists() {
                return Err(CliError::msg(format!("the path {name:?} does not exist")));
            }
            let text = std::fs::read_to_string(path).map_err(cannot)?;
            parse_text(name, &text, &mut out)?;
        }
    }
    if out.is_empty() {
        return Err(CliError::msg("no objects passed to apply"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_directories_and_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: team}\n---\napiVersion: apps/v1beta2\nkind: ReplicaSet\nmetadata: {name: r}\n").unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        let found = load(&[dir.path().display().to_string()]).unwrap();
        let names: Vec<&str> = found.iter().map(Manifest::name).collect();
        assert_eq!(names, ["n", "b", "r"]);
        assert_eq!(found[2].info.kind, "ReplicaSet");
        assert_eq!(found[0].namespace("default", true).unwrap(), "");
        assert_eq!(found[1].namespace("default", false).unwrap(), "team");
        let err = found[1].namespace("default", true).unwrap_err().to_string();
        assert!(err.contains("does not match the namespace"), "{err}");
        assert_eq!(
            found[2].object_in("default")["metadata"]["namespace"],
            "default"
        );
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "apiVersion: v1\nkind: Pdo\nmetadata: {name: x}\n").unwrap();
        let err = load(&[bad.display().to_string()]).unwrap_err().to_string();
        assert!(err.starts_with("error: unable to recognize"), "{err}");
        assert!(err.contains("did you mean \"Pod\""), "{err}");
        std::fs::write(&bad, "a: [1,\n").unwrap();
        let err = load(&[bad.display().to_string()]).unwrap_err().to_string();
        assert!(err.starts_with("error: error parsing"), "{err}");
        let err = load(&["/nonexistent/x.yaml".to_string()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
