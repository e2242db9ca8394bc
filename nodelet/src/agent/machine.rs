//! Facts about the machine the Node reports: CPUs, memory and `status.nodeInfo`.

use skiff_api::quantity::Quantity;
use skiff_api::types::NodeSystemInfo;

/// The machine's CPUs as a quantity (`4`).
pub fn cpu_capacity() -> Quantity {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Quantity(cpus.to_string())
}

/// The machine's memory as a quantity in KiB (`16318976Ki`), as the kubelet reports it;
/// `None` when `/proc/meminfo` cannot be read.
pub fn memory_capacity() -> Option<Quantity> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_total(&meminfo).map(|kib| Quantity(format!("{kib}Ki")))
}

fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Go's name for this architecture (`amd64`, `arm64`), which Kubernetes reports.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `PRETTY_NAME` from os-release text.
fn pretty_name(os_release: &str) -> Option<String> {
    let line = os_release.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    Some(line["PRETTY_NAME=".len()..].trim_matches('"').to_string())
}

/// `status.nodeInfo`; `runtime` names the container backend (`process` or `fake`).
pub fn node_info(runtime: &str) -> NodeSystemInfo {
    let version = env!("CARGO_PKG_VERSION");
    NodeSystemInfo {
        machine_id: read_trimmed("/etc/machine-id"),
        system_uuid: String::new(),
        boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
        kernel_version: read_trimmed("/proc/sys/kernel/osrelease"),
        os_image: std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| pretty_name(&s))
            .unwrap_or_else(|| "Linux".to_string()),
        container_runtime_version: format!("skiff-{runtime}://{version}"),
        kubelet_version: format!("skiff-{version}"),
        kube_proxy_version: String::new(),
        operating_system: std::env::consts::OS.to_string(),
        architecture: go_arch().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_machine_facts() {
        assert_eq!(
            parse_mem_total("MemTotal:       16318976 kB\nMemFree: 1 kB\n"),
            Some(16318976)
        );
        assert_eq!(parse_mem_total("nothing"), None);
        assert_eq!(
            pretty_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n").as_deref(),
            Some("Debian GNU/Linux 12")
        );
        assert!(cpu_capacity().parse_cpu_millis().unwrap() >= 1000);
        assert!(memory_capacity().unwrap().parse_bytes().unwrap() > 0);
        let info = node_info("process");
        assert!(info.kubelet_version.starts_with("skiff-"));
        assert_eq!(info.operating_system, "linux");
        assert!(!info.architecture.is_empty());
    }
}
