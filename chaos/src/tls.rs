//! How the chaos clients reach a TLS cluster: the store members with the cluster's
//! `etcd-client` certificate, the apiservers trusting the cluster CA. Plain text when the
//! cluster has no certificates (`skiff up --insecure`).

use skiff_common::pki_layout::PkiLayout;
use skiff_common::tls::{with_tls, ClientTlsFiles};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::error::ChaosError;

/// The credentials of every chaos client.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// The cluster's certificates (`skiff up`'s or `skiff certs`' layout).
    pub pki: Option<PkiLayout>,
    /// TLS towards `https://` store URLs, with the `etcd-client` certificate.
    store: Option<ClientTlsConfig>,
    /// The cluster CA's PEM, for the apiservers.
    pub ca_pem: Option<Vec<u8>>,
}

impl ClientTls {
    /// Plain text everywhere.
    pub fn plain() -> ClientTls {
        ClientTls::default()
    }

    /// From a cluster's `pki/` directory; each file is checked (an error names it).
    pub fn from_pki(pki: PkiLayout) -> Result<ClientTls, ChaosError> {
        let client = pki.etcd_client();
        let store = ClientTlsFiles::new(&pki.ca_cert(), &client.cert, &client.key)
            .config(["--pki-dir ca.crt", "etcd-client.crt", "etcd-client.key"])
            .map_err(|e| ChaosError::msg(e.to_string()))?;
        let (_, ca_pem) = skiff_common::tls::load_certificates(&pki.ca_cert())
            .map_err(|e| ChaosError::msg(e.to_string()))?;
        Ok(ClientTls {
            pki: Some(pki),
            store,
            ca_pem: Some(ca_pem),
        })
    }

    /// An endpoint of a store member's client URL, TLS for `https://` ones.
    pub fn store_endpoint(&self, url: &str) -> Result<Endpoint, ChaosError> {
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| ChaosError::msg(format!("{url}: {e}")))?;
        with_tls(endpoint, self.store.as_ref()).map_err(|e| ChaosError::msg(format!("{url}: {e}")))
    }

    /// A connected channel to a store member.
    pub async fn store_channel(&self, url: &str) -> Result<Channel, ChaosError> {
        self.store_endpoint(url)?
            .connect()
            .await
            .map_err(|e| ChaosError::msg(format!("{url}: {e}")))
    }
}
