//! Where a container instance's state lives on disk, and crash-safe reads and writes of it.
//!
//! ```text
//! DATA/containers/<pod_uid>/<container>/<instance>/
//!     spec.json        what to run (written by the runtime before the supervisor starts)
//!     supervisor.json  the supervisor's PID identity
//!     supervisor.log   the supervisor's own stderr
//!     child.json       the container process's PID identity and start time
//!     log, log.1       the container's stdout+stderr (log.1 = older half after rotation)
//!     exit.json        how the container ended (written last, atomically)
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::types::ContainerId;
use super::RuntimeError;

/// The files of one container instance.
#[derive(Debug, Clone)]
pub(crate) struct InstanceDir {
    pub path: PathBuf,
}

impl InstanceDir {
    pub fn new(path: PathBuf) -> Self {
        InstanceDir { path }
    }
    pub fn spec(&self) -> PathBuf {
        self.path.join("spec.json")
    }
    pub fn supervisor(&self) -> PathBuf {
        self.path.join("supervisor.json")
    }
    pub fn supervisor_log(&self) -> PathBuf {
        self.path.join("supervisor.log")
    }
    pub fn child(&self) -> PathBuf {
        self.path.join("child.json")
    }
    pub fn exit(&self) -> PathBuf {
        self.path.join("exit.json")
    }
    pub fn log(&self) -> PathBuf {
        self.path.join("log")
    }
}

/// The on-disk tree under `DATA/containers`.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(data_dir: &Path) -> Self {
        Layout {
            root: data_dir.join("containers"),
        }
    }
    pub fn pod(&self, pod_uid: &str) -> PathBuf {
        self.root.join(pod_uid)
    }
    pub fn container(&self, pod_uid: &str, container: &str) -> PathBuf {
        self.pod(pod_uid).join(container)
    }
    pub fn instance(&self, id: &ContainerId) -> InstanceDir {
        InstanceDir::new(
            self.container(&id.pod_uid, &id.container)
                .join(id.instance.to_string()),
        )
    }

    /// Instance numbers present for one container, ascending.
    pub fn instances(&self, pod_uid: &str, container: &str) -> io::Result<Vec<u32>> {
        let mut out: Vec<u32> = subdirs(&self.container(pod_uid, container))?
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect();
        out.sort_unstable();
        Ok(out)
    }
}

/// Names of the sub-directories of `dir` (none if `dir` does not exist).
pub(crate) fn subdirs(dir: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if let Some(name) = entry.file_name().to_str() {
                out.push(name.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Pod uids and container names become path components, so they must be plain names.
pub(crate) fn validate_name(what: &'static str, value: &str) -> Result<(), RuntimeError> {
    let reason = if value.is_empty() {
        Some("must not be empty")
    } else if value.len() > 253 {
        Some("must be at most 253 characters")
    } else if value == "." || value == ".." {
        Some("must not be . or ..")
    } else if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("may contain only letters, digits, '-', '_' and '.'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(RuntimeError::InvalidName {
            what,
            value: value.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Writes `value` as JSON so that readers see either the old file or the whole new one,
/// even if this process dies midway: write a temporary file, fsync, rename.
pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable; failure here only weakens crash safety.
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Reads a JSON file; `Ok(None)` if it does not exist.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RuntimeError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RuntimeError::Io {
                context: format!("reading {}", path.display()),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| RuntimeError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_data_dir_are_rejected() {
        for bad in ["", ".", "..", "a/b", "../x", "a b", "ü"] {
            assert!(validate_name("pod uid", bad).is_err(), "{bad:?}");
        }
        for good in ["kubia", "3f2a-11ee_b.c", "a"] {
            assert!(validate_name("pod uid", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn atomic_json_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), None);
        write_json_atomic(&path, &vec![1u32, 2]).unwrap();
        write_json_atomic(&path, &vec![3u32]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), Some(vec![3]));
        assert!(!dir.path().join("x.json.tmp").exists());
    }
}
