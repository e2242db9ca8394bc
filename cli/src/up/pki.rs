//! The cluster's certificates and kubeconfig: `skiff certs` (the `DIR/pki` layout for clusters `skiff up` does not start) and `DIR/kubeconfig` for kubectl.

use std::path::{Path, PathBuf};

use skiff_common::pki;
use skiff_common::pki_layout::{issue_cluster, PkiLayout};

use super::state::ClusterState;
use crate::config::write_private;
use crate::error::CliError;

/// `DIR/pki`: `ca.crt`, `ca.key` and one `NAME.crt`/`NAME.key` per holder (keys 0600).
pub fn pki_dir(dir: &Path) -> PathBuf {
    dir.join("pki")
}

/// `DIR/kubeconfig`.
pub fn kubeconfig_path(dir: &Path) -> PathBuf {
    dir.join("kubeconfig")
}

fn pki_error(e: pki::PkiError) -> CliError {
    CliError::msg(format!("cannot make the cluster's certificates: {e}"))
}

/// `skiff certs --dir DIR --hosts a,b [--store-members s1,..] [--nodes n1,..]`: `skiff up`'s
/// certificates for clusters it does not start (compose/). The apiserver's serving
/// certificate names `apiserver` and HOSTS too, as it did before the other certificates
/// were added.
pub fn certs(args: &crate::args::CertsArgs) -> Result<(), CliError> {
    let layout = PkiLayout::new(&args.dir);
    issue_cluster(&layout, &args.store_members, &args.nodes, &args.hosts).map_err(pki_error)?;
    let mut names = vec!["ca".to_string()];
    for member in &args.store_members {
        names.push(format!("store-{member}-server"));
        names.push(format!("store-{member}-peer"));
    }
    names.extend(
        [
            "apiserver",
            "apiserver-etcd-client",
            "apiserver-kubelet-client",
            "etcd-client",
        ]
        .map(String::from),
    );
    names.extend(args.nodes.iter().map(|n| format!("nodelet-{n}")));
    crate::ctx::outln(&format!(
        "wrote {} .crt/.key in {} (serving certificates also for {})",
        names.join(", "),
        args.dir.display(),
        args.hosts.join(", ")
    ));
    Ok(())
}

/// Writes `DIR/kubeconfig` (context `skiff`, the admin token) for the first HTTPS apiserver.
/// Returns its path, or `None` for a cluster without the REST API.
pub fn write_kubeconfig(state: &ClusterState) -> Result<Option<PathBuf>, CliError> {
    let Some(server) = state.https_apiservers.first() else {
        return Ok(None);
    };
    let ca = pki::read_pair(&pki_dir(&state.dir), "ca").map_err(pki_error)?;
    let text = skiff_common::launch::kubeconfig("skiff", server, &ca.cert_pem, &state.admin_token);
    let path = kubeconfig_path(&state.dir);
    write_private(&path, &text)?;
    Ok(Some(path))
}
