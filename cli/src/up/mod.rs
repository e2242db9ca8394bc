//! `skiff up`: a local cluster of real processes (3 store members, an apiserver, a controller-manager, a scheduler, N nodelets) on free loopback ports.
//!
//! # Layout of DIR (default `~/.skiff/local`)
//! - `state.json`: every component's command line, PID, start time and restart count, and
//!   the supervisor's PID (read by `skiff down`, `skiff status` and a second `skiff up`),
//!   changed only under the advisory lock `state.lock`.
//! - `tokens.csv`: the apiserver's token file (an admin token, one token per node).
//! - `config`: the client config for this cluster (also copied to `~/.skiff/config` when DIR
//!   is the default).
//! - `pki/`: the cluster CA and the apiserver's serving certificate (`ca.crt`, `ca.key`,
//!   `apiserver.crt`, `apiserver.key`; keys 0600), from `skiff_common::pki`.
//! - `kubeconfig`: kubectl's config for this cluster (context `skiff`, the admin token);
//!   `~/.kube/config` is never touched.
//! - `logs/<component>.log`, `logs/supervisor.log`, `data/<component>/`.
//!
//! `skiff up` starts the components, waits until they are healthy, and then starts the
//! supervisor ([`supervise`]), which starts again any component that exits.

pub mod backoff;
mod down;
mod existing;
mod health;
pub mod lock;
mod pki;
mod plan;
mod ports;
pub mod procs;
pub mod state;
pub mod supervise;

use skiff_common::pki_layout::{issue_cluster, PkiLayout};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use rand::Rng;

pub use down::down;
pub use health::{store_channel, store_status};
pub use pki::certs;

use crate::args::UpArgs;
use crate::config::{skiff_home, write_private, ClientFile};
use crate::ctx::{errln, outln};
use crate::error::CliError;
use lock::StateLock;
use plan::{node_names, plan, token_file, Secrets};
use state::ClusterState;

/// Components without which there is no cluster at all.
const REQUIRED: [&str; 2] = ["skiff-store", "skiff-apiserver"];

/// `~/.skiff/local`.
pub fn default_dir() -> Result<PathBuf, CliError> {
    Ok(skiff_home()?.join("local"))
}

/// The cluster directory, created and made absolute (the processes run with it as their
/// working directory and the state refers to it by absolute paths).
pub fn cluster_dir(dir: Option<&Path>) -> Result<(PathBuf, bool), CliError> {
    let default = default_dir()?;
    let wanted = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default.clone());
    std::fs::create_dir_all(&wanted)
        .map_err(|e| CliError::msg(format!("cannot create {}: {e}", wanted.display())))?;
    let absolute = std::fs::canonicalize(&wanted)
        .map_err(|e| CliError::msg(format!("cannot resolve {}: {e}", wanted.display())))?;
    let is_default = std::fs::canonicalize(&default).is_ok_and(|d| d == absolute);
    Ok((absolute, is_default))
}

fn hex_token() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_cluster(
    dir: &Path,
    nodes: usize,
    sandbox: &str,
    insecure: bool,
) -> Result<ClusterState, CliError> {
    let sandboxed = match sandbox {
        "none" => false,
        "namespaces" => true,
        _ => rustix::process::geteuid().is_root(),
    };
    // A sandboxed cluster's range must not be another's on this host: its first bridge
    // would then exist.
    let mut pod_net_base = ports::pod_net_base(nodes);
    for _ in 0..64 {
        let taken = std::path::Path::new("/sys/class/net")
            .join(plan::bridge_name(pod_net_base, 0))
            .exists();
        if !sandboxed || !taken {
            break;
        }
        pod_net_base = ports::pod_net_base(nodes);
    }
    let secrets = Secrets {
        admin_token: hex_token(),
        node_tokens: (0..nodes).map(|_| hex_token()).collect(),
        pod_net_base,
        sandboxed,
    };
    let mut ports = ports::Allocator::default();
    // The CA and every certificate, valid a year, keys 0600 under DIR/pki.
    let pki = if insecure {
        None
    } else {
        let pki = PkiLayout::new(&dir.join("pki"));
        let members: Vec<String> = (1..=plan::STORE_MEMBERS).map(|i| format!("s{i}")).collect();
        issue_cluster(&pki, &members, &node_names(nodes), &[])
            .map_err(|e| CliError::msg(format!("making the cluster's certificates: {e}")))?;
        Some(pki)
    };
    let state = plan(dir, nodes, &secrets, pki.as_ref(), || ports.next());
    ports.finish()?;
    write_private(
        &dir.join("tokens.csv"),
        &token_file(&node_names(nodes), &secrets),
    )?;
    Ok(state)
}

