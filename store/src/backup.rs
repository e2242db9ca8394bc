//! Backups: the snapshot file `etcdctl snapshot save` writes (Maintenance.Snapshot)
//! and `skiff-store restore`, which makes a new cluster's data dirs from one.
//!
//! A snapshot file is [`MAGIC`], the length of the state machine's image (8 bytes,
//! big-endian), the image (every record of its tree, as raft snapshots carry it),
//! zeros up to a multiple of 512 bytes, and a SHA-256 of everything before it, as
//! etcd appends one to its database image (etcdctl checks that the size before the
//! hash is a multiple of 512). Restore refuses a file whose hash or image does not
//! check out, before it creates anything.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::{cluster_id, Config};
use crate::datadir;
use crate::mvcc::StateMachine;

pub const MAGIC: &[u8] = b"skiff-store snapshot v1\n";
const HASH_LEN: usize = 32;
/// etcdctl expects the bytes before the hash to fill whole 512-byte sectors.
const SECTOR: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("snapshot {file}: {reason}")]
    Invalid { file: PathBuf, reason: String },
    #[error("snapshot {file}: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("data dir {0} already exists; restore only creates new data dirs")]
    DataDirExists(PathBuf),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    DataDir(#[from] datadir::DataDirError),
    #[error(transparent)]
    Store(#[from] crate::error::StoreError),
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
}

/// The file image of a state machine snapshot.
pub fn encode(image: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + image.len() + SECTOR + HASH_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(image.len() as u64).to_be_bytes());
    out.extend_from_slice(image);
    out.resize(out.len().div_ceil(SECTOR) * SECTOR, 0);
    let hash = Sha256::digest(&out);
    out.extend_from_slice(&hash);
    out
}

/// The state machine image of a snapshot file, once its magic and hash check out.
pub fn decode<'a>(file: &Path, bytes: &'a [u8]) -> Result<&'a [u8], BackupError> {
    let invalid = |reason: &str| BackupError::Invalid {
        file: file.to_path_buf(),
        reason: reason.to_string(),
    };
    if !bytes.starts_with(MAGIC) {
        return Err(invalid("not a skiff-store snapshot (wrong header)"));
    }
    if bytes.len() < MAGIC.len() + HASH_LEN {
        return Err(invalid("truncated (no integrity hash)"));
    }
    let (body, hash) = bytes.split_at(bytes.len() - HASH_LEN);
    if Sha256::digest(body).as_slice() != hash {
        return Err(invalid(
            "integrity hash mismatch: the file is truncated or was altered",
        ));
    }
    let rest = &body[MAGIC.len()..];
    let (len, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| invalid("truncated (no image length)"))?;
    let len = usize::try_from(u64::from_be_bytes(*len))
        .ok()
        .filter(|len| *len <= rest.len())
        .ok_or_else(|| invalid("image length beyond the end of the file"))?;
    Ok(&rest[..len])
}

/// `skiff-store restore`: this member's data dir of a new cluster (the flags define
/// it, as for starting a member) holding exactly the snapshot's keys and revisions.
/// Start the members afterwards with the same flags and `--initial-cluster-state new`.
pub fn restore(snapshot: &Path, config: &Config) -> Result<(), BackupError> {
    config.validate()?;
    let bytes = std::fs::read(snapshot).map_err(|source| BackupError::Io {
        file: snapshot.to_path_buf(),
        source,
    })?;
    let image = decode(snapshot, &bytes)?;
    if datadir::exists(&config.data_dir) {
        return Err(BackupError::DataDirExists(config.data_dir.clone()));
    }
    // Checked in memory before anything is created.
    let scratch = sled::Config::new().temporary(true).open()?;
    let check = StateMachine::open(scratch.open_tree("state")?)?;
    check.restore(image).map_err(|e| BackupError::Invalid {
        file: snapshot.to_path_buf(),
        reason: e.to_string(),
    })?;
    let peers = config.peers()?;
    let me = peers
        .iter()
        .find(|p| p.name == config.name)
        .ok_or_else(|| crate::config::ConfigError::InitialCluster("no such member".into()))?;
    let db = datadir::open(
        &config.data_dir,
        &config.name,
        me.id,
        cluster_id(&peers, &config.initial_cluster_token),
    )?;
    let state = StateMachine::open(db.open_tree("state")?)?;
    state.restore(image)?;
    // The old cluster's membership, alarms and raft position do not carry over: the
    // new cluster starts at raft index 1 with the members the flags name.
    state.reset_for_new_cluster()?;
    db.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_fill_whole_sectors_and_damage_is_caught() {
        let image = b"state machine image".repeat(100);
        let file = encode(&image);
        assert_eq!((file.len() - HASH_LEN) % SECTOR, 0);
        let path = Path::new("x.db");
        assert_eq!(decode(path, &file).unwrap(), &image[..]);
        for cut in [1, HASH_LEN, file.len() - 10] {
            let err = decode(path, &file[..file.len() - cut])
                .unwrap_err()
                .to_string();
            assert!(err.contains("x.db"), "{err}");
        }
        let mut tampered = file.clone();
        tampered[MAGIC.len() + 20] ^= 1;
        assert!(decode(path, &tampered)
            .unwrap_err()
            .to_string()
            .contains("hash mismatch"));
    }
}
