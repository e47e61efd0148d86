//! The FHIR `update` interaction, update-as-create with a client id, and
//! conditional update.
//! <https://hl7.org/fhir/R4/http.html#update>

use serde_json::Value;
use tillit_model::{Issue, IssueType, ResourceKey, VersionId};
use tillit_store::{Method, Transaction};

use crate::create::{id_mismatch, write_version};
use crate::resource::{body_id, check, new_id};
use crate::{conditional, Error, Repository, Written};

/// Updates (or creates) `key` with `resource` in its own database transaction.
pub async fn update(
    repo: &Repository,
    key: &ResourceKey,
    resource: Value,
    if_match: Option<VersionId>,
) -> Result<Written, Error> {
    let txn = repo.store.begin().await?;
    let written = update_in(repo, &txn, key, resource, if_match, Method::Put).await?;
    txn.commit().await?;
    Ok(written)
}

/// Updates inside `txn`. The body's id must equal the URL's; with `if_match`,
/// the current version must be that one (412 otherwise). The current row is
/// locked, so concurrent updates get strictly sequential versions.
pub async fn update_in(
    repo: &Repository,
    txn: &Transaction,
    key: &ResourceKey,
    resource: Value,
    if_match: Option<VersionId>,
    method: Method,
) -> Result<Written, Error> {
    repo.check_type(&key.resource_type)?;
    check(repo, &resource, Some(&key.resource_type))?;
    match body_id(&resource)? {
        Some(id) if id == key.id => {}
        Some(id) => return Err(id_mismatch(&key.id, &id)),
        None => {
            return Err(Error::invalid(Issue::error(
                IssueType::Required,
                "An update needs the resource id in the body, equal to the id in the URL",
            )))
        }
    }
    let current = txn.current_version(key).await?;
    if let Some(expected) = if_match {
        let actual = current.map(|(version, _)| version);
        if actual != Some(expected) {
            return Err(Error::PreconditionFailed(format!(
                "If-Match names version {expected} of {key}, but the current version is {}",
                actual.map_or("none".to_owned(), |v| v.to_string())
            )));
        }
    }
    let (version, created) = match current {
        Some((version, deleted)) => (version.next(), deleted),
        None => (VersionId::FIRST, true),
    };
    repo.activate_if_definition(&key.resource_type, &resource);
    write_version(repo, txn, key, resource, version, method, created).await
}

/// Conditional update in its own database transaction.
pub async fn conditional_update(
    repo: &Repository,
    resource_type: &str,
    query: &str,
    resource: Value,
    if_match: Option<VersionId>,
) -> Result<Written, Error> {
    let txn = repo.store.begin().await?;
    let written =
        conditional_update_in(repo, &txn, resource_type, query, resource, if_match).await?;
    txn.commit().await?;
    Ok(written)
}

/// Conditional update inside `txn`: no match creates (with the body's id if it
/// has one), one match updates it, more than one is 412.
pub async fn conditional_update_in(
    repo: &Repository,
    txn: &Transaction,
    resource_type: &str,
    query: &str,
    mut resource: Value,
    if_match: Option<VersionId>,
) -> Result<Written, Error> {
    repo.check_type(resource_type)?;
    let found = conditional::matches(repo, txn, resource_type, query, 2).await?;
    let id = match (found.as_slice(), body_id(&resource)?) {
        ([], Some(id)) => id,
        ([], None) => new_id(),
        ([matched], Some(id)) if matched.key.id != id => {
            return Err(id_mismatch(&matched.key.id, &id))
        }
        ([matched], _) => matched.key.id.clone(),
        _ => {
            return Err(Error::MultipleMatches(format!(
                "The conditional update '{query}' matches more than one {resource_type}"
            )))
        }
    };
    if let Value::Object(object) = &mut resource {
        object.insert("id".into(), Value::String(id.to_string()));
    }
    let key = ResourceKey::new(resource_type, id);
    update_in(repo, txn, &key, resource, if_match, Method::Put).await
}

/// The id a conditional update resolves to, for transactions that must know it
/// before they write (to rewrite references): the single match, or a new id.
pub async fn resolve_conditional_id(
    repo: &Repository,
    txn: &Transaction,
    resource_type: &str,
    query: &str,
    resource: &Value,
) -> Result<tillit_model::Id, Error> {
    let found = conditional::matches(repo, txn, resource_type, query, 2).await?;
    match (found.as_slice(), body_id(resource)?) {
        ([], Some(id)) => Ok(id),
        ([], None) => Ok(new_id()),
        ([matched], Some(id)) if matched.key.id != id => Err(id_mismatch(&matched.key.id, &id)),
        ([matched], _) => Ok(matched.key.id.clone()),
        _ => Err(Error::MultipleMatches(format!(
            "The conditional update '{query}' matches more than one {resource_type}"
        ))),
    }
}
