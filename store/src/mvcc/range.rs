//! Range requests with etcd's options: revision, limit/more, sort, count_only,
//! keys_only and the min/max mod/create revision filters.
//!
//! Split in two steps so the read path can hold the index lock only while choosing
//! keys (`plan`, in memory) and read values afterwards (`finish`).

use std::cmp::Ordering;

use skiff_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use skiff_proto::etcdserverpb::{RangeRequest, RangeResponse, ResponseHeader};
use skiff_proto::mvccpb::KeyValue;

use super::span::KeySpan;
use super::view::{Hit, View};
use crate::error::{Result, StoreError};

pub(crate) struct Plan {
    hits: Vec<Hit>,
    count: i64,
    more: bool,
    /// sort by value once values are read: Some(descending).
    value_sort: Option<bool>,
    limit: i64,
    keys_only: bool,
    revision: i64,
}

pub(crate) fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..Default::default()
    })
}

/// Chooses the keys of a range at the view's revision `cur` (the header revision).
pub(crate) fn plan(view: &View<'_>, req: &RangeRequest, cur: i64, compact: i64) -> Result<Plan> {
    let at = if req.revision <= 0 { cur } else { req.revision };
    if at > cur {
        return Err(StoreError::FutureRevision);
    }
    if at < compact {
        return Err(StoreError::Compacted);
    }
    let span = KeySpan::new(&req.key, &req.range_end);
    let mut hits = view.range(&span, at);
    // etcd counts every key of the range, before the revision filters.
    let count = hits.len() as i64;
    let mut plan = Plan {
        hits: Vec::new(),
        count,
        more: false,
        value_sort: None,
        limit: req.limit,
        keys_only: req.keys_only,
        revision: cur,
    };
    if req.count_only {
        return Ok(plan);
    }
    if req.max_mod_revision != 0 {
        hits.retain(|h| h.rev.main <= req.max_mod_revision);
    }
    if req.min_mod_revision != 0 {
        hits.retain(|h| h.rev.main >= req.min_mod_revision);
    }
    if req.max_create_revision != 0 {
        hits.retain(|h| h.create <= req.max_create_revision);
    }
    if req.min_create_revision != 0 {
        hits.retain(|h| h.create >= req.min_create_revision);
    }
    let target = req.sort_target();
    let order = match (req.sort_order(), target) {
        // Results come in ascending key order already.
        (SortOrder::None, SortTarget::Key) | (SortOrder::Ascend, SortTarget::Key) => {
            SortOrder::None
        }
        (SortOrder::None, _) => SortOrder::Ascend,
        (o, _) => o,
    };
    if order != SortOrder::None {
        let desc = order == SortOrder::Descend;
        let field = |h: &Hit| match target {
            SortTarget::Version => h.version,
            SortTarget::Create => h.create,
            SortTarget::Mod => h.rev.main,
            SortTarget::Key | SortTarget::Value => 0,
        };
        match target {
            SortTarget::Value => plan.value_sort = Some(desc),
            // Stable sorts: ties keep ascending key order, so every member answers alike.
            SortTarget::Key => hits.sort_by(|a, b| directed(a.key.cmp(&b.key), desc)),
            _ => hits.sort_by(|a, b| directed(field(a).cmp(&field(b)), desc)),
        }
    }
    if plan.value_sort.is_none() {
        truncate(&mut hits, req.limit, &mut plan.more);
    }
    plan.hits = hits;
    Ok(plan)
}

fn directed(o: Ordering, desc: bool) -> Ordering {
    if desc {
        o.reverse()
    } else {
        o
    }
}

fn truncate<T>(items: &mut Vec<T>, limit: i64, more: &mut bool) {
    if limit > 0 && items.len() as i64 > limit {
        items.truncate(limit as usize);
        *more = true;
    }
}

/// Reads the values of a plan. `Ok(None)` when a record vanished meanwhile.
///
/// Values are read in revision order, not key order: history is stored in blocks of
/// consecutive revisions, so a range over keys written at scattered times (every pod of a
/// cluster) reads each block once instead of once per key.
pub(crate) fn finish(
    mut plan: Plan,
    mut load: impl FnMut(&Hit) -> Result<Option<KeyValue>>,
) -> Result<Option<RangeResponse>> {
    let mut by_revision: Vec<usize> = (0..plan.hits.len()).collect();
    by_revision.sort_unstable_by_key(|&i| plan.hits[i].rev);
    let mut slots: Vec<Option<KeyValue>> = vec![None; plan.hits.len()];
    for i in by_revision {
        match load(&plan.hits[i])? {
            Some(kv) => slots[i] = Some(kv),
            None => return Ok(None),
        }
    }
    let mut kvs: Vec<KeyValue> = slots.into_iter().flatten().collect();
    if let Some(desc) = plan.value_sort {
        kvs.sort_by(|a, b| directed(a.value.cmp(&b.value), desc));
        truncate(&mut kvs, plan.limit, &mut plan.more);
    }
    if plan.keys_only {
        for kv in &mut kvs {
            kv.value = Vec::new();
        }
    }
    Ok(Some(RangeResponse {
        header: header(plan.revision),
        kvs,
        more: plan.more,
        count: plan.count,
    }))
}
