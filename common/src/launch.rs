//! How each component of a cluster is started: its ports and its command line, as pure
//! functions of the ports handed in. `skiff up` (production), the test kit
//! (`skiff-testkit`) and the benchmarks all plan their processes here, so a flag is
//! renamed or added in one place.
//!
//! Store members get etcd's flag names, which `skiff-store` shares, so one plan starts
//! either binary.

use std::path::{Path, PathBuf};

use crate::pki_layout::PkiLayout;

/// One store member: its name, where it listens, where it keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreMember {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    /// Plain-HTTP `/metrics` and `/health`; none when `None`.
    pub metrics_port: Option<u16>,
    pub data_dir: PathBuf,
    /// Client and peer ports serve TLS (`https://` URLs).
    pub tls: bool,
}

impl StoreMember {
    pub fn client_url(&self) -> String {
        self.url(self.client_port)
    }

    pub fn peer_url(&self) -> String {
        self.url(self.peer_port)
    }

    fn url(&self, port: u16) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{port}")
    }

    /// `127.0.0.1:PORT` of the client port, as etcdctl's `--endpoints` takes it.
    pub fn endpoint(&self) -> String {
        loopback(self.client_port)
    }
}

/// How a store cluster is formed: every member's entry in `--initial-cluster`, the cluster
/// token (the store's default when `None`), flags added to every member, and the cluster's
/// certificates when it runs TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorePlan {
    pub members: Vec<StoreMember>,
    pub cluster_token: Option<String>,
    pub extra_args: Vec<String>,
    /// TLS on both ports with client-certificate authentication, certificates from here.
    pub pki: Option<PkiLayout>,
}

impl StorePlan {
    /// `count` members named `s1`, `s2`, ..., with data dirs `data_root/<dir>(i)`;
    /// `port` hands out free ports, `metrics` says whether members serve `/metrics`.
    pub fn new(
        count: usize,
        data_root: &Path,
        dir: impl Fn(usize) -> String,
        metrics: bool,
        mut port: impl FnMut() -> u16,
    ) -> StorePlan {
        let members = (1..=count)
            .map(|i| StoreMember {
                name: format!("s{i}"),
                client_port: port(),
                peer_port: port(),
                metrics_port: metrics.then(&mut port),
                data_dir: data_root.join(dir(i)),
                tls: false,
            })
            .collect();
        StorePlan {
            members,
            ..StorePlan::default()
        }
    }

    /// Every member serves TLS with the certificates of `pki` and demands client
    /// certificates from the cluster CA on both ports.
    pub fn with_tls(mut self, pki: &PkiLayout) -> StorePlan {
        for m in &mut self.members {
            m.tls = true;
        }
        self.pki = Some(pki.clone());
        self
    }

    /// The `--initial-cluster` value: `name=peer-url` for every member.
    pub fn initial_cluster(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every member's client URL, in member order (the apiserver's `--store-endpoints`).
    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(StoreMember::client_url).collect()
    }

    /// The command line of member `i` (without the program).
    pub fn args(&self, i: usize) -> Vec<String> {
        let m = &self.members[i];
        let mut args = vec![
            s("--name"),
            m.name.clone(),
            s("--data-dir"),
            m.data_dir.display().to_string(),
            s("--listen-client-urls"),
            m.client_url(),
            s("--advertise-client-urls"),
            m.client_url(),
            s("--listen-peer-urls"),
            m.peer_url(),
            s("--initial-advertise-peer-urls"),
            m.peer_url(),
            s("--initial-cluster"),
            self.initial_cluster(),
            s("--initial-cluster-state"),
            s("new"),
        ];
        if let Some(token) = &self.cluster_token {
            args.extend([s("--initial-cluster-token"), token.clone()]);
        }
        if let Some(port) = m.metrics_port {
            args.extend([s("--listen-metrics-urls"), loopback_url(port)]);
        }
        if let Some(pki) = &self.pki {
            let (server, peer, ca) = (
                pki.store_server(&m.name),
                pki.store_peer(&m.name),
                path(&pki.ca_cert()),
            );
            args.extend([
                s("--cert-file"),
                path(&server.cert),
                s("--key-file"),
                path(&server.key),
                s("--trusted-ca-file"),
                ca.clone(),
                s("--client-cert-auth"),
                s("--peer-cert-file"),
                path(&peer.cert),
                s("--peer-key-file"),
                path(&peer.key),
                s("--peer-trusted-ca-file"),
                ca,
                s("--peer-client-cert-auth"),
            ]);
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// One apiserver over the store members at `store_endpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiserverPlan {
    pub port: u16,
    pub metrics_port: u16,
    pub store_endpoints: Vec<String>,
    pub token_file: PathBuf,
    /// The Kubernetes REST API over HTTPS, when served.
    pub https: Option<HttpsPlan>,
    /// TLS on the API port, a client certificate towards the store and the nodelets.
    pub pki: Option<PkiLayout>,
}

/// An apiserver's HTTPS listener: its port and serving certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsPlan {
    pub port: u16,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl ApiserverPlan {
    /// `127.0.0.1:PORT`, what clients' `--apiserver` takes.
    pub fn address(&self) -> String {
        loopback(self.port)
    }

    /// `https://127.0.0.1:PORT`, the REST API's URL (what a kubeconfig's server is).
    pub fn https_url(&self) -> Option<String> {
        self.https
            .as_ref()
            .map(|h| format!("https://{}", loopback(h.port)))
    }

    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            s("--listen"),
            self.address(),
            s("--store-endpoints"),
            self.store_endpoints.join(","),
            s("--token-file"),
            self.token_file.display().to_string(),
            s("--metrics-listen"),
            loopback(self.metrics_port),
        ];
        if let Some(h) = &self.https {
            args.extend([s("--http-listen"), loopback(h.port)]);
            if self.pki.is_none() {
                args.extend([
                    s("--tls-cert-file"),
                    h.cert_file.display().to_string(),
                    s("--tls-private-key-file"),
                    h.key_file.display().to_string(),
                ]);
            }
        }
        if let Some(pki) = &self.pki {
            let (serving, etcd, kubelet) = (
                pki.apiserver(),
                pki.apiserver_etcd_client(),
                pki.apiserver_kubelet_client(),
            );
            args.extend([
                s("--tls-cert-file"),
                path(&serving.cert),
                s("--tls-private-key-file"),
                path(&serving.key),
                s("--etcd-cafile"),
                path(&pki.ca_cert()),
                s("--etcd-certfile"),
                path(&etcd.cert),
                s("--etcd-keyfile"),
                path(&etcd.key),
                s("--kubelet-client-certificate"),
                path(&kubelet.cert),
                s("--kubelet-client-key"),
                path(&kubelet.key),
                s("--kubelet-certificate-authority"),
                path(&pki.ca_cert()),
            ]);
        }
        args
    }
}

