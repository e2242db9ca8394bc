//! `DIR/state.json`: what `skiff up` started (command lines, ports, PIDs), read back by `skiff down`, `skiff status` and a second `skiff up`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::write_private;
use crate::error::CliError;

/// How to tell that a component does its job.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Health {
    /// A store member: its etcd Maintenance.Status names a leader.
    Store { client_url: String },
    /// An apiserver: it answers an authenticated request.
    Apiserver { address: String },
    /// A controller-manager or scheduler: `GET /health` answers 200.
    Http { url: String },
    /// A nodelet: its Node is Ready.
    Node { name: String },
}

/// One process of the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Component {
    /// `store-1`, `apiserver`, `controller-manager`, `scheduler`, `nodelet-node-1`.
    pub name: String,
    /// The binary's file name (`skiff-store`).
    pub program: String,
    pub args: Vec<String>,
    pub log: PathBuf,
    pub health: Health,
    /// The executable it was started from (absolute), set when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The process's start time (clock ticks after boot, `/proc/PID/stat` field 22): with the
    /// PID it identifies the process even after the PID is reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    /// How many times the supervisor started it again since `skiff up` did.
    #[serde(default)]
    pub restarts: u32,
}

/// The supervisor `skiff up` started (`skiff __supervise`): PID and start time, as for a
/// component.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct SupervisorRecord {
    pub pid: u32,
    pub start_time: u64,
}

/// Everything `skiff up` knows about its cluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct ClusterState {
    pub dir: PathBuf,
    /// Apiserver addresses (`127.0.0.1:PORT`).
    pub apiservers: Vec<String>,
    /// The apiservers' Kubernetes REST API URLs (`https://127.0.0.1:PORT`); empty for a
    /// cluster made before skiff served it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub https_apiservers: Vec<String>,
    /// Store members' client URLs.
    pub stores: Vec<String>,
    pub admin_token: String,
    pub nodes: Vec<String>,
    pub components: Vec<Component>,
    /// The supervisor restarting components that exit; `None` while the cluster is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<SupervisorRecord>,
    /// The cluster's certificates (`pki/`); `None`: started with `--insecure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pki: Option<PathBuf>,
}

pub fn state_path(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

impl ClusterState {
    pub fn pki_layout(&self) -> Option<skiff_common::pki_layout::PkiLayout> {
        self.pki
            .as_deref()
            .map(skiff_common::pki_layout::PkiLayout::new)
    }

    /// The cluster CA's PEM (`None` for a plain cluster).
    pub fn ca_pem(&self) -> Option<Vec<u8>> {
        std::fs::read(self.pki_layout()?.ca_cert()).ok()
    }

    /// The state in `dir`, if `skiff up` ever ran there.
    pub fn load(dir: &Path) -> Result<Option<ClusterState>, CliError> {
        let path = state_path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CliError::msg(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| CliError::msg(format!("{} is damaged: {e}", path.display())))
    }

    /// Written after every change, so that `skiff down` can always find every process.
    /// The new text goes to a temporary file renamed over `state.json`, so a reader never
    /// sees half a file; writers hold the [`StateLock`](super::lock::StateLock), so none
    /// overwrites another's change.
    pub fn save(&self) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| CliError::msg(format!("cannot encode the cluster state: {e}")))?;
        let path = state_path(&self.dir);
        let temp = self
            .dir
            .join(format!(".state.json.{}.tmp", std::process::id()));
        write_private(&temp, &(text + "\n"))?;
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            CliError::msg(format!("cannot write {}: {e}", path.display()))
        })
    }

    /// Forgets every process (the cluster is stopped).
    pub fn clear_processes(&mut self) {
        for c in &mut self.components {
            c.pid = None;
            c.start_time = None;
            c.restarts = 0;
        }
        self.supervisor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let state = ClusterState {
            dir: dir.path().to_path_buf(),
            https_apiservers: vec![],
            apiservers: vec!["127.0.0.1:1".into()],
            stores: vec!["http://127.0.0.1:2".into()],
            pki: None,
            admin_token: "t".into(),
            nodes: vec!["node-1".into()],
            components: vec![Component {
                name: "store-1".into(),
                program: "skiff-store".into(),
                args: vec!["--name".into(), "s1".into()],
                log: dir.path().join("logs/store-1.log"),
                health: Health::Store {
                    client_url: "http://127.0.0.1:2".into(),
                },
                path: None,
                pid: Some(42),
                start_time: Some(7),
                restarts: 3,
            }],
            supervisor: Some(SupervisorRecord {
                pid: 43,
                start_time: 8,
            }),
        };
        assert_eq!(ClusterState::load(dir.path()).unwrap(), None);
        state.save().unwrap();
        assert_eq!(ClusterState::load(dir.path()).unwrap(), Some(state.clone()));
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, ["state.json"], "no temporary file is left");
    }

    #[test]
    fn a_state_without_supervisor_or_restarts_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            r#"{{"dir": {:?}, "apiservers": [], "stores": [], "admin-token": "t", "nodes": [],
                "components": [{{"name": "scheduler", "program": "skiff-scheduler", "args": [],
                "log": "/l", "health": {{"kind": "http", "url": "http://x/health"}}, "pid": 5}}]}}"#,
            dir.path()
        );
        std::fs::write(state_path(dir.path()), text).unwrap();
        let state = ClusterState::load(dir.path()).unwrap().unwrap();
        assert_eq!(state.supervisor, None);
        assert_eq!(state.components[0].restarts, 0);
    }
}
