//! Where each certificate of a cluster lives under its `pki/` directory, named once for
//! `skiff up`, the test kit, compose's certificate script and every component's flags.
//!
//! One CA signs everything. Each holder has its own certificate and key
//! (`NAME.crt`, `NAME.key`; keys 0600).

use std::path::{Path, PathBuf};

use crate::pki::{write_pair, Ca, CertPair, PkiError};

/// A certificate and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A cluster's `pki/` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiLayout {
    pub dir: PathBuf,
}

impl PkiLayout {
    pub fn new(dir: &Path) -> PkiLayout {
        PkiLayout {
            dir: dir.to_path_buf(),
        }
    }

    /// The cluster CA's certificate: every client and server trusts it.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The cluster CA's key: needed only to issue certificates.
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    pub fn pair(&self, name: &str) -> CertFiles {
        CertFiles {
            cert: self.dir.join(format!("{name}.crt")),
            key: self.dir.join(format!("{name}.key")),
        }
    }

    /// A store member's client port (server use).
    pub fn store_server(&self, member: &str) -> CertFiles {
        self.pair(&format!("store-{member}-server"))
    }

    /// A store member's peer port and its calls to other members (server and client use).
    pub fn store_peer(&self, member: &str) -> CertFiles {
        self.pair(&format!("store-{member}-peer"))
    }

    /// The apiserver's gRPC (and HTTPS) port.
    pub fn apiserver(&self) -> CertFiles {
        self.pair("apiserver")
    }

    /// The apiserver as a client of the store.
    pub fn apiserver_etcd_client(&self) -> CertFiles {
        self.pair("apiserver-etcd-client")
    }

    /// The apiserver as a client of the nodelets' log service.
    pub fn apiserver_kubelet_client(&self) -> CertFiles {
        self.pair("apiserver-kubelet-client")
    }

    /// A nodelet's log service.
    pub fn nodelet(&self, node: &str) -> CertFiles {
        self.pair(&format!("nodelet-{node}"))
    }

    /// A client of the store other than the apiserver (etcdctl, benchmarks, tests).
    pub fn etcd_client(&self) -> CertFiles {
        self.pair("etcd-client")
    }
}

/// The common name of the apiserver's client certificate towards nodelets, the only caller
/// a nodelet's log service answers (Kubernetes' `kube-apiserver-kubelet-client`).
pub const APISERVER_KUBELET_CLIENT_CN: &str = "kube-apiserver-kubelet-client";
/// The common name of the apiserver's client certificate towards the store.
pub const APISERVER_ETCD_CLIENT_CN: &str = "kube-apiserver-etcd-client";

/// Every certificate of a cluster: the CA (kept when `pki/` already has one), then each
/// holder's. Serving certificates name `localhost`, `127.0.0.1`, their holder's own name (a
/// store member's, a node's, `apiserver`: the host names compose gives them) and `extra`.
pub fn issue_cluster(
    pki: &PkiLayout,
    store_members: &[String],
    nodes: &[String],
    extra: &[String],
) -> Result<(), PkiError> {
    let ca = Ca::load_or_generate(&pki.dir)?;
    let names = |own: &str| -> Vec<String> {
        let mut names = vec![
            own.to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ];
        for name in extra {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    };
    for member in store_members {
        write(
            pki,
            &pki.store_server(member),
            &ca.issue_server(&names(member))?,
        )?;
        write(
            pki,
            &pki.store_peer(member),
            &ca.issue_peer(&names(member))?,
        )?;
    }
    write(
        pki,
        &pki.apiserver(),
        &ca.issue_server(&names("apiserver"))?,
    )?;
    write(
        pki,
        &pki.apiserver_etcd_client(),
        &ca.issue_client(APISERVER_ETCD_CLIENT_CN, &[])?,
    )?;
    write(
        pki,
        &pki.apiserver_kubelet_client(),
        &ca.issue_client(APISERVER_KUBELET_CLIENT_CN, &["system:masters"])?,
    )?;
    write(
        pki,
        &pki.etcd_client(),
        &ca.issue_client("etcd-client", &[])?,
    )?;
    for node in nodes {
        write(pki, &pki.nodelet(node), &ca.issue_server(&names(node))?)?;
    }
    Ok(())
}

fn write(pki: &PkiLayout, files: &CertFiles, pair: &CertPair) -> Result<(), PkiError> {
    let name = files
        .cert
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("cert");
    write_pair(&pki.dir, name, pair)
}
