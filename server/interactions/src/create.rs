//! The FHIR `create` interaction, with conditional create (`If-None-Exist`).
//! <https://hl7.org/fhir/R4/http.html#create>

use serde_json::Value;
use tillit_model::{Id, Instant, Issue, IssueType, ResourceKey, VersionId};
use tillit_store::{Method, NewVersion, Transaction};

use crate::resource::{check, new_id, stamp};
use crate::{conditional, Error, Repository, Written};

/// Creates `resource` as a new `resource_type` with a server-assigned id, in its
/// own database transaction.
pub async fn create(
    repo: &Repository,
    resource_type: &str,
    resource: Value,
    if_none_exist: Option<&str>,
) -> Result<Written, Error> {
    let txn = repo.store.begin().await?;
    let written = create_in(repo, &txn, resource_type, resource, if_none_exist, None).await?;
    txn.commit().await?;
    Ok(written)
}

/// Creates inside `txn`. With `if_none_exist`, an existing single match is
/// returned instead (200), and two or more matches fail (412). `id` is the id
/// to use when a transaction already assigned one.
pub async fn create_in(
    repo: &Repository,
    txn: &Transaction,
    resource_type: &str,
    resource: Value,
    if_none_exist: Option<&str>,
    id: Option<Id>,
) -> Result<Written, Error> {
    repo.check_type(resource_type)?;
    check(repo, &resource, Some(resource_type))?;
    if let Some(query) = if_none_exist {
        let found = conditional::matches(repo, txn, resource_type, query, 2).await?;
        match found.as_slice() {
            [] => {}
            [found] => {
                return Ok(Written {
                    key: found.key.clone(),
                    stored: found.stored.clone(),
                    created: false,
                })
            }
            _ => {
                return Err(Error::MultipleMatches(format!(
                    "If-None-Exist '{query}' matches more than one {resource_type}"
                )))
            }
        }
    }
    // An id that exists already has a version 1: the store's unique key turns
    // the write into a 409 without a look-up first.
    let key = ResourceKey::new(resource_type, id.unwrap_or_else(new_id));
    repo.activate_if_definition(&key.resource_type, &resource);
    write_version(
        repo,
        txn,
        &key,
        resource,
        VersionId::FIRST,
        Method::Post,
        true,
    )
    .await
}

/// Stamps and writes one version of `key` (shared by create, update and patch).
pub(crate) async fn write_version(
    repo: &Repository,
    txn: &Transaction,
    key: &ResourceKey,
    resource: Value,
    version: VersionId,
    method: Method,
    created: bool,
) -> Result<Written, Error> {
    let now = Instant::now();
    let index = repo.search_index().rows(&resource);
    let content = stamp(resource, &key.id, version, now);
    txn.write(&NewVersion {
        key,
        version,
        last_updated: now,
        method,
        content: Some(&content),
        index: &index,
    })
    .await?;
    Ok(Written {
        key: key.clone(),
        stored: tillit_store::Stored {
            version,
            last_updated: now,
            content: Some(content),
        },
        created,
    })
}

/// The 400 for a request whose body names an id the interaction does not allow.
pub(crate) fn id_mismatch(url_id: &Id, body_id: &Id) -> Error {
    Error::invalid(
        Issue::error(
            IssueType::Invalid,
            format!("The resource id '{body_id}' differs from the id '{url_id}' in the URL"),
        )
        .at("id"),
    )
}