/// A kubeconfig for one cluster: `server` (an https URL) trusted through the CA certificate
/// `ca_pem`, a user authenticated by `token`, and the context `context` made current.
pub fn kubeconfig(context: &str, server: &str, ca_pem: &str, token: &str) -> String {
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {context}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         users:\n\
         - name: {context}-admin\n  user:\n    token: {token}\n\
         contexts:\n\
         - name: {context}\n  context:\n    cluster: {context}\n    user: {context}-admin\n\
         current-context: {context}\n"
    )
}

/// A client of the apiservers: the controller-manager, the scheduler (leader-elected under
/// `identity`) or, with [`NodeletPlan`], a nodelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPlan {
    pub apiservers: Vec<String>,
    pub token: String,
    pub metrics_port: u16,
    /// The cluster CA: the apiservers are reached over TLS (`--certificate-authority`).
    pub ca: Option<PathBuf>,
}

impl ClientPlan {
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            s("--apiserver"),
            self.apiservers.join(","),
            s("--token"),
            self.token.clone(),
            s("--metrics-listen"),
            loopback(self.metrics_port),
        ];
        if let Some(ca) = &self.ca {
            args.extend([s("--certificate-authority"), path(ca)]);
        }
        args
    }

    /// The controller-manager's or the scheduler's command line.
    pub fn control_plane_args(&self, identity: &str) -> Vec<String> {
        let mut args = self.args();
        args.extend([s("--identity"), identity.to_string()]);
        args
    }
}

/// One nodelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeletPlan {
    pub client: ClientPlan,
    pub node_name: String,
    pub data_dir: PathBuf,
    /// The NodeLogs service the apiserver's log proxy calls.
    pub listen_port: u16,
    pub pod_cidr: String,
    /// `key=value` labels of the Node.
    pub labels: Vec<(String, String)>,
    /// TLS on the log port, answering only the apiserver's client certificate.
    pub pki: Option<PkiLayout>,
}

impl NodeletPlan {
    pub fn args(&self) -> Vec<String> {
        let mut args = self.client.args();
        args.extend([
            s("--node-name"),
            self.node_name.clone(),
            s("--data-dir"),
            self.data_dir.display().to_string(),
            s("--listen"),
            loopback(self.listen_port),
            s("--pod-cidr"),
            self.pod_cidr.clone(),
        ]);
        if !self.labels.is_empty() {
            let labels: Vec<String> = self
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            args.extend([s("--labels"), labels.join(",")]);
        }
        if let Some(pki) = &self.pki {
            let serving = pki.nodelet(&self.node_name);
            args.extend([
                s("--tls-cert-file"),
                path(&serving.cert),
                s("--tls-private-key-file"),
                path(&serving.key),
                s("--client-ca-file"),
                path(&pki.ca_cert()),
            ]);
        }
        args
    }
}

/// One line of the apiserver's token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    pub token: String,
    pub user: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl TokenEntry {
    /// An admin (group `system:masters`).
    pub fn admin(token: &str, user: &str) -> TokenEntry {
        TokenEntry::new(token, user, &format!("uid-{user}"), &["system:masters"])
    }

    /// A node agent: user `system:node:<node>`, group `system:nodes`.
    pub fn node(token: &str, node: &str) -> TokenEntry {
        TokenEntry::new(
            token,
            &format!("system:node:{node}"),
            &format!("uid-node-{node}"),
            &["system:nodes"],
        )
    }

    pub fn new(token: &str, user: &str, uid: &str, groups: &[&str]) -> TokenEntry {
        TokenEntry {
            token: token.to_string(),
            user: user.to_string(),
            uid: uid.to_string(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// Kubernetes' static token file: `token,user,uid,"group1,group2"` per line.
pub fn token_file(entries: &[TokenEntry]) -> String {
    entries
        .iter()
        .map(|e| {
            format!(
                "{},{},{},\"{}\"\n",
                e.token,
                e.user,
                e.uid,
                e.groups.join(",")
            )
        })
        .collect()
}

fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn loopback_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

fn s(v: &str) -> String {
    v.to_string()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
#[path = "launch_tests.rs"]
mod tests;
