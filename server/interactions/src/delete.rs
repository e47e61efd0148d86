//! The FHIR `delete` interaction and conditional delete (single and multiple).
//! Deletion writes a version that records it: history is kept, and a read
//! afterwards gives 410 Gone.
//! <https://hl7.org/fhir/R4/http.html#delete>

use tillit_model::{Instant, ResourceKey, VersionId};
use tillit_store::{Method, NewVersion, Transaction};

use crate::{conditional, Error, Repository};

/// The most resources one conditional delete may remove.
pub const MAX_CONDITIONAL_DELETES: u32 = 1000;

/// Deletes `key` in its own transaction; returns the deletion's version, or
/// `None` when there was nothing to delete (already deleted or never existed).
pub async fn delete(
    repo: &Repository,
    key: &ResourceKey,
    if_match: Option<VersionId>,
) -> Result<Option<VersionId>, Error> {
    repo.check_type(&key.resource_type)?;
    let txn = repo.store.begin().await?;
    let deleted = delete_in(&txn, key, if_match).await?;
    txn.commit().await?;
    Ok(deleted)
}

/// Deletes `key` inside `txn`.
pub async fn delete_in(
    txn: &Transaction,
    key: &ResourceKey,
    if_match: Option<VersionId>,
) -> Result<Option<VersionId>, Error> {
    let current = txn.current_version(key).await?;
    if let Some(expected) = if_match {
        if current.map(|(version, _)| version) != Some(expected) {
            return Err(Error::PreconditionFailed(format!(
                "If-Match names version {expected} of {key}, which is not the current version"
            )));
        }
    }
    let Some((current, false)) = current else {
        return Ok(None);
    };
    let version = current.next();
    txn.write(&NewVersion {
        key,
        version,
        last_updated: Instant::now(),
        method: Method::Delete,
        content: None,
        index: &[],
    })
    .await?;
    Ok(Some(version))
}

/// Conditional delete in its own transaction: deletes every match, up to
/// [`MAX_CONDITIONAL_DELETES`] (more is 412). Returns how many were deleted.
pub async fn conditional_delete(
    repo: &Repository,
    resource_type: &str,
    query: &str,
) -> Result<usize, Error> {
    repo.check_type(resource_type)?;
    let txn = repo.store.begin().await?;
    let deleted = conditional_delete_in(repo, &txn, resource_type, query).await?;
    txn.commit().await?;
    Ok(deleted.len())
}

/// Conditional delete inside `txn`; returns the resources it deleted.
pub async fn conditional_delete_in(
    repo: &Repository,
    txn: &Transaction,
    resource_type: &str,
    query: &str,
) -> Result<Vec<ResourceKey>, Error> {
    let found =
        conditional::matches(repo, txn, resource_type, query, MAX_CONDITIONAL_DELETES + 1).await?;
    if found.len() > MAX_CONDITIONAL_DELETES as usize {
        return Err(Error::MultipleMatches(format!(
            "The conditional delete '{query}' matches more than {MAX_CONDITIONAL_DELETES} resources"
        )));
    }
    let mut deleted = Vec::with_capacity(found.len());
    for found in found {
        let key = found.key;
        delete_in(txn, &key, None).await?;
        deleted.push(key);
    }
    Ok(deleted)
}
