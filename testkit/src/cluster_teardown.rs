//! How a test cluster ends: its logs on failure, then every process, container and
//! sandbox it made, even when the test panicked.

use super::TestCluster;

/// Lines of each component's log a failing test prints (all of them with `SKIFF_E2E_LOGS`).
const FAILURE_LOG_LINES: usize = 40;

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let whole = std::env::var_os("SKIFF_E2E_LOGS").is_some();
            self.dump_logs((!whole).then_some(FAILURE_LOG_LINES));
        }
        self.stop_all();
    }
}

impl TestCluster {
    /// The end of every component's log (`lines` lines each, all of it for `None`), for a
    /// failing test's output.
    pub fn dump_logs(&self, lines: Option<usize>) {
        for name in self.components() {
            let text = self.proc_ref(&name).log_text();
            let all: Vec<&str> = text.lines().collect();
            let from = lines.map_or(0, |n| all.len().saturating_sub(n));
            eprintln!(
                "----- {name} (lines {}..{} of its log) -----\n{}",
                from + 1,
                all.len(),
                all[from..].join("\n")
            );
        }
    }

    /// The sandboxed cluster's pod network, to list what it left behind.
    pub fn sandbox_net(&self) -> Option<crate::sandbox_net::SandboxNet> {
        self.sandbox_net
    }

    /// Kills every process, the nodes' containers, and removes what their sandboxes made
    /// (as a drop does; a test calls it to check the cleanup).
    pub fn stop_all(&mut self) {
        for proc in self.procs.values_mut() {
            proc.kill();
        }
        // Containers outlive their nodelet (their supervisors run in sessions of their own).
        for data_dir in self.nodelet_data.values() {
            crate::containers::kill_all(data_dir);
        }
        // Then what sandboxes leave in the kernel: pause processes, veths, bridges, cgroups.
        if self.sandbox_net.is_some() {
            for data_dir in self.nodelet_data.values() {
                crate::sandbox_net::teardown(data_dir);
            }
        }
    }
}
