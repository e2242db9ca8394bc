//! Resident memory (VmRSS) of the members of an idle cluster.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use skiff_proto::etcdserverpb::kv_client::KvClient;
use skiff_proto::etcdserverpb::PutRequest;

use crate::cli::Kind;
use crate::cluster::Cluster;
use crate::{probe, BenchError};

/// VmRSS in bytes from the text of /proc/PID/status.
pub fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next()? {
        "kB" => Some(value * 1024),
        _ => None,
    }
}

/// Resident memory of process `pid` in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text =
        std::fs::read_to_string(&path).map_err(|e| BenchError::io(format!("reading {path}"), e))?;
    parse_vmrss(&text).ok_or_else(|| BenchError::Invalid(format!("no VmRSS line in {path}")))
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// RSS of each member, by name.
#[derive(Debug, Clone)]
pub struct RssReport {
    pub members: Vec<(String, u64)>,
}

impl RssReport {
    pub fn max(&self) -> Option<u64> {
        self.members.iter().map(|(_, b)| *b).max()
    }

    pub fn mean(&self) -> Option<u64> {
        let n = self.members.len() as u64;
        (n > 0).then(|| self.members.iter().map(|(_, b)| *b).sum::<u64>() / n)
    }

    /// Reads every member's RSS now.
    pub fn measure(cluster: &Cluster) -> Result<RssReport, BenchError> {
        let members = (0..cluster.len())
            .map(|i| Ok((cluster.name(i).to_string(), cluster.rss_bytes(i)?)))
            .collect::<Result<Vec<_>, BenchError>>()?;
        Ok(RssReport { members })
    }
}

impl fmt::Display for RssReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, bytes) in &self.members {
            writeln!(f, "{name}: {:.1} MB", mb(*bytes))?;
        }
        Ok(())
    }
}

/// Writes a few keys through member 0 so the store is not pristine.
pub async fn write_a_few_keys(cluster: &Cluster, count: usize) -> Result<(), BenchError> {
    let urls = cluster.client_urls();
    let url = urls
        .first()
        .ok_or_else(|| BenchError::Invalid("empty cluster".into()))?;
    let mut kv = KvClient::new(probe::connect(url, None).await?);
    for i in 0..count {
        let request = PutRequest {
            key: format!("skiff-bench-rss/{i}").into_bytes(),
            value: vec![b'x'; 256],
            ..Default::default()
        };
        kv.put(request)
            .await
            .map_err(|s| BenchError::rpc("put before idling", s))?;
    }
    Ok(())
}

/// Starts a fresh 3-member cluster, writes a few keys, idles, then reads RSS.
pub async fn run(binary: &Path, kind: Kind, idle: Duration) -> Result<RssReport, BenchError> {
    let cluster = Cluster::start(binary, kind, 3, Duration::from_secs(30)).await?;
    write_a_few_keys(&cluster, 10).await?;
    tokio::time::sleep(idle).await;
    RssReport::measure(&cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss_is_read_in_kilobytes() {
        let status = "Name:\tetcd\nVmPeak:\t  900000 kB\nVmRSS:\t   28672 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(parse_vmrss(status), Some(28672 * 1024));
        assert_eq!(parse_vmrss("Name:\tx\n"), None);
        assert_eq!(parse_vmrss("VmRSS:\tlots kB\n"), None);
        assert!((mb(28672 * 1024) - 28.0).abs() < 1e-9);
    }

    #[test]
    fn own_rss_is_plausible() {
        let bytes = rss_bytes(std::process::id()).unwrap();
        assert!(bytes > 100 * 1024 && bytes < 4 << 30, "{bytes}");
    }

    #[test]
    fn max_and_mean() {
        let r = RssReport {
            members: vec![("a".into(), 10), ("b".into(), 30), ("c".into(), 20)],
        };
        assert_eq!((r.max(), r.mean()), (Some(30), Some(20)));
        assert_eq!(RssReport { members: vec![] }.mean(), None);
    }
}
