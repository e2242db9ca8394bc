//! State machine tests: a fixture that applies requests as consecutive raft entries.

mod basic;
mod blocks;
mod compact;
mod lease;
mod perf;
mod persist;
mod range;
mod txn;
mod txn_checks;

use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::request_op::Request as Op;
use skiff_proto::etcdserverpb::{
    CompactionRequest, Compare, DeleteRangeRequest, DeleteRangeResponse, LeaseGrantRequest,
    LeaseRevokeRequest, PutRequest, PutResponse, RangeRequest, RangeResponse, RequestOp,
    TxnRequest, TxnResponse,
};
use skiff_proto::mvccpb::KeyValue;
use skiff_proto::skiffstore::internal_request::Request;
use skiff_proto::skiffstore::InternalRequest;

use super::{Applied, Committed, Outcome, StateMachine};
use crate::error::StoreError;

pub(crate) fn temp_tree() -> (sled::Db, sled::Tree) {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let tree = db.open_tree("state").unwrap();
    (db, tree)
}

/// A state machine over a temporary tree, fed one raft entry per request.
pub(crate) struct Fixture {
    pub db: sled::Db,
    pub sm: StateMachine,
    pub index: u64,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let (db, tree) = temp_tree();
        Fixture {
            db,
            sm: StateMachine::open(tree).unwrap(),
            index: 0,
        }
    }

    pub(crate) fn entry(&mut self, request: Request) -> Committed {
        self.index += 1;
        Committed {
            index: self.index,
            request: Some(InternalRequest {
                proposer: 7,
                id: self.index,
                request: Some(request),
            }),
        }
    }

    pub(crate) fn apply_all(&mut self, requests: Vec<Request>) -> Vec<Applied> {
        let entries = requests.into_iter().map(|r| self.entry(r)).collect();
        self.sm.apply(entries).unwrap()
    }

    pub(crate) fn apply(&mut self, request: Request) -> Outcome {
        let mut out = self.apply_all(vec![request]);
        assert_eq!(out.len(), 1);
        let applied = out.remove(0);
        assert_eq!(
            (applied.index, applied.proposer, applied.id),
            (self.index, 7, self.index)
        );
        applied.outcome
    }

    pub(crate) fn put(&mut self, key: &str, value: &str) -> PutResponse {
        match self.apply(Request::Put(put_req(key, value))) {
            Outcome::Put(r) => r,
            other => panic!("put {key}: {other:?}"),
        }
    }

    pub(crate) fn put_with(&mut self, req: PutRequest) -> Result<PutResponse, StoreError> {
        match self.apply(Request::Put(req)) {
            Outcome::Put(r) => Ok(r),
            Outcome::Error(e) => Err(e),
            other => panic!("put: {other:?}"),
        }
    }

    pub(crate) fn delete(&mut self, key: &str, end: &str) -> DeleteRangeResponse {
        let req = DeleteRangeRequest {
            key: key.into(),
            range_end: end.into(),
            prev_kv: true,
        };
        match self.apply(Request::DeleteRange(req)) {
            Outcome::DeleteRange(r) => r,
            other => panic!("delete {key}: {other:?}"),
        }
    }

    pub(crate) fn txn(&mut self, req: TxnRequest) -> Result<TxnResponse, StoreError> {
        match self.apply(Request::Txn(req)) {
            Outcome::Txn(r) => Ok(r),
            Outcome::Error(e) => Err(e),
            other => panic!("txn: {other:?}"),
        }
    }

    pub(crate) fn compact(&mut self, revision: i64) -> Result<(), StoreError> {
        match self.apply(Request::Compaction(CompactionRequest {
            revision,
            physical: false,
        })) {
            Outcome::Compaction(r) => {
                assert_eq!(r.header.unwrap().revision, self.sm.revision());
                Ok(())
            }
            Outcome::Error(e) => Err(e),
            other => panic!("compact: {other:?}"),
        }
    }

    pub(crate) fn grant(&mut self, id: i64, ttl: i64) -> Result<(), StoreError> {
        match self.apply(Request::LeaseGrant(LeaseGrantRequest { ttl, id })) {
            Outcome::LeaseGrant(r) => {
                assert_eq!((r.id, r.ttl), (id, ttl));
                Ok(())
            }
            Outcome::Error(e) => Err(e),
            other => panic!("grant: {other:?}"),
        }
    }

    pub(crate) fn revoke(&mut self, id: i64) -> Result<i64, StoreError> {
        match self.apply(Request::LeaseRevoke(LeaseRevokeRequest { id })) {
            Outcome::LeaseRevoke(r) => Ok(r.header.unwrap().revision),
            Outcome::Error(e) => Err(e),
            other => panic!("revoke: {other:?}"),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<KeyValue> {
        self.get_at(key, 0).unwrap()
    }

    pub(crate) fn get_at(&self, key: &str, revision: i64) -> Result<Option<KeyValue>, StoreError> {
        let resp = self.sm.range(&RangeRequest {
            key: key.into(),
            revision,
            ..Default::default()
        })?;
        assert!(resp.kvs.len() <= 1);
        Ok(resp.kvs.into_iter().next())
    }

    pub(crate) fn range(&self, req: RangeRequest) -> Result<RangeResponse, StoreError> {
        self.sm.range(&req)
    }
}

pub(crate) fn put_req(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    }
}

pub(crate) fn range_req(key: &str, end: &str) -> RangeRequest {
    RangeRequest {
        key: key.into(),
        range_end: end.into(),
        ..Default::default()
    }
}

pub(crate) fn op_put(key: &str, value: &str) -> RequestOp {
    RequestOp {
        request: Some(Op::RequestPut(put_req(key, value))),
    }
}

pub(crate) fn op_del(key: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(Op::RequestDeleteRange(DeleteRangeRequest {
            key: key.into(),
            range_end: end.into(),
            prev_kv: false,
        })),
    }
}

pub(crate) fn op_range(key: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(Op::RequestRange(range_req(key, end))),
    }
}

pub(crate) fn op_txn(txn: TxnRequest) -> RequestOp {
    RequestOp {
        request: Some(Op::RequestTxn(txn)),
    }
}

pub(crate) fn cmp(
    key: &str,
    target: CompareTarget,
    result: CompareResult,
    value: TargetUnion,
) -> Compare {
    Compare {
        result: result as i32,
        target: target as i32,
        key: key.into(),
        target_union: Some(value),
        range_end: Vec::new(),
    }
}

pub(crate) fn kv_str(kv: &KeyValue) -> (String, String) {
    (
        String::from_utf8_lossy(&kv.key).into_owned(),
        String::from_utf8_lossy(&kv.value).into_owned(),
    )
}
