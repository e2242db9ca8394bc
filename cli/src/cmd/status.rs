//! `skiff status`: store members (role, leader, raft term and index, database size and
//! alarms, via the etcd Maintenance API), apiservers, which controller-manager and scheduler hold their lease, nodes, and the processes of a `skiff up` cluster.

use std::collections::BTreeMap;

use chrono::Utc;
use skiff_api::types::{Lease, Node};
use skiff_client::ListOptions;
use skiff_proto::etcdserverpb::cluster_client::ClusterClient;
use skiff_proto::etcdserverpb::MemberListRequest;

use crate::args::StatusArgs;
use crate::ctx::{out, Ctx};
use crate::error::CliError;
use crate::output::age::human_duration;
use crate::output::tabwriter::TABLE;
use crate::table::cluster::node_status;
use crate::up::state::ClusterState;
use crate::up::{procs, store_channel, store_status};
use skiff_common::pki_layout::PkiLayout;

fn table(rows: Vec<Vec<String>>) -> String {
    let text: String = rows.into_iter().map(|r| r.join("\t") + "\n").collect();
    TABLE.format(&text)
}

fn s(v: &str) -> String {
    v.to_string()
}

/// Bytes as etcdctl's endpoint status prints them (`1.2 MB`: powers of 1000).
pub(crate) fn human_bytes(bytes: i64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "kB", "MB", "GB"] {
        if value < 1000.0 || unit == "GB" {
            return if unit == "B" {
                format!("{bytes} B")
            } else {
                format!("{value:.1} {unit}")
            };
        }
        value /= 1000.0;
    }
    format!("{bytes} B")
}

/// Member id -> name, from whichever member answers MemberList.
pub(crate) async fn member_names(
    endpoints: &[String],
    pki: Option<&PkiLayout>,
) -> BTreeMap<u64, String> {
    for endpoint in endpoints {
        let call = async {
            let mut client = ClusterClient::new(store_channel(endpoint, pki).await.ok()?);
            client
                .member_list(MemberListRequest {
                    linearizable: false,
                })
                .await
                .ok()
        };
        if let Ok(Some(reply)) = tokio::time::timeout(std::time::Duration::from_secs(2), call).await
        {
            return reply
                .into_inner()
                .members
                .into_iter()
                .map(|m| (m.id, m.name))
                .collect();
        }
    }
    BTreeMap::new()
}

async fn stores(endpoints: &[String], pki: Option<&PkiLayout>, healthy: &mut bool) -> String {
    let names = member_names(endpoints, pki).await;
    let mut rows = vec![[
        "STORE MEMBER",
        "ENDPOINT",
        "HEALTH",
        "LEADER",
        "RAFT TERM",
        "RAFT INDEX",
        "APPLIED INDEX",
        "ROLE",
        "DB SIZE",
        "IN USE",
    ]
    .map(s)
    .to_vec()];
    let mut leaders = Vec::new();
    for endpoint in endpoints {
        match store_status(endpoint, pki).await {
            Ok(status) => {
                let id = status
                    .header
                    .as_ref()
                    .map(|h| h.member_id)
                    .unwrap_or_default();
                let name = names.get(&id).cloned().unwrap_or_else(|| format!("{id:x}"));
                let leader = status.leader != 0 && status.leader == id;
                if status.leader == 0 {
                    *healthy = false;
                } else {
                    leaders.push(status.leader);
                }
                rows.push(vec![
                    name,
                    endpoint.clone(),
                    if status.errors.is_empty() {
                        s("ok")
                    } else {
                        status.errors.join("; ")
                    },
                    s(if leader { "yes" } else { "no" }),
                    status.raft_term.to_string(),
                    status.raft_index.to_string(),
                    status.raft_applied_index.to_string(),
                    s(if status.is_learner {
                        "learner"
                    } else {
                        "voter"
                    }),
                    human_bytes(status.db_size),
                    human_bytes(status.db_size_in_use),
                ]);
            }
            Err(e) => {
                *healthy = false;
                rows.push(vec![
                    s("?"),
                    endpoint.clone(),
                    format!("down: {e}"),
                    s("-"),
                    s("-"),
                    s("-"),
                    s("-"),
                    s("-"),
                    s("-"),
                    s("-"),
                ]);
            }
        }
    }
    leaders.dedup();
    if leaders.len() > 1 {
        *healthy = false;
    }
    table(rows)
}

async fn apiservers(ctx: &Ctx, healthy: &mut bool) -> String {
    let mut rows = vec![vec![s("APISERVER"), s("HEALTH")]];
    for endpoint in &ctx.config.endpoints {
        let mut config = skiff_client::ClientConfig::new([endpoint.clone()])
            .with_timeout(std::time::Duration::from_secs(2))
            .with_ca_pem(ctx.config.ca_pem.clone());
        if let Some(token) = &ctx.config.token {
            config = config.with_token(token.clone());
        }
        let health = match skiff_client::Client::new(config) {
            Ok(client) => match client.who_am_i().await {
                Ok(user) => format!("ok (you are {:?}, role {})", user.user, user.role),
                Err(e) => {
                    *healthy = false;
                    format!("down: {}", e.message)
                }
            },
            Err(e) => {
                *healthy = false;
                format!("bad endpoint: {e}")
            }
        };
        rows.push(vec![endpoint.clone(), health]);
    }
    table(rows)
}

fn lease_age(lease: &Lease) -> (String, bool) {
    let now = Utc::now();
    match lease.spec.renew_time {
        Some(renewed) => {
            let age = now.signed_duration_since(renewed.0);
            let duration = i64::from(lease.spec.lease_duration_seconds.unwrap_or(15));
            let valid = age.num_seconds() <= duration;
            let shown = format!("{} ago", human_duration(age));
            (
                if valid {
                    shown
                } else {
                    format!("{shown} (expired)")
                },
                valid,
            )
        }
        None => (s("never"), false),
    }
}

