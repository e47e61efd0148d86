//! Resolving the references of a transaction: `urn:uuid:` and other `fullUrl`s
//! of its own entries, and conditional references (`Patient?identifier=…`),
//! rewritten in every Reference of every entry.

use std::collections::HashMap;

use serde_json::Value;
use tillit_model::{Issue, IssueType};
use tillit_store::Transaction;

use crate::{conditional, Error, Repository};

/// `fullUrl` → `Type/id` for the entries of one transaction.
pub type IdMap = HashMap<String, String>;

/// Rewrites every `reference` in `resource`: entries' `fullUrl`s become their
/// `Type/id`, conditional references their single match. An unresolvable
/// `urn:uuid:` or a conditional reference without exactly one match fails.
pub async fn rewrite(
    repo: &Repository,
    txn: &Transaction,
    resource: &mut Value,
    ids: &IdMap,
) -> Result<(), Error> {
    let mut references = Vec::new();
    collect(resource, &mut references);
    let mut resolved: HashMap<String, String> = HashMap::new();
    for reference in references {
        if resolved.contains_key(&reference) {
            continue;
        }
        if let Some(target) = resolve(repo, txn, &reference, ids).await? {
            resolved.insert(reference, target);
        }
    }
    if !resolved.is_empty() {
        replace(resource, &resolved);
    }
    Ok(())
}

async fn resolve(
    repo: &Repository,
    txn: &Transaction,
    reference: &str,
    ids: &IdMap,
) -> Result<Option<String>, Error> {
    if let Some(target) = ids.get(reference) {
        return Ok(Some(target.clone()));
    }
    if reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:") {
        return Err(Error::invalid(Issue::error(
            IssueType::NotFound,
            format!("The reference '{reference}' names no entry of this transaction"),
        )));
    }
    let Some((resource_type, query)) = reference.split_once('?') else {
        return Ok(None);
    };
    if resource_type.contains('/') {
        return Ok(None);
    }
    repo.check_type(resource_type)?;
    let found = conditional::matches(repo, txn, resource_type, query, 2).await?;
    match found.as_slice() {
        [found] => Ok(Some(found.key.to_string())),
        [] => Err(Error::invalid(Issue::error(
            IssueType::NotFound,
            format!("The conditional reference '{reference}' matches no resource"),
        ))),
        _ => Err(Error::MultipleMatches(format!(
            "The conditional reference '{reference}' matches more than one resource"
        ))),
    }
}

/// Every `reference` string in `value`, depth first.
fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child) {
                    ("reference", Value::String(reference)) => out.push(reference.clone()),
                    _ => collect(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        _ => {}
    }
}

fn replace(value: &mut Value, resolved: &HashMap<String, String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                match (key.as_str(), &mut *child) {
                    ("reference", Value::String(reference)) => {
                        if let Some(target) = resolved.get(reference.as_str()) {
                            *reference = target.clone();
                        }
                    }
                    _ => replace(child, resolved),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| replace(item, resolved)),
        _ => {}
    }
}
