//! The tcpSocket probe: success when a connection opens within the timeout.

use std::time::Duration;

use tokio::net::TcpStream;

use super::{dial_error, host_port, ProbeOutcome, TcpSocketAction};

pub(super) async fn probe(action: &TcpSocketAction, timeout: Duration) -> ProbeOutcome {
    let addr = host_port(&action.host, action.port);
    match tokio::time::timeout(
        timeout,
        TcpStream::connect((action.host.as_str(), action.port)),
    )
    .await
    {
        Ok(Ok(_stream)) => ProbeOutcome::Success,
        Ok(Err(e)) => ProbeOutcome::Failure(dial_error(&addr, &e)),
        Err(_) => ProbeOutcome::Failure(format!("dial tcp {addr}: i/o timeout")),
    }
}