/// The last lines of a log, for an error message.
fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub async fn up(args: &UpArgs) -> Result<(), CliError> {
    let (dir, is_default) = cluster_dir(args.dir.as_deref())?;
    let bin_dir = procs::binary_dir()?;
    // One `skiff up` or `skiff down` at a time per cluster; the supervisor waits too.
    let _lock = StateLock::acquire(&dir, || {
        errln(&format!(
            "waiting for another skiff command working on {}...",
            dir.display()
        ))
    })?;
    let mut state = match ClusterState::load(&dir)? {
        Some(existing) => match existing::resume(existing, is_default, args.nodes)? {
            Some(stopped) => stopped,
            None => return Ok(()),
        },
        None => new_cluster(&dir, args.nodes, &args.sandbox, args.insecure)?,
    };
    // Every binary is looked up before anything starts.
    let mut skipped = Vec::new();
    for c in &mut state.components {
        let path = bin_dir.join(&c.program);
        if path.is_file() {
            c.path = Some(path);
        } else if REQUIRED.contains(&c.program.as_str()) {
            return Err(CliError::msg(format!(
                "{} not found in {}: build the component binaries with `cargo build --bins` (`cargo build --release --bins` for target/release)",
                c.program,
                bin_dir.display()
            )));
        } else {
            c.path = None;
            skipped.push(c.program.clone());
        }
    }
    skipped.dedup();
    for program in &skipped {
        errln(&format!(
            "warning: {program} not found in {}: starting the cluster without it (build it with `cargo build --bins`)",
            bin_dir.display()
        ));
    }
    outln(&format!("Starting a skiff cluster in {}", dir.display()));
    let mut starter = Starter {
        state,
        children: BTreeMap::new(),
        deadline: Instant::now() + args.timeout,
        timeout: args.timeout,
    };
    match starter.start_all().await {
        Ok(()) => {}
        Err(e) => {
            starter.abort();
            return Err(e);
        }
    }
    if let Err(e) = starter.start_supervisor() {
        starter.abort();
        return Err(e);
    }
    let state = starter.state;
    write_client_config(&state, is_default)?;
    print_summary(&state, is_default, &skipped);
    Ok(())
}

/// Starts components in order and waits for them; remembers every child so a failure can stop
/// what was started.
struct Starter {
    state: ClusterState,
    children: BTreeMap<String, Child>,
    deadline: Instant,
    timeout: Duration,
}

impl Starter {
    async fn start_all(&mut self) -> Result<(), CliError> {
        let phases: [&[&str]; 3] = [
            &["skiff-store"],
            &["skiff-apiserver"],
            &[
                "skiff-controller-manager",
                "skiff-scheduler",
                "skiff-nodelet",
            ],
        ];
        for programs in phases {
            let names = self.start(programs)?;
            self.wait(&names).await?;
        }
        Ok(())
    }

    fn start(&mut self, programs: &[&str]) -> Result<Vec<String>, CliError> {
        let mut names = Vec::new();
        for i in 0..self.state.components.len() {
            let c = self.state.components[i].clone();
            let Some(path) = c.path.clone() else { continue };
            if !programs.contains(&c.program.as_str()) {
                continue;
            }
            let child = procs::spawn(&c, &path, &self.state.dir)?;
            let pid = child.id();
            let start_time = procs::proc_info(pid).map(|i| i.start_time);
            self.children.insert(c.name.clone(), child);
            let slot = &mut self.state.components[i];
            slot.pid = Some(pid);
            slot.start_time = start_time;
            self.state.save()?;
            names.push(c.name.clone());
        }
        Ok(names)
    }

    /// The supervisor, last: it restarts components that exit, so it must not see the ones
    /// still starting (`skiff up` itself reports a component that fails to start).
    fn start_supervisor(&mut self) -> Result<(), CliError> {
        let record = supervise::start(&self.state.dir)?;
        self.state.supervisor = Some(record);
        self.state.save()
    }