async fn leaders(ctx: &Ctx, healthy: &mut bool) -> Result<String, CliError> {
    let mut rows = vec![["COMPONENT", "LEASE", "HOLDER", "RENEWED"].map(s).to_vec()];
    for component in ["controller-manager", "scheduler"] {
        let name = format!("skiff-{component}");
        let lease: Option<Lease> = ctx.client.get_opt("kube-system", &name).await?;
        let (holder, renewed) = match &lease {
            Some(lease) => {
                let (renewed, valid) = lease_age(lease);
                *healthy &= valid;
                (
                    lease
                        .spec
                        .holder_identity
                        .clone()
                        .unwrap_or_else(|| s("<none>")),
                    renewed,
                )
            }
            None => {
                *healthy = false;
                (s("<none>"), s("never (no leader elected)"))
            }
        };
        rows.push(vec![
            s(component),
            format!("kube-system/{name}"),
            holder,
            renewed,
        ]);
    }
    Ok(table(rows))
}

async fn nodes(ctx: &Ctx, healthy: &mut bool) -> Result<String, CliError> {
    let list = ctx
        .client
        .list::<Node>(None, &ListOptions::default())
        .await?;
    if list.items.is_empty() {
        return Ok(s("No nodes\n"));
    }
    let mut rows = vec![vec![s("NODE"), s("STATUS"), s("HEARTBEAT")]];
    for node in list.items {
        let status = node_status(&node);
        *healthy &= status == "Ready";
        let heartbeat = match ctx
            .client
            .get_opt::<Lease>("kube-node-lease", &node.metadata.name)
            .await?
        {
            Some(lease) => lease_age(&lease).0,
            None => s("<none>"),
        };
        rows.push(vec![node.metadata.name.clone(), status, heartbeat]);
    }
    Ok(table(rows))
}

/// The processes of a `skiff up` cluster: PID, state, and how many times the supervisor
/// started each again.
fn processes(state: &ClusterState, healthy: &mut bool) -> String {
    let supervisor = state.supervisor.filter(procs::supervisor_running);
    let mut rows = vec![["PROCESS", "PID", "STATE", "RESTARTS"].map(s).to_vec()];
    for c in &state.components {
        let running = procs::is_running(c);
        if c.pid.is_some() && !running {
            *healthy = false;
        }
        let pid = c.pid.map(|p| p.to_string()).unwrap_or_else(|| s("-"));
        let shown = match (c.pid, running) {
            (None, _) => "not started",
            (Some(_), true) => "running",
            (Some(_), false) if supervisor.is_some() => "exited (restarting)",
            (Some(_), false) => "exited",
        };
        rows.push(vec![c.name.clone(), pid, s(shown), c.restarts.to_string()]);
    }
    let started = state.components.iter().any(|c| c.pid.is_some());
    let (pid, shown) = match (state.supervisor, supervisor) {
        (_, Some(running)) => (running.pid.to_string(), "running"),
        (Some(record), None) => {
            *healthy &= !started;
            (
                record.pid.to_string(),
                "exited (run `skiff up` to start it again)",
            )
        }
        (None, None) => {
            *healthy &= !started;
            (s("-"), "not started")
        }
    };
    rows.push(vec![s("supervisor"), pid, s(shown), s("-")]);
    table(rows)
}

/// The certificates that reach the store members: a `skiff up` cluster's, or the config's
/// `pki-dir`; none for a plain-text cluster.
pub(crate) fn store_pki(ctx: &Ctx) -> Option<PkiLayout> {
    ctx.config
        .cluster_dir
        .as_deref()
        .and_then(|dir| ClusterState::load(dir).ok().flatten())
        .and_then(|state| state.pki_layout())
        .or_else(|| ctx.config.pki_dir.as_deref().map(PkiLayout::new))
}

pub async fn run(ctx: &Ctx, args: &StatusArgs) -> Result<(), CliError> {
    let mut healthy = true;
    let store_endpoints = if args.store_endpoints.is_empty() {
        ctx.config.stores.clone()
    } else {
        args.store_endpoints.clone()
    };
    let mut sections = Vec::new();
    if store_endpoints.is_empty() {
        sections.push(s("Store members unknown: pass --store-endpoints URL,... (a config written by `skiff up` lists them)\n"));
    } else {
        let pki = store_pki(ctx);
        sections.push(stores(&store_endpoints, pki.as_ref(), &mut healthy).await);
    }
    sections.push(apiservers(ctx, &mut healthy).await);
    match leaders(ctx, &mut healthy).await {
        Ok(text) => sections.push(text),
        Err(e) => {
            healthy = false;
            sections.push(format!("Leases unknown: {e}\n"));
        }
    }
    match nodes(ctx, &mut healthy).await {
        Ok(text) => sections.push(text),
        Err(e) => {
            healthy = false;
            sections.push(format!("Nodes unknown: {e}\n"));
        }
    }
    if let Some(dir) = &ctx.config.cluster_dir {
        if let Ok(Some(state)) = ClusterState::load(dir) {
            sections.push(processes(&state, &mut healthy));
        }
    }
    out(&sections.join("\n"));
    if healthy {
        Ok(())
    } else {
        Err(CliError::Raw(s(
            "\nThe cluster is not fully healthy (see above).",
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_etcdctls() {
        assert_eq!(super::human_bytes(512), "512 B");
        assert_eq!(super::human_bytes(20_480), "20.5 kB");
        assert_eq!(super::human_bytes(4_000_000), "4.0 MB");
        assert_eq!(super::human_bytes(3_000_000_000_000), "3000.0 GB");
    }
}
