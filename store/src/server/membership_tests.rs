//! etcd's member-change rules as a table: each case names the membership, who the
//! leader has heard from, the change and the expected answer.

use skiff_proto::etcdserverpb::{
    MemberAddRequest, MemberPromoteRequest, MemberRemoveRequest, MemberUpdateRequest,
};

use super::*;
use crate::raft::PeerProgress;

fn url(id: u64) -> String {
    format!("http://127.0.0.1:{}", 2380 + id)
}

/// Members 1..=voters as voters, then learners; `down` not heard from; every member
/// has replicated `matched` of a log committed up to 100.
fn setup(voters: u64, learners: u64, down: &[u64], matched: u64) -> (ClusterRecord, Progress) {
    let ids: Vec<u64> = (1..=voters + learners).collect();
    let record = ClusterRecord {
        members: ids
            .iter()
            .map(|&id| ClusterMember {
                id,
                peer_urls: vec![url(id)],
                is_learner: id > voters,
            })
            .collect(),
        alarms: vec![],
        removed: vec![],
    };
    let progress = Progress {
        commit: 100,
        members: ids
            .iter()
            .map(|&id| PeerProgress {
                id,
                matched: if id == 1 { 100 } else { matched },
                active: !down.contains(&id),
                learner: id > voters,
            })
            .collect(),
    };
    (record, progress)
}

fn add(urls: &[&str], learner: bool) -> Change {
    Change::Add(MemberAddRequest {
        peer_ur_ls: urls.iter().map(|u| u.to_string()).collect(),
        is_learner: learner,
    })
}

#[test]
fn member_changes_follow_etcds_rules() {
    use StoreError::*;
    let remove = |id| Change::Remove(MemberRemoveRequest { id });
    let promote = |id| Change::Promote(MemberPromoteRequest { id });
    let update = |id, u: &str| {
        Change::Update(MemberUpdateRequest {
            id,
            peer_ur_ls: vec![u.to_string()],
        })
    };
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &str,
        (u64, u64, &[u64], u64),
        Change,
        Result<Kind, StoreError>,
    )> = vec![
        (
            "add voter to healthy 3",
            (3, 0, &[], 100),
            add(&["http://127.0.0.1:9"], false),
            Ok(Kind::Add),
        ),
        (
            "add voter with 1 of 3 down: 2 < quorum(4)",
            (3, 0, &[3], 100),
            add(&["http://127.0.0.1:9"], false),
            Err(Unhealthy),
        ),
        (
            "add learner with 1 of 3 down",
            (3, 0, &[3], 100),
            add(&["http://127.0.0.1:9"], true),
            Err(Unhealthy),
        ),
        (
            "add learner to healthy 3",
            (3, 0, &[], 100),
            add(&["http://127.0.0.1:9"], true),
            Ok(Kind::Add),
        ),
        (
            "add voter to 1",
            (1, 0, &[], 100),
            add(&["http://127.0.0.1:9"], false),
            Ok(Kind::Add),
        ),
        (
            "second learner",
            (3, 1, &[], 100),
            add(&["http://127.0.0.1:9"], true),
            Err(TooManyLearners),
        ),
        (
            "malformed peer URL",
            (3, 0, &[], 100),
            add(&["127.0.0.1:9"], true),
            Err(BadPeerUrl("127.0.0.1:9".into())),
        ),
        (
            "no peer URL",
            (3, 0, &[], 100),
            add(&[], true),
            Err(BadPeerUrl(String::new())),
        ),
        (
            "duplicate peer URL",
            (3, 0, &[], 100),
            add(&[&url(2)], true),
            Err(PeerUrlExists),
        ),
        (
            "duplicate peer URL with a slash",
            (3, 0, &[], 100),
            add(&[&format!("{}/", url(2))], true),
            Err(PeerUrlExists),
        ),
        (
            "remove a dead voter of 3",
            (3, 0, &[3], 100),
            remove(3),
            Ok(Kind::Remove),
        ),
        (
            "remove a live voter while another is dead",
            (3, 0, &[3], 100),
            remove(2),
            Err(Unhealthy),
        ),
        (
            "remove the only voter",
            (1, 0, &[], 100),
            remove(1),
            Err(Unhealthy),
        ),
        (
            "remove a learner",
            (3, 1, &[4], 0),
            remove(4),
            Ok(Kind::Remove),
        ),
        (
            "remove an unknown id",
            (3, 0, &[], 100),
            remove(42),
            Err(MemberNotFound),
        ),
        (
            "promote a caught-up learner",
            (3, 1, &[], 95),
            promote(4),
            Ok(Kind::Promote),
        ),
        (
            "promote a learner at 50%",
            (3, 1, &[], 50),
            promote(4),
            Err(LearnerNotReady),
        ),
        (
            "promote a voter",
            (3, 1, &[], 100),
            promote(2),
            Err(NotLearner),
        ),
        (
            "promote an unknown id",
            (3, 1, &[], 100),
            promote(42),
            Err(MemberNotFound),
        ),
        (
            "promote with 2 of 3 voters down",
            (3, 1, &[2, 3], 100),
            promote(4),
            Err(Unhealthy),
        ),
        (
            "update peer URLs",
            (3, 0, &[], 100),
            update(2, "http://127.0.0.1:7"),
            Ok(Kind::Update),
        ),
        (
            "update to another member's URL",
            (3, 0, &[], 100),
            update(2, &url(3)),
            Err(PeerUrlExists),
        ),
        (
            "update an unknown id",
            (3, 0, &[], 100),
            update(42, "http://127.0.0.1:7"),
            Err(MemberNotFound),
        ),
    ];
    for (name, (voters, learners, down, matched), change, want) in cases {
        let (record, progress) = setup(voters, learners, down, matched);
        let got = plan(&record, &progress, &change, 99);
        match (got, want) {
            (Ok(got), Ok(kind)) => assert_eq!(got.kind, kind as i32, "{name}"),
            (Err(got), Err(want)) => assert_eq!(got.to_string(), want.to_string(), "{name}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn an_added_member_gets_the_new_id_and_clean_urls() {
    let (record, progress) = setup(3, 0, &[], 100);
    let planned = plan(&record, &progress, &add(&["http://127.0.0.1:9/"], true), 99).unwrap();
    assert_eq!(
        planned.members,
        vec![ClusterMember {
            id: 99,
            peer_urls: vec!["http://127.0.0.1:9".into()],
            is_learner: true,
        }]
    );
}
