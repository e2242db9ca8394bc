//! Certificates and keys read from PEM files, checked before any port opens: a missing,
//! unreadable, expired or not-yet-valid certificate, or a key that is not the certificate's,
//! is refused with an error naming the file.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What is wrong with a TLS file (or a pair of them); always names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {why}", path.display())]
    File { path: PathBuf, why: String },
    #[error("{}: the certificate expired at {at} (UNIX time {not_after}); make a new one", path.display())]
    Expired {
        path: PathBuf,
        at: String,
        not_after: i64,
    },
    #[error("{}: the certificate is not valid before {at} (UNIX time {not_before}); check the clock", path.display())]
    NotYetValid {
        path: PathBuf,
        at: String,
        not_before: i64,
    },
    #[error("{}: the private key does not match the certificate {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{flag} is needed with {with}")]
    MissingFlag {
        flag: &'static str,
        with: &'static str,
    },
}

fn file_error(path: &Path, why: impl ToString) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// A certificate chain (leaf first) and its private key, both checked.
#[derive(Debug)]
pub struct KeyPairFiles {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl Clone for KeyPairFiles {
    fn clone(&self) -> KeyPairFiles {
        KeyPairFiles {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
        }
    }
}

/// Reads `cert` (PEM, leaf first) and `key` (PEM, PKCS#8, PKCS#1 or SEC1) and checks that
/// the leaf is valid now and that the key is the leaf's.
pub fn load_key_pair(cert: &Path, key: &Path) -> Result<KeyPairFiles, TlsError> {
    let (chain, cert_pem) = load_certificates(cert)?;
    let key_pem = std::fs::read(key).map_err(|e| file_error(key, e))?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| file_error(key, format!("no private key in PEM form ({e})")))?;
    let signing = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(private.clone_key())
        .map_err(|e| file_error(key, format!("unusable private key ({e})")))?;
    if let (Some(public), Some(leaf)) = (signing.public_key(), chain.first()) {
        if subject_public_key_info(cert, leaf)? != public.as_ref() {
            return Err(TlsError::KeyMismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            });
        }
    }
    Ok(KeyPairFiles {
        chain,
        key: private,
        cert_pem,
        key_pem,
    })
}

/// Every certificate in a PEM file (at least one), each valid now; and the file's bytes.
pub fn load_certificates(path: &Path) -> Result<(Vec<CertificateDer<'static>>, Vec<u8>), TlsError> {
    let pem = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(file_error(path, "holds no PEM certificate"));
    }
    for cert in &certs {
        check_validity(path, cert, now())?;
    }
    Ok((certs, pem))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Refuses a certificate outside its validity period at UNIX time `now`.
pub fn check_validity(path: &Path, cert: &CertificateDer<'_>, now: i64) -> Result<(), TlsError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| file_error(path, format!("not a valid X.509 certificate ({e})")))?;
    let validity = parsed.validity();
    if validity.not_after.timestamp() < now {
        return Err(TlsError::Expired {
            path: path.to_path_buf(),
            at: validity.not_after.to_string(),
            not_after: validity.not_after.timestamp(),
        });
    }
    if validity.not_before.timestamp() > now {
        return Err(TlsError::NotYetValid {
            path: path.to_path_buf(),
            at: validity.not_before.to_string(),
            not_before: validity.not_before.timestamp(),
        });
    }
    Ok(())
}

fn subject_public_key_info(path: &Path, cert: &CertificateDer<'_>) -> Result<Vec<u8>, TlsError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| file_error(path, format!("not a valid X.509 certificate ({e})")))?;
    Ok(parsed.public_key().raw.to_vec())
}

/// The subject common name and organizations of a DER certificate (a peer's, after the
/// handshake verified it).
pub fn subject_names(cert: &CertificateDer<'_>) -> Option<(String, Vec<String>)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let organizations = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    Some((common_name, organizations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki_layout::{issue_cluster, PkiLayout};

    #[test]
    fn an_expired_certificate_or_a_foreign_key_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let pki = PkiLayout::new(&dir.path().join("pki"));
        issue_cluster(&pki, &["s1".to_string()], &[], &[]).unwrap();
        let server = pki.store_server("s1");
        let pair = load_key_pair(&server.cert, &server.key).expect("a matching pair");
        assert_eq!(pair.chain.len(), 1);

        // Valid for a year: fine in 364 days, expired in 366.
        let leaf = &pair.chain[0];
        let day = 24 * 3600;
        assert!(check_validity(&server.cert, leaf, now() + 364 * day).is_ok());
        let err = check_validity(&server.cert, leaf, now() + 366 * day).unwrap_err();
        assert!(matches!(err, TlsError::Expired { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&server.cert.display().to_string()) && text.contains("expired"),
            "{text}"
        );
        let err = check_validity(&server.cert, leaf, now() - 2 * day).unwrap_err();
        assert!(matches!(err, TlsError::NotYetValid { .. }), "{err}");

        let other = pki.store_peer("s1");
        let err = load_key_pair(&server.cert, &other.key).unwrap_err();
        assert_eq!(
            err,
            TlsError::KeyMismatch {
                cert: server.cert.clone(),
                key: other.key.clone()
            }
        );
        assert!(err.to_string().contains("does not match the certificate"));

        let missing = dir.path().join("missing.crt");
        let err = load_key_pair(&missing, &server.key).unwrap_err();
        assert!(
            err.to_string().starts_with(&missing.display().to_string()),
            "{err}"
        );
        let err = load_certificates(&server.key).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }
}
