//! `skiff up` makes the cluster's certificates and runs every port with TLS; `--insecure`
//! keeps plain text.

use std::os::unix::fs::PermissionsExt;

use crate::util::{step, up_with};

#[test]
fn up_runs_tls_by_default_and_plain_text_with_insecure() {
    let cluster = up_with(&["--nodes", "1"]);
    step("TLS: certificates under DIR/pki with 0600 keys, https:// store URLs");
    let state = cluster.state();
    let pki = state.pki.clone().expect("a pki directory");
    let mut keys = 0;
    for entry in std::fs::read_dir(&pki).expect("pki dir").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "key") {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
            keys += 1;
        }
    }
    // CA, 3 store members x 2, apiserver x 3, etcd-client, one nodelet.
    assert_eq!(keys, 12, "keys in {}", pki.display());
    assert!(state.stores.iter().all(|u| u.starts_with("https://")));
    assert_eq!(cluster.ok(&["get", "no", "-o", "name"]), "node/node-1\n");
    let config = std::fs::read_to_string(cluster.config()).unwrap();
    assert!(config.contains("certificate-authority:"), "{config}");
    drop(cluster);

    step("--insecure: no certificates, plain http://, the cluster works");
    let plain = up_with(&["--nodes", "1", "--insecure"]);
    let state = plain.state();
    assert!(state.pki.is_none());
    assert!(!plain.dir.join("pki").exists());
    assert!(state.stores.iter().all(|u| u.starts_with("http://")));
    assert!(state
        .components
        .iter()
        .all(|c| !c.args.iter().any(|a| a.contains("cert"))));
    assert_eq!(plain.ok(&["get", "no", "-o", "name"]), "node/node-1\n");
}
