//! TLS for gRPC clients: the CA that must have signed the server's certificate and,
//! for client-certificate authentication, the client's own certificate and key.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use super::files::{load_certificates, load_key_pair, TlsError};

/// The files a TLS client uses, as flags name them (etcdctl's `--cacert --cert --key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl ClientTlsFiles {
    pub fn new(ca: &Path, cert: &Path, key: &Path) -> ClientTlsFiles {
        ClientTlsFiles {
            ca: Some(ca.to_path_buf()),
            cert: Some(cert.to_path_buf()),
            key: Some(key.to_path_buf()),
        }
    }

    /// Only the CA: the server is verified, the client presents no certificate.
    pub fn ca_only(ca: &Path) -> ClientTlsFiles {
        ClientTlsFiles {
            ca: Some(ca.to_path_buf()),
            ..ClientTlsFiles::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }

    /// The checked files as tonic's client configuration; `None` when no file is named.
    /// `flags` names the three flags for errors (CA, certificate, key).
    pub fn config(&self, flags: [&'static str; 3]) -> Result<Option<ClientTlsConfig>, TlsError> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &self.ca {
            let (_, pem) = load_certificates(ca)?;
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let pair = load_key_pair(cert, key)?;
                config = config.identity(Identity::from_pem(pair.cert_pem, pair.key_pem));
            }
            (Some(_), None) => {
                return Err(TlsError::MissingFlag {
                    flag: flags[2],
                    with: flags[1],
                })
            }
            (None, Some(_)) => {
                return Err(TlsError::MissingFlag {
                    flag: flags[1],
                    with: flags[2],
                })
            }
            (None, None) => {}
        }
        Ok(Some(config))
    }
}

/// A client configuration trusting the CA certificates in `ca_pem` (a CLI config's inline
/// CA data); `source` names where they came from in errors.
pub fn config_from_ca_pem(ca_pem: &[u8], source: &Path) -> Result<ClientTlsConfig, TlsError> {
    let pem = checked_ca_pem(ca_pem, source)?;
    Ok(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
}

fn checked_ca_pem(ca_pem: &[u8], source: &Path) -> Result<Vec<u8>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let certs = CertificateDer::pem_slice_iter(ca_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File {
            path: source.to_path_buf(),
            why: format!("the CA data is not PEM ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::File {
            path: source.to_path_buf(),
            why: "the CA data holds no certificate".to_string(),
        });
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for cert in &certs {
        super::files::check_validity(source, cert, now)?;
    }
    Ok(ca_pem.to_vec())
}

/// `endpoint` with `tls` applied when given and the endpoint is `https://`.
pub fn with_tls(
    endpoint: Endpoint,
    tls: Option<&ClientTlsConfig>,
) -> Result<Endpoint, tonic::transport::Error> {
    match tls {
        Some(config) if endpoint.uri().scheme_str() == Some("https") => {
            endpoint.tls_config(config.clone())
        }
        _ => Ok(endpoint),
    }
}
