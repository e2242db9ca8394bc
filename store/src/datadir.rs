//! The member's data directory: a marker naming whose data it is, and the
//! sled database. A directory that belongs to another member or cluster, or
//! that is not a skiff-store directory at all, is refused rather than reused.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const MARKER: &str = "skiff-store.json";
const DB_DIR: &str = "db";
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Marker {
    format: u32,
    name: String,
    member_id: String,
    cluster_id: String,
}

/// The member a data dir belongs to, as its marker names it.
pub struct Owner {
    pub name: String,
    pub member_id: u64,
    pub cluster_id: u64,
}

/// Who owns `dir`, when it has a readable marker.
pub fn owner(dir: &Path) -> Result<Option<Owner>, DataDirError> {
    let bytes = match std::fs::read(dir.join(MARKER)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DataDirError::Io {
                dir: dir.to_path_buf(),
                source,
            })
        }
    };
    let bad = |reason: String| DataDirError::BadMarker {
        dir: dir.to_path_buf(),
        reason,
    };
    let marker: Marker = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let hex = |s: &str| u64::from_str_radix(s, 16).map_err(|e| bad(format!("id {s:?}: {e}")));
    Ok(Some(Owner {
        member_id: hex(&marker.member_id)?,
        cluster_id: hex(&marker.cluster_id)?,
        name: marker.name,
    }))
}

/// Whose data a directory holds, against whose it was asked to hold.
#[derive(Debug)]
pub struct Ownership {
    dir: PathBuf,
    have_name: String,
    have_member: String,
    have_cluster: String,
    want_name: String,
    want_member: String,
    want_cluster: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data dir {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("data dir {dir} is not a skiff-store data dir (it has files but no {MARKER}); refusing to use it")]
    Foreign { dir: PathBuf },
    #[error("data dir {dir}: {MARKER} is damaged ({reason}); refusing to start")]
    BadMarker { dir: PathBuf, reason: String },
    #[error(
        "data dir {} belongs to member {} ({}) of cluster {}, but this process is member {} ({}) of cluster {}; \
         check --name, --initial-cluster and --initial-cluster-token",
        .0.dir.display(), .0.have_name, .0.have_member, .0.have_cluster, .0.want_name, .0.want_member, .0.want_cluster
    )]
    OtherMember(Box<Ownership>),
    #[error("data dir {dir}: the database cannot be opened ({reason}); it may be corrupted")]
    Database { dir: PathBuf, reason: String },
}

/// Where sled keeps the member's database inside its data dir.
pub fn db_dir(dir: &Path) -> PathBuf {
    dir.join(DB_DIR)
}

/// Whether `dir` already holds a member's data.
pub fn exists(dir: &Path) -> bool {
    dir.join(MARKER).exists()
}

/// Opens (creating on first start) the data dir of member `member_id`.
pub fn open(
    dir: &Path,
    name: &str,
    member_id: u64,
    cluster_id: u64,
) -> Result<sled::Db, DataDirError> {
    let io = |source| DataDirError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let want = Marker {
        format: FORMAT,
        name: name.to_string(),
        member_id: format!("{member_id:x}"),
        cluster_id: format!("{cluster_id:x}"),
    };
    let marker_path = dir.join(MARKER);
    match std::fs::read(&marker_path) {
        Ok(bytes) => check_marker(dir, &bytes, &want)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::read_dir(dir).map_err(io)?.next().is_some() {
                return Err(DataDirError::Foreign {
                    dir: dir.to_path_buf(),
                });
            }
            let json =
                serde_json::to_vec_pretty(&want).map_err(|e| io(std::io::Error::other(e)))?;
            let tmp = dir.join(format!("{MARKER}.tmp"));
            std::fs::write(&tmp, json).map_err(io)?;
            std::fs::rename(&tmp, &marker_path).map_err(io)?;
        }
        Err(e) => return Err(io(e)),
    }
    let db_path = db_dir(dir);
    // sled may panic on some damaged files; turn that into a clear refusal.
    let config = sled::Config::new()
        .path(&db_path)
        // The state machine is flushed by the raft module's flush thread behind every
        // applied batch; sled's own timer would only add flushes.
        .flush_every_ms(None)
        // Only the state machine lives here (the raft log has its own files): 32 MB
        // saved 17 MB per member at 10 000 pods against 64, with puts level.
        .cache_capacity(32 * 1024 * 1024);
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(DataDirError::Database {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(_) => Err(DataDirError::Database {
            dir: dir.to_path_buf(),
            reason: "sled failed while reading it".into(),
        }),
    }
}

fn check_marker(dir: &Path, bytes: &[u8], want: &Marker) -> Result<(), DataDirError> {
    let have: Marker = serde_json::from_slice(bytes).map_err(|e| DataDirError::BadMarker {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    if have.format != FORMAT {
        return Err(DataDirError::BadMarker {
            dir: dir.to_path_buf(),
            reason: format!(
                "format {} is not the supported format {FORMAT}",
                have.format
            ),
        });
    }
    if have.member_id != want.member_id || have.cluster_id != want.cluster_id {
        return Err(DataDirError::OtherMember(Box::new(Ownership {
            dir: dir.to_path_buf(),
            have_name: have.name,
            have_member: have.member_id,
            have_cluster: have.cluster_id,
            want_name: want.name.clone(),
            want_member: want.member_id.clone(),
            want_cluster: want.cluster_id.clone(),
        })));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_dir_is_claimed_and_reopened_by_the_same_member_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("m1");
        drop(open(&dir, "s1", 7, 9).unwrap());
        drop(open(&dir, "s1", 7, 9).unwrap());
        let err = open(&dir, "s2", 8, 9).unwrap_err().to_string();
        assert!(
            err.contains("belongs to member s1 (7) of cluster 9"),
            "{err}"
        );
    }

    #[test]
    fn foreign_and_damaged_dirs_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "hello").unwrap();
        let err = open(tmp.path(), "s1", 1, 1).unwrap_err().to_string();
        assert!(err.contains("is not a skiff-store data dir"), "{err}");

        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(MARKER), "{not json").unwrap();
        let err = open(tmp.path(), "s1", 1, 1).unwrap_err().to_string();
        assert!(err.contains("is damaged"), "{err}");
    }
}
