//! The cluster's certificates: one CA, and serving and client certificates it issues, as PEM files under `DIR/pki`.
//!
//! Layout (Kubernetes' `/etc/kubernetes/pki` idea): `ca.crt`, `ca.key`, then one
//! `NAME.crt` / `NAME.key` pair per certificate (`apiserver.crt`, `apiserver.key`, ...).
//! Private keys are written with mode 0600. Certificates are made with rcgen (ECDSA P-256).
//!
//! A CA is loaded back from its key alone: the issuer is rebuilt from the same fixed
//! distinguished name and the stored key, so certificates issued later chain to the
//! `ca.crt` written at first (no certificate parser needed).

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// How long every issued certificate is valid (rotation is not automated).
pub const VALIDITY: time::Duration = time::Duration::days(365);

/// How long the CA is valid.
pub const CA_VALIDITY: time::Duration = time::Duration::days(3650);

/// The CA's common name (fixed: a loaded CA is rebuilt from it).
pub const CA_COMMON_NAME: &str = "skiff-ca";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0:?} is not a valid DNS name or IP address for a certificate")]
    BadName(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The certificate authority that signs every other certificate of one cluster.
pub struct Ca {
    pair: CertPair,
    issuer: Issuer<'static, KeyPair>,
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

impl Ca {
    /// A new CA with a fresh key.
    pub fn generate() -> Result<Ca, PkiError> {
        let key = KeyPair::generate()?;
        // The CA outlives the certificates it issues, as kubeadm's does (ten years).
        let mut params = ca_params();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + CA_VALIDITY;
        let cert = params.self_signed(&key)?;
        let pair = CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        Ok(Ca {
            pair,
            issuer: Issuer::new(ca_params(), key),
        })
    }

    /// A CA from its PEM certificate and key (as written by [`Ca::write`]).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        Ok(Ca {
            pair: CertPair {
                cert_pem: cert_pem.to_string(),
                key_pem: key_pem.to_string(),
            },
            issuer: Issuer::new(ca_params(), key),
        })
    }

    /// The CA certificate, PEM (what clients trust).
    pub fn cert_pem(&self) -> &str {
        &self.pair.cert_pem
    }

    pub fn pair(&self) -> &CertPair {
        &self.pair
    }

    /// A serving certificate for these names (DNS names or IP addresses), with `names[0]`
    /// (or `skiff`) as its common name.
    pub fn issue_server(&self, names: &[String]) -> Result<CertPair, PkiError> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_, _>>()?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().map_or("skiff", String::as_str),
        );
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate for user `common_name` in groups `organizations` (Kubernetes
    /// reads the user from CN and the groups from O).
    pub fn issue_client(
        &self,
        common_name: &str,
        organizations: &[&str],
    ) -> Result<CertPair, PkiError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        for o in organizations {
            dn.push(DnType::OrganizationName, *o);
        }
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    /// A certificate for both ends of a connection (a store member's peer port, which also
    /// calls the other members with it): serving for `names`, and client use.
    pub fn issue_peer(&self, names: &[String]) -> Result<CertPair, PkiError> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_, _>>()?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().map_or("skiff", String::as_str),
        );
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        self.sign(params)
    }

    fn sign(&self, mut params: CertificateParams) -> Result<CertPair, PkiError> {
        // Valid for a year (from an hour ago, for clocks slightly behind).
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + VALIDITY;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Writes `ca.crt` and `ca.key` (0600) into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), PkiError> {
        write_pair(dir, "ca", &self.pair)
    }

    /// Loads `ca.crt` and `ca.key` from `dir`.
    pub fn load(dir: &Path) -> Result<Ca, PkiError> {
        let pair = read_pair(dir, "ca")?;
        Ca::from_pem(&pair.cert_pem, &pair.key_pem)
    }

    /// The CA in `dir`, made and written there first if it has none yet.
    pub fn load_or_generate(dir: &Path) -> Result<Ca, PkiError> {
        if dir.join("ca.crt").exists() && dir.join("ca.key").exists() {
            return Ca::load(dir);
        }
        let ca = Ca::generate()?;
        ca.write(dir)?;
        Ok(ca)
    }
}

/// An IP address becomes an IP SAN, anything else a DNS name.
fn san(name: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*'));
    if !valid {
        return Err(PkiError::BadName(name.to_string()));
    }
    let dns = name
        .to_string()
        .try_into()
        .map_err(|_| PkiError::BadName(name.to_string()))?;
    Ok(SanType::DnsName(dns))
}

/// `DIR/NAME.crt` and `DIR/NAME.key`.
pub fn pair_paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    )
}

/// Writes `NAME.crt` (0644) and `NAME.key` (0600) into `dir`, creating it (0700).
pub fn write_pair(dir: &Path, name: &str, pair: &CertPair) -> Result<(), PkiError> {
    create_private_dir(dir)?;
    let (cert, key) = pair_paths(dir, name);
    write_file(&cert, pair.cert_pem.as_bytes(), 0o644)?;
    write_file(&key, pair.key_pem.as_bytes(), 0o600)
}

/// Reads `NAME.crt` and `NAME.key` from `dir`.
pub fn read_pair(dir: &Path, name: &str) -> Result<CertPair, PkiError> {
    let (cert, key) = pair_paths(dir, name);
    Ok(CertPair {
        cert_pem: std::fs::read_to_string(&cert).map_err(io(&cert))?,
        key_pem: std::fs::read_to_string(&key).map_err(io(&key))?,
    })
}

fn create_private_dir(dir: &Path) -> Result<(), PkiError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

/// Writes a file created with `mode` from the start (a key is never readable by others, not
/// even for a moment), replacing an existing one.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PkiError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    // The umask may have narrowed the mode; set it exactly.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_ca_written_and_loaded_issues_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        let ca = Ca::load_or_generate(&pki).unwrap();
        let again = Ca::load_or_generate(&pki).unwrap();
        assert_eq!(ca.cert_pem(), again.cert_pem(), "an existing CA is kept");
        let server = again
            .issue_server(&["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        write_pair(&pki, "apiserver", &server).unwrap();
        assert_eq!(read_pair(&pki, "apiserver").unwrap(), server);
        let mode = |p: &str| std::fs::metadata(pki.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("ca.key"), 0o600);
        assert_eq!(mode("apiserver.key"), 0o600);
        assert_eq!(mode("apiserver.crt"), 0o644);
        assert!(server.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let client = ca.issue_client("admin", &["system:masters"]).unwrap();
        assert!(client.key_pem.contains("PRIVATE KEY"));
        assert!(matches!(
            ca.issue_server(&["not a name".into()]),
            Err(PkiError::BadName(_))
        ));
    }
}
