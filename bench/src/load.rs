//! The `put` and `range` load generators: N client tasks over M shared HTTP/2
//! connections, issuing requests until a total is reached.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::{PutRequest, RangeRequest};
use tonic::transport::{Channel, ClientTlsConfig};

use crate::cli::Target;
use crate::stats::{LoadReport, Summary};
use crate::{probe, BenchError};

/// Key length, as etcd's benchmark tool uses by default.
pub const KEY_SIZE: usize = 8;

/// What every request of a run does.
#[derive(Debug, Clone)]
pub enum Op {
    /// Put a random key out of `key_space` with a `val_size`-byte value.
    Put { val_size: usize, key_space: u64 },
    /// Range a single key (written before the run).
    Range {
        key: Vec<u8>,
        serializable: bool,
        val_size: usize,
    },
}

#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Normalized client URLs the connections go to.
    pub endpoints: Vec<String>,
    pub clients: usize,
    pub conns: usize,
    pub total: u64,
    pub op: Op,
    /// TLS towards `https://` endpoints (CA, and a client certificate for members with
    /// client-certificate authentication).
    pub tls: Option<ClientTlsConfig>,
}

/// The key etcd's benchmark tool writes for `n`: `binary.PutVarint` (zig-zag
/// varint) of `n` into an 8-byte, zero-padded buffer.
pub fn bench_key(n: u64) -> [u8; KEY_SIZE] {
    let mut out = [0u8; KEY_SIZE];
    let signed = n as i64;
    let mut ux = ((signed << 1) ^ (signed >> 63)) as u64;
    let mut i = 0;
    while ux >= 0x80 && i < KEY_SIZE - 1 {
        out[i] = (ux as u8) | 0x80;
        ux >>= 7;
        i += 1;
    }
    out[i] = ux as u8;
    out
}

/// Which endpoint each of `conns` connections dials: round-robin over the list.
pub fn connection_urls(endpoints: &[String], conns: usize) -> Vec<String> {
    if endpoints.is_empty() {
        return Vec::new();
    }
    (0..conns)
        .map(|j| endpoints[j % endpoints.len()].clone())
        .collect()
}

/// The endpoints a run uses: all of them, or only the current leader's.
pub async fn resolve_target(
    endpoints: &[String],
    target: Target,
    tls: Option<&ClientTlsConfig>,
) -> Result<Vec<String>, BenchError> {
    match target {
        Target::All => Ok(endpoints.to_vec()),
        Target::Leader => {
            let views = probe::views(endpoints, tls, Duration::from_secs(2)).await;
            let answered: Vec<usize> = (0..views.len()).filter(|&i| views[i].is_some()).collect();
            let i = probe::leader_index(&views, &answered).ok_or_else(|| {
                BenchError::Invalid(format!(
                    "--target leader: no agreed leader among the given endpoints (views {views:?}); \
                     list every member's endpoint"
                ))
            })?;
            Ok(vec![endpoints[i].clone()])
        }
    }
}

fn check(spec: &LoadSpec) -> Result<(), BenchError> {
    if spec.clients == 0 || spec.conns == 0 || spec.total == 0 {
        return Err(BenchError::Invalid(
            "--clients, --conns and --total must be at least 1".into(),
        ));
    }
    if let Op::Put { key_space: 0, .. } = spec.op {
        return Err(BenchError::Invalid("--key-space must be at least 1".into()));
    }
    if spec.endpoints.is_empty() {
        return Err(BenchError::Invalid("no endpoints".into()));
    }
    if spec.tls.is_none() {
        if let Some(url) = spec.endpoints.iter().find(|u| u.starts_with("https://")) {
            return Err(BenchError::Endpoint {
                url: url.clone(),
                reason: "https:// needs --cacert (the CA that signed the members' certificates)"
                    .into(),
            });
        }
    }
    Ok(())
}

