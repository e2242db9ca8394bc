//! Txn: request validation (etcd's `checkTxnRequest` and `checkIntervals`), compares,
//! and execution of the chosen branch with nested txns.
//!
//! As in etcd, every compare of the whole nested tree is evaluated against the state
//! before the txn (the branch path is fixed first); ranges and puts executed inside
//! the txn then see the txn's earlier writes.

use std::collections::BTreeSet;

use skiff_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use skiff_proto::etcdserverpb::request_op::Request as Op;
use skiff_proto::etcdserverpb::response_op::Response as OpResponse;
use skiff_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, ResponseHeader, ResponseOp,
    TxnRequest, TxnResponse,
};
use skiff_proto::mvccpb::KeyValue;

use super::range::{self, header};
use super::span::KeySpan;
use super::view::View;
use super::write::{Batch, WriteCtx};
use crate::error::{Result, StoreError};

/// etcd's default `--max-txn-ops`.
pub const MAX_TXN_OPS: usize = 128;

pub fn check_range_request(req: &RangeRequest) -> Result<()> {
    if req.key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    Ok(())
}

pub fn check_put(req: &PutRequest) -> Result<()> {
    if req.key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    if req.ignore_value && !req.value.is_empty() {
        return Err(StoreError::ValueProvided);
    }
    if req.ignore_lease && req.lease != 0 {
        return Err(StoreError::LeaseProvided);
    }
    Ok(())
}

pub fn check_delete_range(req: &DeleteRangeRequest) -> Result<()> {
    if req.key.is_empty() {
        return Err(StoreError::EmptyKey);
    }
    Ok(())
}

/// What the server checks before proposing a txn (etcd's checks, with its default
/// limit of [`MAX_TXN_OPS`] operations per list). Apply repeats these checks, without
/// the limit, so a txn that slipped through fails identically on every member.
pub fn check_txn(req: &TxnRequest) -> Result<()> {
    check_txn_ops(req, Some(MAX_TXN_OPS))?;
    check_intervals(&req.success)?;
    check_intervals(&req.failure)?;
    Ok(())
}

fn check_txn_ops(req: &TxnRequest, max_ops: Option<usize>) -> Result<()> {
    let opc = req
        .compare
        .len()
        .max(req.success.len())
        .max(req.failure.len());
    if max_ops.is_some_and(|m| opc > m) {
        return Err(StoreError::TooManyOps);
    }
    if req.compare.iter().any(|c| c.key.is_empty()) {
        return Err(StoreError::EmptyKey);
    }
    let nested = max_ops.map(|m| m - opc);
    for op in req.success.iter().chain(&req.failure) {
        match &op.request {
            Some(Op::RequestRange(r)) => check_range_request(r)?,
            Some(Op::RequestPut(p)) => check_put(p)?,
            Some(Op::RequestDeleteRange(d)) => check_delete_range(d)?,
            Some(Op::RequestTxn(t)) => check_txn_ops(t, nested)?,
            // etcd answers an empty op with "key not found".
            None => return Err(StoreError::KeyNotFound),
        }
    }
    Ok(())
}

