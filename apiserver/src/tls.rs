//! The apiserver's certificates (Kubernetes' flag names): what its port presents, what it
//! presents to the store, and what it presents to (and expects from) the nodelets.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;
use skiff_common::tls::{load_key_pair, server_config, ClientTlsFiles, TlsError, ALPN_H2};
use tonic::transport::ClientTlsConfig;

#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFlags {
    /// The serving certificate (PEM) of the gRPC API port (with it, that port serves TLS
    /// only) and of the HTTPS REST listener (--http-listen).
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// The serving certificate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_private_key_file: Option<PathBuf>,
    /// The CA that signed the store members' serving certificates (https:// store endpoints).
    #[arg(long, value_name = "FILE")]
    pub etcd_cafile: Option<PathBuf>,
    /// The client certificate presented to the store.
    #[arg(long, value_name = "FILE")]
    pub etcd_certfile: Option<PathBuf>,
    /// The client certificate's private key.
    #[arg(long, value_name = "FILE")]
    pub etcd_keyfile: Option<PathBuf>,
    /// The client certificate presented to the nodelets' log service (the only caller it
    /// answers).
    #[arg(long, value_name = "FILE")]
    pub kubelet_client_certificate: Option<PathBuf>,
    /// Its private key.
    #[arg(long, value_name = "FILE")]
    pub kubelet_client_key: Option<PathBuf>,
    /// The CA that signed the nodelets' serving certificates; with it (or with the client
    /// certificate) the log service is reached over TLS.
    #[arg(long, value_name = "FILE")]
    pub kubelet_certificate_authority: Option<PathBuf>,
}

/// The loaded and checked configurations.
#[derive(Default)]
pub struct ApiTls {
    pub server: Option<Arc<ServerConfig>>,
    pub store: Option<ClientTlsConfig>,
    pub kubelet: Option<ClientTlsConfig>,
}

impl TlsFlags {
    pub fn load(&self) -> Result<ApiTls, TlsError> {
        let server = match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => {
                Some(server_config(&load_key_pair(cert, key)?, None, ALPN_H2)?)
            }
            (Some(_), None) => {
                return Err(TlsError::MissingFlag {
                    flag: "--tls-private-key-file",
                    with: "--tls-cert-file",
                })
            }
            (None, Some(_)) => {
                return Err(TlsError::MissingFlag {
                    flag: "--tls-cert-file",
                    with: "--tls-private-key-file",
                })
            }
            (None, None) => None,
        };
        let store = ClientTlsFiles {
            ca: self.etcd_cafile.clone(),
            cert: self.etcd_certfile.clone(),
            key: self.etcd_keyfile.clone(),
        }
        .config(["--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"])?;
        let kubelet = ClientTlsFiles {
            ca: self.kubelet_certificate_authority.clone(),
            cert: self.kubelet_client_certificate.clone(),
            key: self.kubelet_client_key.clone(),
        }
        .config([
            "--kubelet-certificate-authority",
            "--kubelet-client-certificate",
            "--kubelet-client-key",
        ])?;
        Ok(ApiTls {
            server,
            store,
            kubelet,
        })
    }
}
