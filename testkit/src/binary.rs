//! Where the binaries under test are: cargo puts the workspace's binaries next to the
//! test executable's `deps` directory.

use std::path::{Path, PathBuf};

/// The workspace binary `name` (`skiff-store`, `skiff-apiserver`, ...) of this build, if it
/// has been built.
pub fn find(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/debug/deps/<test> -> target/debug/<name>; a binary itself sits in target/debug.
    let mut dirs = exe.ancestors().skip(1).take(2);
    dirs.find_map(|dir| Some(dir.join(name)).filter(|p| p.is_file()))
}

/// [`find`], for tests: panics saying how to build it.
pub fn binary(name: &str) -> PathBuf {
    find(name).unwrap_or_else(|| {
        panic!("{name} is missing: build every binary first (`cargo build --workspace --bins`)")
    })
}

/// An etcd binary: `$SKIFF_ETCD`, else `/usr/bin/etcd` (Debian's etcd-server).
pub fn etcd() -> Option<PathBuf> {
    let path = std::env::var_os("SKIFF_ETCD")
        .map_or_else(|| PathBuf::from("/usr/bin/etcd"), PathBuf::from);
    path.is_file().then_some(path)
}

/// Which store the tests of the layers above the store run against: `SKIFF_TEST_STORE=etcd`
/// forces etcd; otherwise this build's `skiff-store` when it has been built, else etcd.
/// The flag says whether it is etcd.
pub fn store_under_test() -> (PathBuf, bool) {
    let etcd = || etcd().unwrap_or_else(|| Path::new("/usr/bin/etcd").to_path_buf());
    if std::env::var("SKIFF_TEST_STORE").as_deref() == Ok("etcd") {
        return (etcd(), true);
    }
    match find("skiff-store") {
        Some(skiff) => (skiff, false),
        None => (etcd(), true),
    }
}