/// A delete's interval: `[start, end)`, or one key when `end` is `None`. Bounds compare
/// as plain bytes (so a `"\0"` end covers nothing, exactly as etcd's check).
struct Del {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

fn hits(dels: &[Del], key: &[u8]) -> bool {
    dels.iter().any(|d| match &d.end {
        None => d.start.as_slice() == key,
        Some(end) => d.start.as_slice() <= key && key < end.as_slice(),
    })
}

/// etcd's `checkIntervals`: a key may be put once per branch, and not be put where a
/// delete of the same branch (or of a nested txn) covers it.
fn check_intervals(reqs: &[RequestOp]) -> Result<(BTreeSet<Vec<u8>>, Vec<Del>)> {
    let mut dels: Vec<Del> = Vec::new();
    for req in reqs {
        if let Some(Op::RequestDeleteRange(d)) = &req.request {
            let end = (!d.range_end.is_empty()).then(|| d.range_end.clone());
            dels.push(Del {
                start: d.key.clone(),
                end,
            });
        }
    }
    let mut puts = BTreeSet::new();
    for req in reqs {
        let Some(Op::RequestTxn(t)) = &req.request else {
            continue;
        };
        let (puts_then, dels_then) = check_intervals(&t.success)?;
        let (puts_else, dels_else) = check_intervals(&t.failure)?;
        for k in &puts_then {
            if puts.contains(k) || hits(&dels, k) {
                return Err(StoreError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        for k in puts_else {
            // then/else exclude each other, so a key in both is fine.
            if (puts.contains(&k) && !puts_then.contains(&k)) || hits(&dels, &k) {
                return Err(StoreError::DuplicateKey);
            }
            puts.insert(k);
        }
        dels.extend(dels_then);
        dels.extend(dels_else);
    }
    for req in reqs {
        let Some(Op::RequestPut(p)) = &req.request else {
            continue;
        };
        if puts.contains(&p.key) || hits(&dels, &p.key) {
            return Err(StoreError::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}

/// The branch taken by a txn and by each nested txn of that branch, in op order.
struct Path {
    succeeded: bool,
    children: Vec<Path>,
}

fn compare_path(view: &View<'_>, req: &TxnRequest) -> Result<Path> {
    let mut succeeded = true;
    for c in &req.compare {
        if !compare(view, c)? {
            succeeded = false;
            break;
        }
    }
    let ops = if succeeded {
        &req.success
    } else {
        &req.failure
    };
    let mut children = Vec::new();
    for op in ops {
        if let Some(Op::RequestTxn(t)) = &op.request {
            children.push(compare_path(view, t)?);
        }
    }
    Ok(Path {
        succeeded,
        children,
    })
}

/// etcd's `applyCompare`: every existing key of the range must satisfy the compare;
/// an empty range compares a zero KeyValue, except that a value compare then fails.
fn compare(view: &View<'_>, c: &Compare) -> Result<bool> {
    let target = c.target();
    let hits = view.range(&KeySpan::new(&c.key, &c.range_end), i64::MAX);
    if hits.is_empty() {
        return Ok(target != CompareTarget::Value && compare_kv(c, &KeyValue::default()));
    }
    for hit in &hits {
        let kv = match (target, hit.lease) {
            (CompareTarget::Value, _) | (CompareTarget::Lease, None) => view.load_existing(hit)?,
            (_, lease) => KeyValue {
                key: Vec::new(),
                create_revision: hit.create,
                mod_revision: hit.rev.main,
                version: hit.version,
                value: Vec::new(),
                lease: lease.unwrap_or(0),
            },
        };
        if !compare_kv(c, &kv) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    // A target union of another kind than the target compares against zero / empty.
    let ord = match c.target() {
        CompareTarget::Value => {
            let v: &[u8] = match &c.target_union {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_slice().cmp(v)
        }
        CompareTarget::Version => kv.version.cmp(&match c.target_union {
            Some(TargetUnion::Version(v)) => v,
            _ => 0,
        }),
        CompareTarget::Create => kv.create_revision.cmp(&match c.target_union {
            Some(TargetUnion::CreateRevision(v)) => v,
            _ => 0,
        }),
        CompareTarget::Mod => kv.mod_revision.cmp(&match c.target_union {
            Some(TargetUnion::ModRevision(v)) => v,
            _ => 0,
        }),
        CompareTarget::Lease => kv.lease.cmp(&match c.target_union {
            Some(TargetUnion::Lease(v)) => v,
            _ => 0,
        }),
    };
    match c.result() {
        CompareResult::Equal => ord.is_eq(),
        CompareResult::NotEqual => ord.is_ne(),
        CompareResult::Greater => ord.is_gt(),
        CompareResult::Less => ord.is_lt(),
    }
}

/// etcd's `checkTxn` along the chosen path, against the state before the txn.
fn check_path(batch: &Batch<'_>, req: &TxnRequest, path: &Path) -> Result<()> {
    let ops = if path.succeeded {
        &req.success
    } else {
        &req.failure
    };
    let mut children = path.children.iter();
    let before = batch.pending.rev;
    for op in ops {
        match &op.request {
            Some(Op::RequestRange(r)) if r.revision != 0 => {
                if r.revision > before {
                    return Err(StoreError::FutureRevision);
                }
                if r.revision < batch.compact_revision() {
                    return Err(StoreError::Compacted);
                }
            }
            Some(Op::RequestPut(p)) => batch.check_put_state(p)?,
            Some(Op::RequestTxn(t)) => {
                let child = children
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("txn path".into()))?;
                check_path(batch, t, child)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn execute(
    batch: &mut Batch<'_>,
    ctx: &mut WriteCtx,
    req: &TxnRequest,
    path: &Path,
) -> Result<TxnResponse> {
    let ops = if path.succeeded {
        &req.success
    } else {
        &req.failure
    };
    let mut children = path.children.iter();
    let mut responses = Vec::with_capacity(ops.len());
    for op in ops {
        let response = match &op.request {
            Some(Op::RequestRange(r)) => {
                let cur = batch.revision_in(ctx);
                let view = batch.view();
                let plan = range::plan(&view, r, cur, batch.compact_revision())?;
                let resp = range::finish(plan, |hit| view.load_existing(hit).map(Some))?;
                OpResponse::ResponseRange(
                    resp.ok_or_else(|| StoreError::Corrupt("txn range".into()))?,
                )
            }
            Some(Op::RequestPut(p)) => OpResponse::ResponsePut(batch.put(ctx, p)?),
            Some(Op::RequestDeleteRange(d)) => {
                OpResponse::ResponseDeleteRange(batch.delete_range(ctx, d)?)
            }
            Some(Op::RequestTxn(t)) => {
                let child = children
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("txn path".into()))?;
                let mut resp = execute(batch, ctx, t, child)?;
                // etcd leaves nested txn headers empty.
                resp.header = Some(ResponseHeader::default());
                OpResponse::ResponseTxn(resp)
            }
            None => return Err(StoreError::KeyNotFound),
        };
        responses.push(ResponseOp {
            response: Some(response),
        });
    }
    Ok(TxnResponse {
        header: None,
        succeeded: path.succeeded,
        responses,
    })
}

/// Applies a txn atomically: either every write of the chosen path or none.
pub(crate) fn apply_txn(batch: &mut Batch<'_>, req: &TxnRequest) -> Result<TxnResponse> {
    check_txn_ops(req, None)?;
    check_intervals(&req.success)?;
    check_intervals(&req.failure)?;
    let path = compare_path(&batch.view(), req)?;
    check_path(batch, req, &path)?;
    let mut ctx = batch.begin();
    match execute(batch, &mut ctx, req, &path) {
        Ok(mut resp) => {
            let revision = batch.finish(ctx);
            resp.header = header(revision);
            Ok(resp)
        }
        Err(e) => {
            batch.rollback(ctx);
            Err(e)
        }
    }
}

/// Whether either branch of `req` (nested txns included) may put a key.
pub(crate) fn has_put(req: &TxnRequest) -> bool {
    req.success
        .iter()
        .chain(&req.failure)
        .any(|op| match &op.request {
            Some(Op::RequestPut(_)) => true,
            Some(Op::RequestTxn(t)) => has_put(t),
            _ => false,
        })
}
