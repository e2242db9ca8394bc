//! Talking to members: connections and leader discovery.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::BenchError;

fn endpoint(url: &str) -> Result<Endpoint, BenchError> {
    let ep = Endpoint::from_shared(url.to_string()).map_err(|e| BenchError::Endpoint {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    Ok(ep.tcp_nodelay(true).connect_timeout(Duration::from_secs(3)))
}

/// One HTTP/2 connection to `url`, established now.
pub async fn connect(url: &str) -> Result<Channel, BenchError> {
    endpoint(url)?
        .connect()
        .await
        .map_err(|source| BenchError::Connect {
            url: url.to_string(),
            source,
        })
}

/// A connection to `url` that dials on first use and redials after the member
/// restarts, so a writer can keep using it across a kill.
pub fn connect_lazy(url: &str) -> Result<Channel, BenchError> {
    Ok(endpoint(url)?.connect_lazy())
}

/// Leader discovery from every member's Status is the test kit's, shared with the tests.
pub use skiff_testkit::store::{leader_index, views, View};