fn random_value(size: usize) -> Vec<u8> {
    let mut v = vec![0u8; size];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

/// Runs the load and summarises it. Connections are established (and a range
/// key written) before the clock starts.
pub async fn run(spec: &LoadSpec) -> Result<LoadReport, BenchError> {
    check(spec)?;
    let conns = spec.conns.min(spec.clients);
    let mut channels: Vec<Channel> = Vec::with_capacity(conns);
    for url in connection_urls(&spec.endpoints, conns) {
        channels.push(probe::connect(&url, spec.tls.as_ref()).await?);
    }
    // One value for the whole run, as etcd's tool does: the cost measured is the
    // store's, not the random number generator's.
    let value = match &spec.op {
        Op::Put { val_size, .. } => random_value(*val_size),
        Op::Range { key, val_size, .. } => {
            let request = PutRequest {
                key: key.clone(),
                value: random_value(*val_size),
                ..Default::default()
            };
            KvClient::new(channels[0].clone())
                .put(request)
                .await
                .map_err(|s| BenchError::rpc("writing the key to range", s))?;
            Vec::new()
        }
    };
    let value = Arc::new(value);
    let issued = Arc::new(AtomicU64::new(0));
    let per_client = (spec.total / spec.clients as u64 + 1) as usize;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(spec.clients);
    for i in 0..spec.clients {
        let client = KvClient::new(channels[i % conns].clone());
        let worker = Worker {
            client,
            op: spec.op.clone(),
            value: Arc::clone(&value),
            issued: Arc::clone(&issued),
            total: spec.total,
            rng: StdRng::seed_from_u64(rand::random::<u64>() ^ i as u64),
            latencies: Vec::with_capacity(per_client),
        };
        tasks.push(tokio::spawn(worker.run()));
    }
    let mut latencies = Vec::with_capacity(spec.total as usize);
    let (mut errors, mut first_error) = (0u64, None);
    for task in tasks {
        let outcome = task
            .await
            .map_err(|e| BenchError::Invalid(format!("client task failed: {e}")))?;
        latencies.extend(outcome.latencies);
        errors += outcome.errors;
        if first_error.is_none() {
            first_error = outcome.first_error;
        }
    }
    let elapsed = start.elapsed();
    Ok(LoadReport {
        ok: latencies.len() as u64,
        errors,
        elapsed,
        latency: Summary::from_samples(latencies),
        first_error,
    })
}

struct Worker {
    client: KvClient<Channel>,
    op: Op,
    value: Arc<Vec<u8>>,
    issued: Arc<AtomicU64>,
    total: u64,
    rng: StdRng,
    latencies: Vec<Duration>,
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Worker {
    async fn run(mut self) -> Outcome {
        let (mut errors, mut first_error) = (0u64, None);
        // Every claimed slot counts towards --total, failed or not, so a broken
        // endpoint cannot make the run spin forever.
        while self.issued.fetch_add(1, Ordering::Relaxed) < self.total {
            let started = Instant::now();
            let result = self.once().await;
            match result {
                Ok(()) => self.latencies.push(started.elapsed()),
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        Outcome {
            latencies: self.latencies,
            errors,
            first_error,
        }
    }

    async fn once(&mut self) -> Result<(), String> {
        match &self.op {
            Op::Put { key_space, .. } => {
                let key = bench_key(self.rng.gen_range(0..*key_space)).to_vec();
                let request = PutRequest {
                    key,
                    value: self.value.as_ref().clone(),
                    ..Default::default()
                };
                self.client
                    .put(request)
                    .await
                    .map(|_| ())
                    .map_err(|s| format!("put: {s}"))
            }
            Op::Range {
                key, serializable, ..
            } => {
                let request = RangeRequest {
                    key: key.clone(),
                    serializable: *serializable,
                    ..Default::default()
                };
                let response = self
                    .client
                    .range(request)
                    .await
                    .map_err(|s| format!("range: {s}"))?;
                // A read that misses the key it was set up to find is wrong, not fast.
                if response.get_ref().kvs.len() == 1 {
                    Ok(())
                } else {
                    Err(format!(
                        "range: expected 1 key, got {}",
                        response.get_ref().kvs.len()
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_gos_put_varint() {
        // binary.PutVarint(buf, 0) = [0], 1 = [2], -1 would be [1], 64 = [0x80, 0x01].
        assert_eq!(bench_key(0), [0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bench_key(1), [2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bench_key(63), [126, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bench_key(64), [0x80, 0x01, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bench_key(99_999), [0xbe, 0x9a, 0x0c, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn distinct_numbers_give_distinct_keys() {
        let keys: std::collections::HashSet<_> = (0..100_000).map(bench_key).collect();
        assert_eq!(keys.len(), 100_000);
    }

    #[test]
    fn connections_round_robin_over_endpoints() {
        let eps: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(connection_urls(&eps, 5), ["a", "b", "c", "a", "b"]);
        assert_eq!(connection_urls(&eps[..1], 2), ["a", "a"]);
        assert!(connection_urls(&[], 3).is_empty());
    }

    #[test]
    fn bad_specs_are_refused() {
        let spec = |clients, conns, total, key_space| LoadSpec {
            endpoints: vec!["http://127.0.0.1:1".into()],
            clients,
            conns,
            total,
            op: Op::Put {
                val_size: 1,
                key_space,
            },
            tls: None,
        };
        assert!(check(&spec(0, 1, 1, 1)).is_err());
        assert!(check(&spec(1, 0, 1, 1)).is_err());
        assert!(check(&spec(1, 1, 0, 1)).is_err());
        assert!(check(&spec(1, 1, 1, 0)).is_err());
        assert!(check(&spec(1, 1, 1, 1)).is_ok());
        let mut https = spec(1, 1, 1, 1);
        https.endpoints = vec!["https://127.0.0.1:1".into()];
        let err = check(&https).unwrap_err().to_string();
        assert!(err.contains("--cacert"), "{err}");
    }
}
