//! TLS servers: a rustls configuration from a server's certificate flags, and an accept loop
//! that hands the gRPC (or HTTP) server only connections whose handshake succeeded, logging
//! for every refused one who it was and why (as etcd logs "rejected connection").

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::files::{load_certificates, KeyPairFiles, TlsError};

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// ALPN for gRPC ports.
pub const ALPN_H2: &[&[u8]] = &[b"h2"];

/// The CA bundle at `path` as a root store (every certificate valid now).
pub fn root_store(path: &Path) -> Result<RootCertStore, TlsError> {
    let (certs, _) = load_certificates(path)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| TlsError::File {
            path: path.to_path_buf(),
            why: format!("not a usable CA certificate ({e})"),
        })?;
    }
    Ok(roots)
}

/// A server configuration presenting `identity`; with `client_ca`, every client must present
/// a certificate signed by that CA (client-certificate authentication).
pub fn server_config(
    identity: &KeyPairFiles,
    client_ca: Option<&Path>,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::File {
            path: Default::default(),
            why: e.to_string(),
        })?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(path)?), provider)
                    .build()
                    .map_err(|e| TlsError::File {
                        path: path.to_path_buf(),
                        why: format!("cannot verify clients with it ({e})"),
                    })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| TlsError::File {
            path: Default::default(),
            why: format!("the certificate and key are not usable together ({e})"),
        })?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Accepts on `listener` until `shutdown`; yields the connections whose TLS handshake
/// succeeded (handshakes run concurrently, so a slow client holds up no one). `port` names
/// the port in the log lines of refused connections.
pub fn accept(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    port: &'static str,
    shutdown: CancellationToken,
) -> ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let (tcp, remote) = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        tracing::warn!(port, %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            // Without TCP_NODELAY, Nagle and delayed ACKs hold small replies back ~40 ms.
            let _ = tcp.set_nodelay(true);
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                if let Some(stream) = handshake(acceptor, tcp, remote, port).await {
                    let _ = tx.send(Ok(stream)).await;
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    remote: SocketAddr,
    port: &'static str,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(err)) => {
            tracing::warn!(port, %remote, reason = %why_refused(&err), "rejected connection");
            None
        }
        Err(_) => {
            tracing::warn!(port, %remote, reason = "no TLS handshake within 10s", "rejected connection");
            None
        }
    }
}

/// A handshake failure in words a user can act on.
pub fn why_refused(err: &std::io::Error) -> String {
    let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return err.to_string();
    };
    match tls {
        rustls::Error::NoCertificatesPresented => {
            "the client presented no certificate, and client certificate authentication is on"
                .to_string()
        }
        rustls::Error::InvalidCertificate(why) => {
            format!(
                "the client's certificate is refused: {}",
                certificate_problem(why)
            )
        }
        rustls::Error::InvalidMessage(_) => {
            "not a TLS handshake: a plain-text (http://) client on a TLS port?".to_string()
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

fn certificate_problem(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match why {
        E::UnknownIssuer | E::BadSignature => "not signed by the trusted CA".to_string(),
        E::Expired | E::ExpiredContext { .. } => "expired".to_string(),
        E::NotValidYet | E::NotValidYetContext { .. } => "not valid yet".to_string(),
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => {
            "not made for client use".to_string()
        }
        E::Revoked => "revoked".to_string(),
        other => format!("{other:?}"),
    }
}
