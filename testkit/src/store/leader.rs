//! Who leads a store cluster, as its members say through Maintenance.Status.

use std::time::Duration;

use skiff_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use skiff_proto::etcdserverpb::{StatusRequest, StatusResponse};
use tonic::transport::{ClientTlsConfig, Endpoint};

/// One member's answer: who it is and whom it follows (0: nobody).
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

/// Maintenance.Status of the member at `url` (over `tls` when given), or `None` when it
/// does not answer within `limit`.
pub async fn status(
    url: &str,
    tls: Option<&ClientTlsConfig>,
    limit: Duration,
) -> Option<StatusResponse> {
    let call = async {
        let endpoint = Endpoint::from_shared(url.to_string()).ok()?;
        let channel = skiff_common::tls::with_tls(endpoint, tls)
            .ok()?
            .tcp_nodelay(true)
            .connect_timeout(limit)
            .timeout(limit)
            .connect()
            .await
            .ok()?;
        MaintenanceClient::new(channel)
            .status(StatusRequest {})
            .await
            .ok()
            .map(tonic::Response::into_inner)
    };
    tokio::time::timeout(limit, call).await.ok().flatten()
}

/// Every member's view, asked in parallel (`None` for a member that did not answer).
pub async fn views(
    urls: &[String],
    tls: Option<&ClientTlsConfig>,
    limit: Duration,
) -> Vec<Option<View>> {
    let handles: Vec<_> = urls
        .iter()
        .cloned()
        .map(|u| {
            let tls = tls.cloned();
            tokio::spawn(async move { status(&u, tls.as_ref(), limit).await.map(|s| View::of(&s)) })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.ok().flatten());
    }
    out
}

/// The index of the leader when every member in `required` answered and names the same
/// leader, and that leader answered too.
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
