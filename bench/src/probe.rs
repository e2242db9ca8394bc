//! Talking to members: connections and leader discovery.

use std::time::Duration;

use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::BenchError;

/// `url` as tonic's endpoint, over `tls` when given and the URL is `https://`.
fn endpoint(url: &str, tls: Option<&ClientTlsConfig>) -> Result<Endpoint, BenchError> {
    let bad = |e: &dyn std::fmt::Display| BenchError::Endpoint {
        url: url.to_string(),
        reason: e.to_string(),
    };
    let ep = Endpoint::from_shared(url.to_string()).map_err(|e| bad(&e))?;
    let ep = skiff_common::tls::with_tls(ep, tls).map_err(|e| bad(&e))?;
    Ok(ep.tcp_nodelay(true).connect_timeout(Duration::from_secs(3)))
}

/// One HTTP/2 connection to `url` (over `tls` when given), established now.
pub async fn connect(url: &str, tls: Option<&ClientTlsConfig>) -> Result<Channel, BenchError> {
    endpoint(url, tls)?
        .connect()
        .await
        .map_err(|source| BenchError::Connect {
            url: url.to_string(),
            source,
        })
}

/// A connection to `url` that dials on first use and redials after the member
/// restarts, so a writer can keep using it across a kill.
pub fn connect_lazy(url: &str, tls: Option<&ClientTlsConfig>) -> Result<Channel, BenchError> {
    Ok(endpoint(url, tls)?.connect_lazy())
}

/// Leader discovery from every member's Status is the test kit's, shared with the tests.
pub use skiff_testkit::store::{leader_index, views, View};
