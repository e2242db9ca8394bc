//! Health checks of the components: store leader via the etcd Maintenance API, apiserver answers, `/health` endpoints, nodes Ready.

use std::time::Duration;

use skiff_api::types::Node;
use skiff_client::{Client, ClientConfig};
use skiff_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use skiff_proto::etcdserverpb::{StatusRequest, StatusResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use skiff_common::pki_layout::PkiLayout;
use skiff_common::tls::ClientTlsFiles;

use super::state::Health;

/// How long one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One store member's `Maintenance.Status`.
/// With `pki`, over TLS with the cluster's `etcd-client` certificate.
pub async fn store_status(
    client_url: &str,
    pki: Option<&PkiLayout>,
) -> Result<StatusResponse, String> {
    let call = async {
        let mut client = MaintenanceClient::new(store_channel(client_url, pki).await?);
        client
            .status(StatusRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(|e| e.message().to_string())
    };
    tokio::time::timeout(CHECK_TIMEOUT, call)
        .await
        .map_err(|_| "no answer".to_string())?
}

/// A connection to a store member's client URL; with `pki`, over TLS with the cluster's
/// `etcd-client` certificate.
pub async fn store_channel(
    client_url: &str,
    pki: Option<&PkiLayout>,
) -> Result<tonic::transport::Channel, String> {
    let tls = match pki {
        Some(pki) => {
            let client = pki.etcd_client();
            ClientTlsFiles::new(&pki.ca_cert(), &client.cert, &client.key)
                .config(["--cacert", "--cert", "--key"])
                .map_err(|e| e.to_string())?
        }
        None => None,
    };
    let endpoint = tonic::transport::Endpoint::from_shared(client_url.to_string())
        .map_err(|e| format!("bad URL: {e}"))?;
    skiff_common::tls::with_tls(endpoint, tls.as_ref())
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("cannot connect: {e}"))
}

/// `GET /health` over plain HTTP/1.0; true for a 200.
pub async fn http_ok(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url} is not http://"))?;
    let (host, path) = match rest.split_once('/') {
        Some((host, path)) => (host, format!("/{path}")),
        None => (rest, "/".to_string()),
    };
    let call = async {
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut reply = Vec::new();
        stream
            .read_to_end(&mut reply)
            .await
            .map_err(|e| e.to_string())?;
        let reply = String::from_utf8_lossy(&reply);
        let status = reply.lines().next().unwrap_or_default();
        if status.split_whitespace().nth(1) == Some("200") {
            Ok(())
        } else {
            let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
            Err(format!("{status} {body}").trim().to_string())
        }
    };
    tokio::time::timeout(CHECK_TIMEOUT, call)
        .await
        .map_err(|_| "no answer".to_string())?
}

/// An admin client for one apiserver.
pub fn admin_client(
    endpoints: &[String],
    token: &str,
    ca_pem: Option<Vec<u8>>,
) -> Result<Client, String> {
    let config = ClientConfig::new(endpoints.to_vec())
        .with_token(token)
        .with_timeout(CHECK_TIMEOUT)
        .with_ca_pem(ca_pem);
    Client::new(config).map_err(|e| e.to_string())
}

/// Ok when the component does its job, else what is wrong. `client` talks to the cluster's
/// apiservers with the admin token.
pub async fn check(
    health: &Health,
    client: &Client,
    token: &str,
    pki: Option<&PkiLayout>,
) -> Result<(), String> {
    match health {
        Health::Store { client_url } => {
            let status = store_status(client_url, pki).await?;
            if status.leader == 0 {
                Err("no raft leader yet".to_string())
            } else {
                Ok(())
            }
        }
        Health::Apiserver { address } => {
            // This apiserver alone, so that another one answering does not count.
            let ca_pem = pki.and_then(|p| std::fs::read(p.ca_cert()).ok());
            let one = admin_client(std::slice::from_ref(address), token, ca_pem)?;
            one.who_am_i().await.map(drop).map_err(|e| e.message)
        }
        Health::Http { url } => http_ok(url).await,
        Health::Node { name } => {
            let node: Node = client.get("", name).await.map_err(|e| e.message)?;
            let ready = node
                .status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.is_true());
            if ready {
                Ok(())
            } else {
                Err("the node is not Ready".to_string())
            }
        }
    }
}
