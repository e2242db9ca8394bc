//! Store clusters of real skiff-store processes on free loopback ports, started through
//! `skiff_testkit` and killed by PID when the test ends, even when it fails; and the KV
//! calls the scenarios share.

use std::path::Path;

use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::{PutRequest, RangeRequest};
use skiff_testkit::store::{StoreCluster, StoreSpec};
use tonic::transport::Channel;

pub use skiff_testkit::step;

/// A free loopback port outside the kernel's ephemeral range (see `skiff_common::ports`).
pub fn free_port() -> u16 {
    skiff_testkit::free_port().expect("a free loopback port")
}

/// `members` members of this build's skiff-store with `extra_args`, once they agree on a
/// leader.
pub async fn start(members: usize, extra_args: &[&str]) -> StoreCluster {
    let binary = Path::new(env!("CARGO_BIN_EXE_skiff-store"));
    StoreCluster::start(&StoreSpec::of(binary, members).args(extra_args)).await
}

/// The members as the raft transport knows them: id (derived from the peer URL and the
/// default cluster token), name and peer URL.
pub fn peers(cluster: &StoreCluster) -> Vec<skiff_store::config::Peer> {
    cluster
        .members()
        .iter()
        .map(|m| {
            let url = format!("http://127.0.0.1:{}", m.peer_port);
            skiff_store::config::Peer {
                id: skiff_store::config::member_id(&url, "skiff-cluster"),
                name: m.name.clone(),
                url,
            }
        })
        .collect()
}

/// A lazily connected channel to a member's URL.
pub async fn channel(url: &str) -> Channel {
    skiff_testkit::store::channel(url)
}

pub async fn put(kv: &mut KvClient<Channel>, key: &str, value: &str) -> Result<i64, tonic::Status> {
    let resp = kv
        .put(PutRequest {
            key: key.into(),
            value: value.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(resp.header.map_or(0, |h| h.revision))
}

/// The value of `key` read locally (serializable) from member `i`'s view.
pub async fn get_local(kv: &mut KvClient<Channel>, key: &str) -> Option<Vec<u8>> {
    read_local(kv, key).await.ok()
}

/// A serializable read of `key` on the member `kv` talks to: its value, or what went wrong
/// (an error answer told apart from a missing key).
pub async fn read_local(kv: &mut KvClient<Channel>, key: &str) -> Result<Vec<u8>, String> {
    let resp = kv
        .range(RangeRequest {
            key: key.into(),
            serializable: true,
            ..Default::default()
        })
        .await
        .map_err(|status| format!("error answer: {status}"))?
        .into_inner();
    match resp.kvs.into_iter().next() {
        Some(kv) => Ok(kv.value),
        None => Err(format!(
            "no such key at revision {:?}",
            resp.header.map(|h| h.revision)
        )),
    }
}

pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
