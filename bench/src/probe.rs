//! Talking to members: connections, Maintenance.Status and leader discovery.

use std::time::{Duration, Instant};

use skiff_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use skiff_proto::etcdserverpb::{StatusRequest, StatusResponse};
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

/// Maintenance.Status of one member, bounded by `limit` including the dial.
pub async fn status(url: &str, limit: Duration) -> Result<StatusResponse, BenchError> {
    let call = async {
        let channel = connect(url).await?;
        let mut request = tonic::Request::new(StatusRequest {});
        request.set_timeout(limit);
        MaintenanceClient::new(channel)
            .status(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| BenchError::rpc(format!("Status on {url}"), s))
    };
    tokio::time::timeout(limit, call)
        .await
        .map_err(|_| BenchError::timeout(format!("Status on {url}"), limit))?
}

/// What leader discovery needs from one member's Status: its own id and the
/// leader it follows (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub member_id: u64,
    pub leader: u64,
}

impl View {
    pub fn of(status: &StatusResponse) -> View {
        View {
            member_id: status.header.as_ref().map_or(0, |h| h.member_id),
            leader: status.leader,
        }
    }
}

/// Index of the leader when every member in `required` answered and names the
/// same leader, and that leader is one of the members that answered.
pub fn leader_index(views: &[Option<View>], required: &[usize]) -> Option<usize> {
    let mut agreed = None;
    for &i in required {
        let view = (*views.get(i)?)?;
        if view.leader == 0 || agreed.is_some_and(|l| l != view.leader) {
            return None;
        }
        agreed = Some(view.leader);
    }
    let leader = agreed?;
    views
        .iter()
        .position(|v| v.is_some_and(|v| v.member_id == leader))
}

/// Status of every member at once; `None` where a member did not answer.
pub async fn views(urls: &[String], limit: Duration) -> Vec<Option<View>> {
    let handles: Vec<_> = urls
        .iter()
        .cloned()
        .map(|u| tokio::spawn(async move { status(&u, limit).await.ok().map(|s| View::of(&s)) }))
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.ok().flatten());
    }
    out
}

/// Waits until the members in `required` agree on a leader; returns its index.
pub async fn wait_for_leader(
    urls: &[String],
    required: &[usize],
    limit: Duration,
) -> Result<usize, BenchError> {
    let deadline = Instant::now() + limit;
    loop {
        let views = views(urls, Duration::from_millis(500)).await;
        if let Some(i) = leader_index(&views, required) {
            return Ok(i);
        }
        if Instant::now() >= deadline {
            return Err(BenchError::timeout(
                format!("a leader among {urls:?} (last views {views:?})"),
                limit,
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(member_id: u64, leader: u64) -> Option<View> {
        Some(View { member_id, leader })
    }

    #[test]
    fn leader_found_when_all_required_agree() {
        let views = [v(11, 22), v(22, 22), v(33, 22)];
        assert_eq!(leader_index(&views, &[0, 1, 2]), Some(1));
        // Only the survivors need to agree.
        let views = [None, v(22, 33), v(33, 33)];
        assert_eq!(leader_index(&views, &[1, 2]), Some(2));
    }

    #[test]
    fn no_leader_on_disagreement_silence_or_election() {
        assert_eq!(
            leader_index(&[v(11, 22), v(22, 33), v(33, 33)], &[0, 1, 2]),
            None
        );
        assert_eq!(
            leader_index(&[None, v(22, 22), v(33, 22)], &[0, 1, 2]),
            None
        );
        assert_eq!(
            leader_index(&[v(11, 0), v(22, 0), v(33, 0)], &[0, 1, 2]),
            None
        );
        // The named leader did not answer (it was just killed): not a usable leader.
        assert_eq!(leader_index(&[None, v(22, 11), v(33, 11)], &[1, 2]), None);
        assert_eq!(leader_index(&[v(11, 11)], &[]), None);
    }
}
