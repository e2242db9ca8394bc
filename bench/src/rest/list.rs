//! Listing N pods as kubectl's `get pods` does (REST, a server-side Table) against the gRPC
//! list `skiff get pods` makes (then decoded and turned into the same rows client-side), and
//! the plain REST JSON list client libraries and informers ask for (decoded).

use std::time::Instant;

use prost::Message;
use serde_json::Value;
use skiff_proto::skiffapi::{CreateRequest, ListRequest};

use super::drive::drive;
use super::http::TABLE_ACCEPT;
use super::{Endpoints, RestBenchError};
use crate::apiserver::load::{connect, ensure_namespace, pod};
use crate::apiserver::Latency;

/// Time per call and bytes per reply, each side.
#[derive(Debug, Clone)]
pub struct ListComparison {
    pub pods: usize,
    pub calls: usize,
    pub rest: Latency,
    pub rest_bytes: usize,
    pub grpc: Latency,
    pub grpc_bytes: usize,
    /// The REST list as JSON (`Accept: application/json`), decoded.
    pub json: Latency,
    pub json_bytes: usize,
}

/// Fills namespace `ns` with `pods` pods (50 concurrent gRPC clients), then alternates
/// `calls` REST Table lists, `calls` gRPC lists and `calls` REST JSON lists; every reply must
/// hold every pod.
pub async fn compare(
    at: &Endpoints,
    ns: &str,
    pods: usize,
    calls: usize,
) -> Result<ListComparison, RestBenchError> {
    let mut admin = connect(&at.grpc).await?;
    ensure_namespace(&mut admin, ns).await?;
    let mut conns = Vec::new();
    for _ in 0..50.min(pods.max(1)) {
        conns.push(connect(&at.grpc).await?);
    }
    let owned = ns.to_string();
    let filled = drive(conns, 0, pods, move |mut c, i| {
        let req = CreateRequest {
            resource: "pods".into(),
            namespace: owned.clone(),
            object: pod(&format!("list-{i}")),
        };
        async move {
            c.create(req)
                .await
                .map(drop)
                .map_err(|s| format!("gRPC create: {s}"))
        }
    })
    .await;
    if let Some(e) = filled.first_error {
        return Err(RestBenchError::Setup(format!(
            "creating the {pods} pods to list: {} failed, first: {e}",
            filled.errors
        )));
    }
    let rest = at.rest()?;
    let path = format!("/api/v1/namespaces/{ns}/pods");
    let (mut rest_times, mut grpc_times, mut json_times) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rest_bytes, mut grpc_bytes, mut json_bytes) = (0, 0, 0);
    for _ in 0..calls.max(1) {
        let t = Instant::now();
        let (bytes, table) = rest
            .get_json(&path, TABLE_ACCEPT)
            .await
            .map_err(RestBenchError::Setup)?;
        rest_times.push(t.elapsed());
        check_rows("the REST Table", &table, pods)?;
        rest_bytes = bytes;

        let t = Instant::now();
        let req = ListRequest {
            resource: "pods".into(),
            namespace: ns.into(),
            ..Default::default()
        };
        let reply = admin.list(req).await?.into_inner();
        let items: Vec<Value> = serde_json::from_slice(&reply.items).map_err(|e| {
            RestBenchError::Setup(format!("the gRPC list's items are not JSON: {e}"))
        })?;
        let table = skiff_api::table::to_table("Pod", &items, false);
        grpc_times.push(t.elapsed());
        check_rows("the gRPC list's table", &table, pods)?;
        grpc_bytes = reply.encoded_len();

        let t = Instant::now();
        let (bytes, list) = rest
            .get_json(&path, "application/json")
            .await
            .map_err(RestBenchError::Setup)?;
        json_times.push(t.elapsed());
        let items = list["items"].as_array().map_or(0, Vec::len);
        if items != pods {
            return Err(RestBenchError::Setup(format!(
                "the REST JSON list has {items} items, expected {pods}"
            )));
        }
        json_bytes = bytes;
    }
    Ok(ListComparison {
        pods,
        calls: calls.max(1),
        rest: Latency::of(rest_times),
        rest_bytes,
        grpc: Latency::of(grpc_times),
        grpc_bytes,
        json: Latency::of(json_times),
        json_bytes,
    })
}

/// A listing that misses pods is wrong, not fast.
fn check_rows(what: &str, table: &Value, pods: usize) -> Result<(), RestBenchError> {
    let rows = table["rows"].as_array().map_or(0, Vec::len);
    if table["kind"] != "Table" || rows != pods {
        return Err(RestBenchError::Setup(format!(
            "{what} has {rows} rows (kind {}), expected {pods}",
            table["kind"]
        )));
    }
    Ok(())
}
