//! Every manifest in the shared seed fixtures is admitted, and comes out in its storage version.

use std::path::PathBuf;

use skiff_api::manifest::parse_manifests;

use super::create;

fn seed_dir() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The seed manifests every release must run, kept in the repository.
    manifest_dir.join("../fixtures/seed")
}

#[test]
fn every_seed_fixture_is_admitted() {
    let mut count = 0;
    let mut entries: Vec<_> = std::fs::read_dir(seed_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in parse_manifests(&text).unwrap() {
            let declared = doc["apiVersion"].as_str().unwrap().to_string();
            let stored = create(doc)
                .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.to_kubectl_string()));
            let storage = match declared.as_str() {
                "apps/v1beta2" => "apps/v1",
                "batch/v1beta1" => "batch/v1",
                other => other,
            };
            assert_eq!(stored["apiVersion"], storage, "{}", path.display());
            assert_eq!(
                stored["metadata"]["namespace"],
                "default",
                "{}",
                path.display()
            );
            count += 1;
        }
    }
    assert!(
        count >= 13,
        "expected at least 13 seed manifests, found {count}"
    );
}
