//! Membership changes with etcdctl (URL-form endpoints) as the client, on real
//! member processes: replacing a dead member, growing and shrinking under a steady
//! write load, and bad input.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::etcdctl::{etcdctl, ok};
use crate::grow::{all_present, Joiner, LeaderWatch, Writer};
use crate::util::*;

/// The hex id of member `name` (or the member with peer URL `name`) in `etcdctl
/// member list` output.
fn member_id(list: &str, name: &str) -> Option<String> {
    list.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(", ").collect();
        (fields.get(2) == Some(&name) || fields.get(3) == Some(&name))
            .then(|| fields[0].to_string())
    })
}

/// The id `etcdctl member add` printed ("Member <id> added to cluster <cluster>").
fn added_id(out: &str) -> String {
    out.split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no member id in {out:?}"))
        .to_string()
}

/// Promotes learner `id` once the leader finds it caught up; the last refusal if not
/// within 40 s.
async fn promote_when_caught_up(ep: &str, id: &str) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..200 {
        let out = etcdctl(ep, &["member", "promote", id]);
        if out.status.success() {
            return Ok(());
        }
        last = String::from_utf8_lossy(&out.stderr).to_string();
        if !(last.contains("in sync with leader") || last.contains("unhealthy")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

fn logs(cluster: &skiff_testkit::store::StoreCluster, joined: &[&Joiner]) -> String {
    let mut out = String::new();
    for i in 0..cluster.len() {
        out += &format!(
            "--- {}:\n{}\n",
            cluster.name(i),
            cluster.process_ref(i).log_tail(40)
        );
    }
    for j in joined {
        out += &format!("--- {}:\n{}\n", j.member.name, j.process.log_tail(40));
    }
    out
}

async fn wait_all_present(url: &str, acked: &[String]) {
    let mut last = String::new();
    for _ in 0..100 {
        match all_present(url, acked).await {
            Ok(()) => return,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("acknowledged writes missing: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_member_is_replaced_by_a_learner_that_is_promoted() {
    let mut cluster = start(3, &[]).await;
    let members = cluster.members().to_vec();
    let ep = members[0].client_url();
    let urls = Arc::new(Mutex::new(vec![
        members[0].client_url(),
        members[1].client_url(),
    ]));
    let writer = Writer::start(urls.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;

    step("s3 dies with its disk");
    cluster.kill(2);
    std::fs::remove_dir_all(&members[2].data_dir).expect("s3's data dir");
    let dead = member_id(&ok(&ep, &["member", "list"]), "s3").expect("s3 listed");
    let removed = ok(&ep, &["member", "remove", &dead]);
    assert!(
        // etcdctl pads the id to 16 columns with spaces.
        removed.contains(&format!("{dead} removed from cluster")),
        "{removed}"
    );
    let before_learner = writer.acked.lock().len();

    step("s4 joins as a learner and catches up");
    let s4 = crate::grow::Joiner::plan(&cluster, "s4");
    let peer_flag = format!("--peer-urls={}", s4.peer_url());
    let added = ok(&ep, &["member", "add", "s4", "--learner", &peer_flag]);
    assert!(added.contains("added to cluster"), "{added}");
    let id = added_id(&added);
    let list = ok(&ep, &["member", "list"]);
    assert!(
        list.contains(&format!("{id}, unstarted, , {}, , true", s4.peer_url())),
        "{list}"
    );
    let mut joiner = Joiner::start(&cluster, s4, &members[..2]);
    if let Err(e) = promote_when_caught_up(&ep, &id).await {
        panic!("s4 not promoted: {e}\n{}", logs(&cluster, &[&joiner]));
    }
    urls.lock().push(joiner.member.client_url());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked = writer.finish().await;
    assert!(
        acked.len() > before_learner + 10,
        "writes did not continue while s4 caught up ({before_learner} then {})",
        acked.len()
    );

    step("3 healthy voters hold every acknowledged write");
    let list = ok(&ep, &["member", "list"]);
    assert_eq!(list.lines().count(), 3, "{list}");
    for name in ["s1", "s2", "s4"] {
        assert!(list.contains(&format!(", started, {name}, ")), "{list}");
    }
    assert!(!list.contains("true"), "a learner is left: {list}");
    let all = urls.lock().join(",");
    let health = etcdctl(&all, &["endpoint", "health"]);
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
    let remaining = urls.lock().clone();
    for url in remaining {
        wait_all_present(&url, &acked).await;
    }
    assert!(
        joiner.process.is_running(),
        "s4 exited:\n{}",
        joiner.process.log_tail(20)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grow_from_one_to_five_and_shrink_to_three_under_load() {
    let cluster = start(1, &[]).await;
    let first = cluster.members()[0].clone();
    let ep = first.client_url();
    let urls = Arc::new(Mutex::new(vec![ep.clone()]));
    let writer = Writer::start(urls.clone());
    let leaders = LeaderWatch::start(urls.clone());
    let mut joined: Vec<Joiner> = Vec::new();
    let mut known = vec![first.clone()];

    step("1 -> 2: a voter added directly, then started");
    let s2 = Joiner::plan(&cluster, "s2");
    ok(
        &ep,
        &[
            "member",
            "add",
            "s2",
            &format!("--peer-urls={}", s2.peer_url()),
        ],
    );
    let j = Joiner::start(&cluster, s2, &known);
    known.push(j.member.clone());
    urls.lock().push(j.member.client_url());
    joined.push(j);

    for name in ["s3", "s4", "s5"] {
        step(&format!("adding {name} as a learner, then promoting it"));
        let m = Joiner::plan(&cluster, name);
        let added = ok(
            &ep,
            &[
                "member",
                "add",
                name,
                "--learner",
                &format!("--peer-urls={}", m.peer_url()),
            ],
        );
        let j = Joiner::start(&cluster, m, &known);
        if let Err(e) = promote_when_caught_up(&ep, &added_id(&added)).await {
            let mut all: Vec<&Joiner> = joined.iter().collect();
            all.push(&j);
            panic!("{name} not promoted: {e}\n{}", logs(&cluster, &all));
        }
        known.push(j.member.clone());
        urls.lock().push(j.member.client_url());
        joined.push(j);
    }
    let list = ok(&ep, &["member", "list"]);
    assert_eq!(
        list.lines().filter(|l| l.ends_with(", false")).count(),
        5,
        "{list}"
    );

    step("5 -> 3: removing the leader and one follower");
    let status = skiff_testkit::store::status(&ep, None, Duration::from_secs(2))
        .await
        .expect("status");
    let leader = format!("{:x}", status.leader);
    let follower = member_id(&list, "s5").expect("s5 listed");
    let follower = if follower == leader {
        member_id(&list, "s4").expect("s4")
    } else {
        follower
    };
    for id in [&leader, &follower] {
        // The member removed stops: clients go elsewhere.
        let line = list
            .lines()
            .find(|l| l.starts_with(id.as_str()))
            .expect("listed");
        let client_url = line.split(", ").nth(4).expect("client URL").to_string();
        urls.lock().retain(|u| *u != client_url);
        let any = urls.lock().join(",");
        let out = ok(&any, &["member", "remove", id]);
        assert!(out.contains("removed from cluster"), "{out}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A removed member stops by itself; the rest keep serving.
    let list = skiff_testkit::wait_for("the membership to settle", Duration::from_secs(20), || {
        let urls = urls.clone();
        async move {
            let any = urls.lock().join(",");
            let out = etcdctl(&any, &["member", "list"]);
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            (out.status.success() && text.lines().count() == 3).then_some(text)
        }
    })
    .await;
    let removed_names: Vec<String> = known
        .iter()
        .filter(|m| !list.contains(&format!(", {}, ", m.name)))
        .map(|m| m.name.clone())
        .collect();
    assert_eq!(removed_names.len(), 2, "{list}");
    urls.lock().retain(|u| {
        known
            .iter()
            .any(|m| m.client_url() == *u && !removed_names.contains(&m.name))
    });
    for j in joined
        .iter_mut()
        .filter(|j| removed_names.contains(&j.member.name))
    {
        skiff_testkit::wait_for("a removed member to stop", Duration::from_secs(10), || {
            let exited = j.process.exited().is_some();
            async move { exited.then_some(()) }
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    step("every acknowledged write is on the 3 members; one leader per term");
    let acked = writer.finish().await;
    assert!(
        acked.len() > 50,
        "too few writes acknowledged: {}",
        acked.len()
    );
    let remaining = urls.lock().clone();
    for url in remaining {
        wait_all_present(&url, &acked).await;
    }
    leaders.check_one_leader_per_term().await;
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_member_changes_are_refused_and_change_nothing() {
    let cluster = start(3, &[]).await;
    let ep = cluster.members()[1].client_url();
    // Every member has published its name, so the list no longer changes by itself.
    let before = skiff_testkit::wait_for("every member started", Duration::from_secs(10), || {
        let list = ok(&ep, &["member", "list"]);
        async move { (!list.contains("unstarted")).then_some(list) }
    })
    .await;
    let taken = cluster.members()[2].peer_url();
    let cases: [(&[&str], &str); 5] = [
        (
            &["member", "add", "x", "--peer-urls=http://127.0.0.1"],
            "does not have the form",
        ),
        (
            // Port 0 is no address a member can listen on (https:// is a valid scheme since
            // peers speak TLS).
            &["member", "add", "x", "--peer-urls=http://127.0.0.1:0"],
            "invalid peer URL",
        ),
        (
            &["member", "add", "x", &format!("--peer-urls={taken}")],
            "Peer URLs already exists",
        ),
        (&["member", "remove", "abcdef12345"], "member not found"),
        (
            &[
                "member",
                "promote",
                &member_id(&before, &cluster.members()[1].peer_url()).expect("s2"),
            ],
            "can only promote a learner member",
        ),
    ];
    for (args, want) in cases {
        let out = etcdctl(&ep, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    assert_eq!(ok(&ep, &["member", "list"]), before);
}
