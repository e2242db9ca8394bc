//! Dry runs (`?dryRun=All`): a request goes through decoding, defaults, validation,
//! authorization and the compare-and-swap decisions as it would, and only the store write is
//! left out. Every registry write ends in `put_if` or `delete_if`; in a dry run they read the
//! key and answer what the write would have met, so AlreadyExists, Conflict and NotFound come
//! out as they would, and nothing is stored.

use crate::store::{Cas, Store};
use skiff_api::error::ApiError;

use super::Cond;

/// What a conditional write of `key` would meet now, without writing: `Done` at the key's
/// current revision (0 for a create: nothing was written, so the object has no
/// resourceVersion), or `Lost` with what the key holds.
pub(super) async fn simulate(store: &Store, key: &str, cond: Cond) -> Result<Cas, ApiError> {
    let current = store.get(key).await?;
    Ok(match (cond, current) {
        (Cond::Absent, None) => Cas::Done { revision: 0 },
        (Cond::ModRevision(want), Some(kv)) if kv.mod_revision == want => {
            Cas::Done { revision: want }
        }
        (_, current) => Cas::Lost { current },
    })
}

/// The value of `dryRun`: empty (a real write) or `All`, the only value Kubernetes accepts.
pub fn parse(value: &str) -> Result<bool, ApiError> {
    match value {
        "" => Ok(false),
        "All" => Ok(true),
        other => Err(ApiError::bad_request(format!(
            "dryRun: Unsupported value: {other:?}: supported values: \"All\""
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_all_is_a_dry_run() {
        assert!(!parse("").unwrap());
        assert!(parse("All").unwrap());
        let refused = parse("all").unwrap_err().to_string();
        assert!(refused.contains("supported values: \"All\""), "{refused}");
    }
}
