//! The FHIR `patch` interaction, with JSON Patch (RFC 6902) or FHIRPath Patch
//! (a Parameters body, [`fhirpath_patch`]).
//! <https://hl7.org/fhir/R4/http.html#patch>

pub mod fhirpath_patch;

use serde_json::Value;
use tillit_model::{Issue, IssueType, ResourceKey, VersionId};
use tillit_store::{Method, Transaction};

use crate::update::update_in;
use crate::{conditional, Error, Repository, Written};

/// Applies the JSON Patch `operations` to the current version of `key`, in its
/// own transaction; the result is validated like an update.
pub async fn patch(
    repo: &Repository,
    key: &ResourceKey,
    operations: Value,
    if_match: Option<VersionId>,
) -> Result<Written, Error> {
    repo.check_type(&key.resource_type)?;
    let txn = repo.store.begin().await?;
    let written = patch_in(repo, &txn, key, operations, if_match).await?;
    txn.commit().await?;
    Ok(written)
}

/// Conditional patch: the single match of `query` is patched; none is 404,
/// more than one 412.
pub async fn conditional_patch(
    repo: &Repository,
    resource_type: &str,
    query: &str,
    operations: Value,
    if_match: Option<VersionId>,
) -> Result<Written, Error> {
    repo.check_type(resource_type)?;
    let txn = repo.store.begin().await?;
    let found = conditional::matches(repo, &txn, resource_type, query, 2).await?;
    let key = match found.as_slice() {
        [found] => found.key.clone(),
        [] => return Err(Error::NotFound(format!("{resource_type}?{query}"))),
        _ => {
            return Err(Error::MultipleMatches(format!(
                "The conditional patch '{query}' matches more than one {resource_type}"
            )))
        }
    };
    let written = patch_in(repo, &txn, &key, operations, if_match).await?;
    txn.commit().await?;
    Ok(written)
}

/// Patches `key` inside `txn`.
pub async fn patch_in(
    repo: &Repository,
    txn: &Transaction,
    key: &ResourceKey,
    operations: Value,
    if_match: Option<VersionId>,
) -> Result<Written, Error> {
    let fhirpath = operations.get("resourceType").is_some();
    let current = match txn.current(key).await? {
        None => return Err(Error::NotFound(key.to_string())),
        Some(c) if c.is_deleted() => return Err(Error::Gone(key.to_string())),
        Some(c) => c,
    };
    let mut resource: Value = current
        .content
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| Error::Store(tillit_store::Error::Database(sea_orm_error(e))))?
        .unwrap_or(Value::Null);
    if fhirpath {
        resource =
            fhirpath_patch::apply(&repo.search_index(), &repo.validator, resource, &operations)?;
    } else {
        let patch: json_patch::Patch = serde_json::from_value(operations).map_err(|err| {
            Error::invalid(Issue::error(
                IssueType::Invalid,
                format!("The body is not a JSON Patch document: {err}"),
            ))
        })?;
        json_patch::patch(&mut resource, &patch).map_err(|err| {
            Error::Unprocessable(vec![Issue::error(
                IssueType::Processing,
                format!("The patch cannot be applied: {err}"),
            )])
        })?;
    }
    update_in(repo, txn, key, resource, if_match, Method::Patch).await
}

/// A stored resource that no longer parses is a database fault, not the client's.
fn sea_orm_error(err: serde_json::Error) -> tillit_store::DbErr {
    tillit_store::DbErr::Custom(format!("stored resource is not valid JSON: {err}"))
}
