//! The client configuration: which apiservers to talk to and with which token.
//!
//! Looked up in this order: `--config FILE`, the `SKIFF_CONFIG` environment variable,
//! `~/.skiff/config`. `--server` and `--token` override what the file says, and `--server`
//! with `--token` works without any file. The file is YAML:
//!
//! ```yaml
//! # apiservers: host:port of each apiserver; requests fail over between them.
//! apiservers:
//! - 127.0.0.1:40123
//! # token: the bearer token (a line of the apiserver's --token-file).
//! token: 6f1c...
//! # namespace: the default namespace (optional, default "default").
//! namespace: default
//! # stores: client URLs of the store members, for `skiff status` (optional).
//! stores:
//! - http://127.0.0.1:40001
//! # cluster-dir: the directory of the cluster `skiff up` started, for `skiff status` (optional).
//! cluster-dir: /home/me/.skiff/local
//! # pki-dir: a cluster's certificates in `skiff certs`' layout; `skiff status` reaches TLS
//! # store members with its etcd-client certificate (optional; cluster-dir implies it).
//! pki-dir: /home/me/skiff/compose/pki
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;
use crate::output::yaml::to_yaml;

/// The client configuration file.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClientFile {
    #[serde(default)]
    pub apiservers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_dir: Option<PathBuf>,
    /// A cluster's certificates (`skiff certs`' layout) for `skiff status`'s store calls,
    /// for clusters `skiff up` did not start (compose/).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pki_dir: Option<PathBuf>,
    /// The cluster CA's PEM file (kubeconfig's field name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<PathBuf>,
    /// The cluster CA's PEM, base64-encoded (kubeconfig's field name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
}

const HEADER: &str = "\
# skiff client configuration (see `skiff --help`).
# apiservers: host:port of each apiserver; requests fail over between them.
# token: the bearer token sent to them. namespace: the default namespace.
# stores: client URLs of the store members and cluster-dir: the directory of the
# cluster `skiff up` started, both read by `skiff status` (pki-dir: the certificates of a
# cluster it did not start, for the same). certificate-authority (a PEM
# file) or certificate-authority-data (base64 PEM, as in a kubeconfig): the cluster CA; with
# it the apiservers are reached over TLS and must present a certificate it signed.
";

impl ClientFile {
    pub fn load(path: &Path) -> Result<ClientFile, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::msg(format!("cannot read {}: {e}", path.display())))?;
        serde_saphyr::from_str(&text).map_err(|e| {
            CliError::msg(format!(
                "{} is not a valid skiff config: {e}",
                path.display()
            ))
        })
    }

    /// Writes the file (mode 0600: it holds a token), creating its directory.
    pub fn save(&self, path: &Path) -> Result<(), CliError> {
        let value = serde_json::to_value(self)
            .map_err(|e| CliError::msg(format!("cannot encode the config: {e}")))?;
        let text = format!("{HEADER}{}", to_yaml(&value));
        write_private(path, &text)
    }
}

/// Writes a file only its owner can read, creating parent directories.
pub fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| CliError::msg(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)
}

/// `~/.skiff`.
pub fn skiff_home() -> Result<PathBuf, CliError> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".skiff")),
        _ => Err(CliError::msg("HOME is not set: cannot find ~/.skiff")),
    }
}

/// The flags that choose the configuration.
#[derive(Clone, Debug, Default)]
pub struct ConfigFlags {
    pub config: Option<PathBuf>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub namespace: Option<String>,
    pub certificate_authority: Option<PathBuf>,
}

/// What a command talks to, after flags, environment and file are combined.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub endpoints: Vec<String>,
    pub token: Option<String>,
    pub namespace: String,
    /// True when `-n` was given (kubectl refuses a manifest in another namespace then).
    pub namespace_explicit: bool,
    pub stores: Vec<String>,
    pub cluster_dir: Option<PathBuf>,
    pub pki_dir: Option<PathBuf>,
    /// The cluster CA's PEM (checked): TLS to the apiservers.
    pub ca_pem: Option<Vec<u8>>,
}

/// Where the configuration file is: `--config`, else `SKIFF_CONFIG`, else `~/.skiff/config`;
/// the flag says whether the user named it (then it must exist).
pub fn config_path(flags: &ConfigFlags, env: Option<&str>) -> Result<(PathBuf, bool), CliError> {
    if let Some(path) = &flags.config {
        return Ok((path.clone(), true));
    }
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return Ok((PathBuf::from(path), true));
    }
    Ok((skiff_home()?.join("config"), false))
}

