//! Pod creates at N concurrent clients through the REST API (HTTPS, JSON, bearer token) and
//! through the gRPC API of the same apiserver, in alternating rounds so that the machine's
//! other work and the growing store weigh on both alike.

use skiff_proto::skiffapi::CreateRequest;

use super::drive::{drive, Batch};
use super::http::Rest;
use super::{Endpoints, RestBenchError};
use crate::apiserver::load::{connect, ensure_namespace, pod};

/// Both sides' creates.
#[derive(Debug, Clone)]
pub struct CreateComparison {
    pub clients: usize,
    pub rounds: usize,
    pub rest: Batch,
    pub grpc: Batch,
}

/// `total` creates per side at `clients` concurrent clients, in `rounds` alternating rounds
/// (gRPC first in odd rounds, REST first in even ones).
pub async fn compare(
    at: &Endpoints,
    ns: &str,
    clients: usize,
    total: usize,
    rounds: usize,
) -> Result<CreateComparison, RestBenchError> {
    ensure_namespace(&mut connect(&at.grpc).await?, ns).await?;
    let rounds = rounds.max(1);
    let (mut rest, mut grpc) = (Batch::default(), Batch::default());
    for round in 0..rounds {
        let share = total / rounds + usize::from(round < total % rounds);
        let first = total / rounds * round + round.min(total % rounds);
        if round % 2 == 0 {
            grpc.absorb(grpc_creates(at, ns, clients, first, share).await?);
            rest.absorb(rest_creates(at, ns, clients, first, share)?.await);
        } else {
            rest.absorb(rest_creates(at, ns, clients, first, share)?.await);
            grpc.absorb(grpc_creates(at, ns, clients, first, share).await?);
        }
    }
    Ok(CreateComparison {
        clients,
        rounds,
        rest,
        grpc,
    })
}

async fn grpc_creates(
    at: &Endpoints,
    ns: &str,
    clients: usize,
    first: usize,
    total: usize,
) -> Result<Batch, RestBenchError> {
    let mut conns = Vec::new();
    for _ in 0..clients.max(1) {
        conns.push(connect(&at.grpc).await?);
    }
    let ns = ns.to_string();
    Ok(drive(conns, first, total, move |mut c, i| {
        let req = CreateRequest {
            resource: "pods".into(),
            namespace: ns.clone(),
            object: pod(&format!("grpc-{i}")),
        };
        async move {
            c.create(req)
                .await
                .map(drop)
                .map_err(|s| format!("gRPC create: {s}"))
        }
    })
    .await)
}

fn rest_creates(
    at: &Endpoints,
    ns: &str,
    clients: usize,
    first: usize,
    total: usize,
) -> Result<impl std::future::Future<Output = Batch>, RestBenchError> {
    // One client (and so one pool of connections) per task, as gRPC's one channel per task.
    let mut conns = Vec::new();
    for _ in 0..clients.max(1) {
        conns.push(at.rest()?);
    }
    let path = format!("/api/v1/namespaces/{ns}/pods");
    Ok(drive(conns, first, total, move |c: Rest, i| {
        let path = path.clone();
        async move { c.create(&path, pod(&format!("rest-{i}"))).await }
    }))
}
