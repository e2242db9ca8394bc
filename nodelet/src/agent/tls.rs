//! The log service's TLS (kubelet's flag names): its serving certificate, and the CA whose
//! client certificates it accepts. With a client CA, only a caller whose certificate from
//! that CA names the group `system:masters` (the apiserver's `apiserver-kubelet-client`
//! certificate) is answered: the store members' and other holders' certificates from the
//! same CA are not enough.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;
use skiff_common::tls::{load_key_pair, server_config, subject_names, TlsError, ALPN_H2};
use tonic::{Request, Status};

/// The group a caller's certificate must name (Kubernetes' admin group, which kubeadm puts in
/// the apiserver's kubelet client certificate).
pub const CALLER_GROUP: &str = "system:masters";

#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFlags {
    /// The log service's serving certificate (PEM): with it, the port serves TLS only.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_private_key_file: Option<PathBuf>,
    /// Callers must present a certificate signed by this CA naming group `system:masters`
    /// (the apiserver's `--kubelet-client-certificate`).
    #[arg(long, value_name = "FILE")]
    pub client_ca_file: Option<PathBuf>,
}

impl TlsFlags {
    /// The server configuration; `None` without certificate flags.
    pub fn load(&self) -> Result<Option<Arc<ServerConfig>>, TlsError> {
        match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => Ok(Some(server_config(
                &load_key_pair(cert, key)?,
                self.client_ca_file.as_deref(),
                ALPN_H2,
            )?)),
            (None, None) if self.client_ca_file.is_some() => Err(TlsError::MissingFlag {
                flag: "--tls-cert-file and --tls-private-key-file",
                with: "--client-ca-file",
            }),
            (None, None) => Ok(None),
            (Some(_), None) => Err(TlsError::MissingFlag {
                flag: "--tls-private-key-file",
                with: "--tls-cert-file",
            }),
            (None, Some(_)) => Err(TlsError::MissingFlag {
                flag: "--tls-cert-file",
                with: "--tls-private-key-file",
            }),
        }
    }
}

/// Refuses a caller whose (already verified) client certificate does not name
/// [`CALLER_GROUP`]; `required` is false when the port takes no client certificates.
pub fn authorize<T>(request: &Request<T>, required: bool) -> Result<(), Status> {
    if !required {
        return Ok(());
    }
    let certs = request
        .peer_certs()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    let leaf = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    let (user, groups) = subject_names(leaf)
        .ok_or_else(|| Status::unauthenticated("the client certificate cannot be read"))?;
    if groups.iter().any(|g| g == CALLER_GROUP) {
        Ok(())
    } else {
        tracing::warn!(%user, ?groups, "log request refused: the caller is not the apiserver");
        Err(Status::permission_denied(format!(
            "user {user:?} may not read logs from this node: only the apiserver's client certificate (group {CALLER_GROUP}) may"
        )))
    }
}
