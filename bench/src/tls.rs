//! TLS for skiff-bench's clients: etcdctl's `--cacert --cert --key` towards store members,
//! and the cluster CA (`--certificate-authority`, as `skiff` takes it) towards apiservers.
//! The files are checked (readable, PEM, in date, key matching) before any connection.

use std::path::{Path, PathBuf};

use clap::Args;
use skiff_common::pki_layout::PkiLayout;
use skiff_common::tls::ClientTlsFiles;
use tonic::transport::ClientTlsConfig;

use crate::BenchError;

/// The flags naming a store client's TLS files: etcdctl's `--cacert` and `--cert`, and
/// `--key-file` for the key (`range` already takes `--key`, the key it reads).
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreTlsArgs {
    /// CA that signed the members' certificates (https:// endpoints).
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// Client certificate, for members with --client-cert-auth.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

impl StoreTlsArgs {
    /// The checked configuration; `None` when no file is named (plain text).
    pub fn config(&self) -> Result<Option<ClientTlsConfig>, BenchError> {
        let files = ClientTlsFiles {
            ca: self.cacert.clone(),
            cert: self.cert.clone(),
            key: self.key_file.clone(),
        };
        if files.ca.is_none() && !files.is_empty() {
            return Err(BenchError::Invalid(
                "--cert and --key-file need --cacert (the CA the members' certificates chain to)"
                    .into(),
            ));
        }
        files
            .config(["--cacert", "--cert", "--key-file"])
            .map_err(|e| BenchError::Invalid(e.to_string()))
    }
}

/// The client configuration a cluster's `etcd-client` certificate gives (what the bench
/// presents to the TLS store clusters it starts).
pub fn store_client(pki: &PkiLayout) -> Result<ClientTlsConfig, BenchError> {
    let client = pki.etcd_client();
    let args = StoreTlsArgs {
        cacert: Some(pki.ca_cert()),
        cert: Some(client.cert),
        key_file: Some(client.key),
    };
    args.config()?
        .ok_or_else(|| BenchError::Invalid("no client certificate configured".into()))
}

/// The cluster CA's PEM, read and checked like every CA file (a clear error naming it).
pub fn read_ca(path: &Path) -> Result<Vec<u8>, BenchError> {
    ClientTlsFiles::ca_only(path)
        .config(["--certificate-authority", "--cert", "--key"])
        .map_err(|e| BenchError::Invalid(e.to_string()))?;
    std::fs::read(path).map_err(|e| BenchError::io(format!("reading {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_common::pki_layout::issue_cluster;

    #[test]
    fn no_files_is_plain_text_and_a_lone_certificate_is_refused() {
        assert!(StoreTlsArgs::default().config().unwrap().is_none());
        let lone = StoreTlsArgs {
            cert: Some("/nonexistent/c.crt".into()),
            key_file: Some("/nonexistent/c.key".into()),
            ..StoreTlsArgs::default()
        };
        let err = lone.config().unwrap_err().to_string();
        assert!(err.contains("--cacert"), "{err}");
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let args = StoreTlsArgs {
            cacert: Some("/nonexistent/ca.crt".into()),
            ..StoreTlsArgs::default()
        };
        let err = args.config().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.crt"), "{err}");
        let err = read_ca(Path::new("/nonexistent/ca.crt"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ca.crt"), "{err}");
    }

    #[test]
    fn a_cluster_layout_gives_a_client_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let pki = PkiLayout::new(&dir.path().join("pki"));
        issue_cluster(&pki, &["s1".to_string()], &[], &[]).unwrap();
        assert!(store_client(&pki).is_ok());
        assert!(read_ca(&pki.ca_cert())
            .unwrap()
            .starts_with(b"-----BEGIN CERTIFICATE-----"));
        let half = StoreTlsArgs {
            cacert: Some(pki.ca_cert()),
            cert: Some(pki.etcd_client().cert),
            key_file: None,
        };
        let err = half.config().unwrap_err().to_string();
        assert!(err.contains("--key-file"), "{err}");
    }
}
