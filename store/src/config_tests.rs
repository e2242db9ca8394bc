use super::*;

fn config(args: &[&str]) -> Config {
    let mut argv = vec!["skiff-store"];
    argv.extend_from_slice(args);
    Config::parse_from(argv)
}

#[test]
fn initial_cluster_gives_stable_distinct_ids() {
    let c = config(&[
        "--name",
        "s2",
        "--initial-cluster",
        "s1=http://127.0.0.1:2380,s2=http://127.0.0.1:2381,s3=http://127.0.0.1:2382",
    ]);
    let peers = c.peers().unwrap();
    assert_eq!(peers.len(), 3);
    assert_eq!(peers[1].name, "s2");
    assert_ne!(peers[0].id, peers[1].id);
    assert_eq!(
        peers[0].id,
        member_id("http://127.0.0.1:2380", "skiff-cluster")
    );
    assert!(c.validate().is_ok());
}

#[test]
fn bad_flags_name_the_problem() {
    let err = config(&[
        "--name",
        "x",
        "--initial-cluster",
        "s1=http://127.0.0.1:2380",
    ])
    .validate()
    .unwrap_err();
    assert!(err.to_string().contains("\"x\" is not listed"), "{err}");
    let err = config(&["--initial-cluster", "default"])
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("not name=url"), "{err}");
    let err = config(&["--listen-client-urls", "127.0.0.1:2379"])
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("--listen-client-urls"), "{err}");
    let err = config(&["--election-timeout", "300"])
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("at least 5 times"), "{err}");
}

#[test]
fn peers_may_be_named_by_host_name() {
    let named = config(&[
        "--name",
        "s1",
        "--initial-cluster",
        "s1=http://store-1:2380",
    ]);
    assert_eq!(named.peers().unwrap()[0].url, "http://store-1:2380");
    for bad in [
        "s1=http://:2380",
        "s1=http://store-1",
        "s1=http://store 1:2380",
        "s1=ftp://store-1:2380",
    ] {
        let c = config(&["--name", "s1", "--initial-cluster", bad]);
        assert!(c.peers().is_err(), "{bad}");
    }
}