/// Combines flags, environment and file.
pub fn resolve(flags: &ConfigFlags, env: Option<&str>) -> Result<Resolved, CliError> {
    let (path, named) = config_path(flags, env)?;
    let file = if path.exists() {
        Some(ClientFile::load(&path)?)
    } else if named {
        return Err(CliError::msg(format!(
            "the config file {} does not exist",
            path.display()
        )));
    } else {
        None
    };
    let file = match (file, &flags.server) {
        (Some(file), _) => file,
        (None, Some(_)) => ClientFile::default(),
        (None, None) => {
            return Err(CliError::msg(format!(
                "no configuration: {} does not exist. Start a local cluster with `skiff up`, \
                 or pass --server HOST:PORT and --token TOKEN (or --config FILE, or set SKIFF_CONFIG)",
                path.display()
            )))
        }
    };
    let endpoints: Vec<String> = match &flags.server {
        Some(server) => server
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        None => file.apiservers.clone(),
    };
    if endpoints.is_empty() {
        return Err(CliError::msg(format!(
            "no apiserver: {} lists none and --server was not given",
            path.display()
        )));
    }
    let namespace_explicit = flags.namespace.is_some();
    let namespace = flags
        .namespace
        .clone()
        .or(file.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    let ca_pem = ca_pem(flags, &file, &path)?;
    Ok(Resolved {
        ca_pem,
        endpoints,
        token: flags.token.clone().or(file.token.clone()),
        namespace,
        namespace_explicit,
        stores: file.stores.clone(),
        cluster_dir: file.cluster_dir.clone(),
        pki_dir: file.pki_dir.clone(),
    })
}

/// The cluster CA: `--certificate-authority`, else the file's `certificate-authority`, else
/// its `certificate-authority-data`; checked (PEM, valid now) with an error naming its source.
fn ca_pem(
    flags: &ConfigFlags,
    file: &ClientFile,
    path: &Path,
) -> Result<Option<Vec<u8>>, CliError> {
    use base64::Engine;
    let from_file = |ca: &Path| {
        skiff_common::tls::load_certificates(ca)
            .map(|(_, pem)| Some(pem))
            .map_err(|e| CliError::msg(e.to_string()))
    };
    if let Some(ca) = &flags.certificate_authority {
        return from_file(ca);
    }
    if let Some(ca) = &file.certificate_authority {
        return from_file(ca);
    }
    let Some(data) = &file.certificate_authority_data else {
        return Ok(None);
    };
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| {
            CliError::msg(format!(
                "{}: certificate-authority-data is not base64 ({e})",
                path.display()
            ))
        })?;
    skiff_common::tls::config_from_ca_pem(&pem, path).map_err(|e| CliError::msg(e.to_string()))?;
    Ok(Some(pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ClientFile {
        ClientFile {
            apiservers: vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            token: Some("t0k3n".into()),
            namespace: None,
            stores: vec!["http://127.0.0.1:3".into()],
            cluster_dir: Some(PathBuf::from("/tmp/c")),
            pki_dir: None,
            certificate_authority: None,
            certificate_authority_data: None,
        }
    }

    #[test]
    fn a_saved_file_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config");
        file().save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# skiff client configuration"), "{text}");
        assert!(text.contains("cluster-dir: /tmp/c"), "{text}");
        assert_eq!(ClientFile::load(&path).unwrap(), file());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn flags_override_the_file_and_env_picks_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        file().save(&path).unwrap();
        let env = path.to_str();
        let r = resolve(&ConfigFlags::default(), env).unwrap();
        assert_eq!(r.endpoints, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(r.token.as_deref(), Some("t0k3n"));
        assert_eq!(
            (r.namespace.as_str(), r.namespace_explicit),
            ("default", false)
        );
        let flags = ConfigFlags {
            server: Some("h:9, h:10".into()),
            token: Some("other".into()),
            namespace: Some("kube-system".into()),
            ..ConfigFlags::default()
        };
        let r = resolve(&flags, env).unwrap();
        assert_eq!(r.endpoints, ["h:9", "h:10"]);
        assert_eq!(r.token.as_deref(), Some("other"));
        assert_eq!(
            (r.namespace.as_str(), r.namespace_explicit),
            ("kube-system", true)
        );
        // --config wins over the environment and must exist.
        let flags = ConfigFlags {
            config: Some(dir.path().join("missing")),
            ..ConfigFlags::default()
        };
        let err = resolve(&flags, env).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        // A file named by SKIFF_CONFIG must exist, even with --server.
        let flags = ConfigFlags {
            server: Some("h:1".into()),
            ..ConfigFlags::default()
        };
        assert!(resolve(&flags, Some(dir.path().join("none").to_str().unwrap())).is_err());
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "apiservers: [a]\nbogus: 1\n").unwrap();
        let err = resolve(&ConfigFlags::default(), bad.to_str())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid skiff config"), "{err}");
    }
}