    async fn wait(&mut self, names: &[String]) -> Result<(), CliError> {
        let pki = self.state.pki_layout();
        let client = health::admin_client(
            &self.state.apiservers,
            &self.state.admin_token,
            self.state.ca_pem(),
        )
        .map_err(CliError::msg)?;
        let mut pending: Vec<String> = names.to_vec();
        let mut why: BTreeMap<String, String> = BTreeMap::new();
        while !pending.is_empty() {
            for name in pending.clone() {
                let Some(c) = self
                    .state
                    .components
                    .iter()
                    .find(|c| c.name == name)
                    .cloned()
                else {
                    continue;
                };
                if let Some(child) = self.children.get_mut(&name) {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(CliError::msg(format!(
                            "{} ({}) exited with {status} while starting; the end of {}:\n{}",
                            c.name,
                            c.program,
                            c.log.display(),
                            log_tail(&c.log, 15)
                        )));
                    }
                }
                match health::check(&c.health, &client, &self.state.admin_token, pki.as_ref()).await
                {
                    Ok(()) => {
                        pending.retain(|n| n != &name);
                        outln(&format!(
                            "  {:<22} ready (pid {})",
                            c.name,
                            c.pid.unwrap_or_default()
                        ));
                    }
                    Err(e) => {
                        why.insert(name.clone(), e);
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
            if Instant::now() >= self.deadline {
                let waiting: Vec<String> = pending
                    .iter()
                    .map(|n| {
                        format!(
                            "{n} ({})",
                            why.get(n).map(String::as_str).unwrap_or("no answer")
                        )
                    })
                    .collect();
                return Err(CliError::msg(format!(
                    "timed out after {:?} waiting for {}; logs are in {}",
                    self.timeout,
                    waiting.join(", "),
                    self.state.dir.join("logs").display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Stops everything started so far (a failed `skiff up` leaves nothing running).
    fn abort(&mut self) {
        let mut started: Vec<(u32, u64)> = self
            .state
            .components
            .iter()
            .filter(|c| procs::is_running(c))
            .filter_map(|c| Some((c.pid?, c.start_time?)))
            .collect();
        started.extend(
            self.state
                .supervisor
                .filter(procs::supervisor_running)
                .map(|s| (s.pid, s.start_time)),
        );
        let sessions: Vec<i32> = started
            .iter()
            .filter_map(|(p, _)| i32::try_from(*p).ok())
            .collect();
        procs::terminate(&started, Duration::from_secs(5));
        let left = procs::leftovers(&self.state.dir.join("data"), &sessions);
        procs::terminate(&left, Duration::from_secs(2));
        for child in self.children.values_mut() {
            let _ = child.try_wait();
        }
        self.state.clear_processes();
        let _ = self.state.save();
        errln("skiff up failed; every process it started was stopped.");
    }
}

fn write_client_config(state: &ClusterState, is_default: bool) -> Result<(), CliError> {
    let file = ClientFile {
        apiservers: state.apiservers.clone(),
        token: Some(state.admin_token.clone()),
        namespace: None,
        stores: state.stores.clone(),
        cluster_dir: Some(state.dir.clone()),
        pki_dir: None,
        certificate_authority: state.pki_layout().map(|p| p.ca_cert()),
        certificate_authority_data: None,
    };
    file.save(&state.dir.join("config"))?;
    if is_default {
        file.save(&skiff_home()?.join("config"))?;
    }
    pki::write_kubeconfig(state)?;
    Ok(())
}

fn print_summary(state: &ClusterState, is_default: bool, skipped: &[String]) {
    let mut text = format!("\nThe skiff cluster is up in {}:\n", state.dir.display());
    for c in &state.components {
        let pid = c
            .pid
            .map(|p| format!("pid {p}"))
            .unwrap_or_else(|| "not started".to_string());
        text.push_str(&format!("  {:<22} {pid}\n", c.name));
    }
    if let Some(supervisor) = &state.supervisor {
        text.push_str(&format!(
            "  {:<22} pid {} (starts again any process that exits)\n",
            "supervisor", supervisor.pid
        ));
    }
    text.push_str(&format!(
        "  apiserver at {}, nodes: {} ({} labelled disk=ssd)\n",
        state.apiservers.join(","),
        state.nodes.join(", "),
        state.nodes.first().map(String::as_str).unwrap_or("none"),
    ));
    if !skipped.is_empty() {
        text.push_str(&format!(
            "  not started (not built): {}\n",
            skipped.join(", ")
        ));
    }
    text.push_str(&format!(
        "Logs are in {}\n",
        state.dir.join("logs").display()
    ));
    let config = state.dir.join("config");
    if is_default {
        text.push_str(&format!(
            "The client config is {} (also ~/.skiff/config, which skiff reads by default).\n",
            config.display()
        ));
    } else {
        text.push_str(&format!(
            "The client config is {}: use it with `export SKIFF_CONFIG={}` or `skiff --config {} ...`.\n",
            config.display(),
            config.display(),
            config.display()
        ));
    }
    if !state.https_apiservers.is_empty() {
        text.push_str(&format!(
            "kubectl works too (Kubernetes REST API at {}):\n  export KUBECONFIG={}\n",
            state.https_apiservers.join(","),
            pki::kubeconfig_path(&state.dir).display()
        ));
    }
    let down = if is_default {
        String::new()
    } else {
        format!(" --dir {}", state.dir.display())
    };
    text.push_str(&format!(
        "\nTry:\n  skiff get nodes\n  skiff create -f fixtures/seed/rc-crane.yaml\n  skiff get pods -o wide\n  skiff status\nStop it with: skiff down{down}\n"
    ));
    outln(text.trim_end());
}
