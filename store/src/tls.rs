//! The member's TLS, from etcd's flags: what the client port and the peer port present and
//! whom they admit, and what this member presents to the other members' peer ports.

use std::sync::Arc;

use rustls::ServerConfig;
use skiff_common::tls::{load_key_pair, server_config, ClientTlsFiles, TlsError, ALPN_H2};
use tonic::transport::ClientTlsConfig;

use crate::config::{is_https, Config};

pub struct MemberTls {
    /// For `https://` client URLs.
    pub client: Option<Arc<ServerConfig>>,
    /// For an `https://` peer URL.
    pub peer: Option<Arc<ServerConfig>>,
    /// Towards `https://` peers: their CA and this member's peer certificate.
    pub peer_client: Option<ClientTlsConfig>,
}

/// Reads and checks every file the flags name (after `Config::validate`).
/// The peer client configuration is made whenever peer certificates are given: members
/// learn each other's URLs from the cluster's membership, and TLS is used for `https://` ones.
pub fn load(config: &Config) -> Result<MemberTls, TlsError> {
    let tls = &config.tls;
    let client = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) if config.listen_client_urls.iter().any(|u| is_https(u)) => {
            let pair = load_key_pair(cert, key)?;
            let client_ca = tls
                .client_cert_auth
                .then_some(tls.trusted_ca_file.as_deref())
                .flatten();
            Some(server_config(&pair, client_ca, ALPN_H2)?)
        }
        _ => None,
    };
    let peer_listen_https = config.listen_peer_urls.iter().any(|u| is_https(u));
    let (peer, peer_client) = match (&tls.peer_cert_file, &tls.peer_key_file) {
        (Some(cert), Some(key)) => {
            let server = if peer_listen_https {
                let pair = load_key_pair(cert, key)?;
                let peer_ca = tls
                    .peer_client_cert_auth
                    .then_some(tls.peer_trusted_ca_file.as_deref())
                    .flatten();
                Some(server_config(&pair, peer_ca, ALPN_H2)?)
            } else {
                None
            };
            let client = if tls.peer_trusted_ca_file.is_some() {
                ClientTlsFiles {
                    ca: tls.peer_trusted_ca_file.clone(),
                    cert: Some(cert.clone()),
                    key: Some(key.clone()),
                }
                .config([
                    "--peer-trusted-ca-file",
                    "--peer-cert-file",
                    "--peer-key-file",
                ])?
            } else {
                None
            };
            (server, client)
        }
        _ => (None, None),
    };
    Ok(MemberTls {
        client,
        peer,
        peer_client,
    })
}
