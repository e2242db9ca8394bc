//! The cluster's certificates and kubeconfig: `DIR/pki` (CA, apiserver serving certificate) and `DIR/kubeconfig` for kubectl.

use std::path::{Path, PathBuf};

use skiff_common::pki::{self, Ca};

use super::state::ClusterState;
use crate::config::write_private;
use crate::error::CliError;

/// `DIR/pki`: `ca.crt`, `ca.key`, `apiserver.crt`, `apiserver.key` (keys 0600).
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

/// The CA in `pki` (made if missing) and `apiserver.crt`/`.key` for `hosts`.
pub fn write_certificates(pki: &Path, hosts: &[String]) -> Result<(), CliError> {
    let ca = Ca::load_or_generate(pki).map_err(pki_error)?;
    let serving = ca.issue_server(hosts).map_err(pki_error)?;
    pki::write_pair(pki, "apiserver", &serving).map_err(pki_error)
}

/// `skiff certs --dir DIR --hosts a,b`: the same files for clusters skiff up does not start
/// (compose/).
pub fn certs(args: &crate::args::CertsArgs) -> Result<(), CliError> {
    write_certificates(&args.dir, &args.hosts)?;
    crate::ctx::outln(&format!(
        "wrote {}/ca.crt, ca.key, apiserver.crt, apiserver.key (for {})",
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
