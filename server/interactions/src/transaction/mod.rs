//! The FHIR `batch` and `transaction` interactions.
//! <https://hl7.org/fhir/R4/http.html#transaction>
//!
//! A transaction is one database transaction: ids are assigned and references
//! rewritten first, entries then run in the order the spec gives (deletes,
//! creates, updates, reads), and any failure rolls everything back and names
//! the entry. A batch runs each entry on its own and reports each outcome.

mod entry;
mod references;

use std::collections::HashSet;

use serde_json::{json, Value};
use tillit_model::{operation_outcome, Issue, IssueType, ResourceKey};
use tillit_store::{Method, Reader, Transaction};

use crate::bundle::{raw, Bundle, Entry};
use crate::resource::{body_id, new_id};
use crate::update::resolve_conditional_id;
use crate::{create, delete, patch, read, search, update, vread, Error, Repository, Written};
use entry::{patch_operations, Action, EntryRequest};
use references::IdMap;

/// What one entry produced: its `response` and, maybe, a resource.
struct EntryResult {
    status: String,
    location: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    resource: Option<String>,
}

impl EntryResult {
    fn written(w: &Written) -> EntryResult {
        EntryResult {
            status: if w.created { "201 Created" } else { "200 OK" }.into(),
            location: Some(format!("{}/_history/{}", w.key, w.stored.version)),
            etag: Some(w.stored.version.etag()),
            last_modified: Some(w.stored.last_updated.to_string()),
            resource: w.stored.content.clone(),
        }
    }

    fn status(status: &str, resource: Option<String>) -> EntryResult {
        EntryResult {
            status: status.into(),
            location: None,
            etag: None,
            last_modified: None,
            resource,
        }
    }

    fn failed(err: &Error) -> EntryResult {
        if let Error::Store(source) = err {
            tracing::error!(%source, "store failure in a batch entry");
        }
        let outcome = operation_outcome(&err.issues()).to_string();
        EntryResult::status(
            &format!("{} {}", err.status(), reason(err.status())),
            Some(outcome),
        )
    }
}

/// Processes a batch or transaction Bundle and returns the response Bundle as
/// JSON. With `minimal`, entries carry no resources.
pub async fn process(repo: &Repository, mut bundle: Value, minimal: bool) -> Result<String, Error> {
    let entries = match bundle.get_mut("entry").map(Value::take) {
        Some(Value::Array(entries)) => entries,
        _ => Vec::new(),
    };
    let kind = bundle
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let results = match kind {
        "batch" => batch(repo, entries).await,
        "transaction" => transaction(repo, entries).await?,
        other => {
            return Err(Error::invalid(Issue::error(
                IssueType::Invalid,
                format!(
                "Only batch and transaction Bundles can be posted to the base URL, not '{other}'"
            ),
            )))
        }
    };
    let mut response = Bundle::new(if kind == "batch" {
        "batch-response"
    } else {
        "transaction-response"
    });
    for result in results {
        let is_outcome = !result.status.starts_with('2');
        let mut response_element = json!({ "status": result.status });
        for (name, value) in [
            ("location", &result.location),
            ("etag", &result.etag),
            ("lastModified", &result.last_modified),
        ] {
            if let Some(value) = value {
                response_element[name] = json!(value);
            }
        }
        let (resource, outcome) = match result.resource {
            Some(r) if is_outcome => (None, raw(&r)),
            Some(r) if !minimal => (raw(&r), None),
            _ => (None, None),
        };
        if let Some(outcome) = outcome {
            response_element["outcome"] =
                serde_json::from_str(outcome.get()).unwrap_or(Value::Null);
        }
        response.push(Entry {
            full_url: result.location.as_ref().map(|l| {
                format!(
                    "{}/{}",
                    repo.base_url,
                    l.split("/_history").next().unwrap_or(l)
                )
            }),
            resource,
            response: Some(response_element),
            ..Entry::default()
        });
    }
    Ok(response.to_json())
}

async fn batch(repo: &Repository, entries: Vec<Value>) -> Vec<EntryResult> {
    let mut results = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let outcome = match EntryRequest::parse(index, entry, &repo.base_url) {
            Ok(request) => run_alone(repo, request).await,
            Err(err) => Err(err),
        };
        results.push(outcome.unwrap_or_else(|err| EntryResult::failed(&err)));
    }
    results
}

/// One batch entry, in its own database transaction.
async fn run_alone(repo: &Repository, request: EntryRequest) -> Result<EntryResult, Error> {
    let resource = request.resource.clone().unwrap_or(Value::Null);
    Ok(match request.action {
        Action::Create {
            resource_type,
            if_none_exist,
        } => EntryResult::written(
            &create::create(repo, &resource_type, resource, if_none_exist.as_deref()).await?,
        ),
        Action::Update(key) => {
            EntryResult::written(&update::update(repo, &key, resource, request.if_match).await?)
        }
        Action::ConditionalUpdate(t, q) => EntryResult::written(
            &update::conditional_update(repo, &t, &q, resource, request.if_match).await?,
        ),
        Action::Patch(key) => EntryResult::written(
            &patch::patch(repo, &key, patch_operations(&resource)?, request.if_match).await?,
        ),
        Action::Delete(key) => {
            delete::delete(repo, &key, request.if_match).await?;
            EntryResult::status("204 No Content", None)
        }
        Action::ConditionalDelete(t, q) => {
            delete::conditional_delete(repo, &t, &q).await?;
            EntryResult::status("204 No Content", None)
        }
        read_action => read_entry(repo, Reader::Committed(&repo.store), read_action).await?,
    })
}

async fn read_entry(
    repo: &Repository,
    reader: Reader<'_>,
    action: Action,
) -> Result<EntryResult, Error> {
    let (key, stored) = match action {
        Action::Read(key) => {
            let stored = read::read(repo, reader, &key).await?;
            (key, stored)
        }
        Action::Vread(key, version) => {
            let stored = vread::vread(repo, reader, &key, version).await?;
            (key, stored)
        }
        Action::Search(t, q) => {
            let params = crate::conditional::parse_query(&q);
            let url = format!("{}/{t}", repo.base_url);
            let request = search::Request {
                scope: search::Scope::Type(&t),
                params: &params,
                self_url: &url,
                strict: false,
                visibility: &tillit_store::Visibility::default(),
            };
            let bundle = search::search(repo, reader, &request).await?;
            return Ok(EntryResult::status("200 OK", Some(bundle)));
        }
        _ => return Err(Error::NotSupported("not a read".into())),
    };
    Ok(EntryResult {
        location: Some(format!("{key}/_history/{}", stored.version)),
        ..EntryResult::written(&Written {
            key,
            stored,
            created: false,
        })
    })
}

async fn transaction(repo: &Repository, entries: Vec<Value>) -> Result<Vec<EntryResult>, Error> {
    let mut requests = entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            EntryRequest::parse(index, entry, &repo.base_url)
                .map_err(|source| entry_error(index, "request", source))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let txn = repo.store.begin().await?;
    match run_all(repo, &txn, &mut requests).await {
        Ok(results) => {
            txn.commit().await?;
            Ok(results)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// Runs every entry in `txn` in the spec's order: deletes, then (after ids are
/// assigned and references rewritten) creates, then updates and patches, then
/// reads, which see the transaction's own writes. Any failure fails all.
async fn run_all(
    repo: &Repository,
    txn: &Transaction,
    requests: &mut [EntryRequest],
) -> Result<Vec<EntryResult>, Error> {
    let mut results: Vec<Option<EntryResult>> = requests.iter().map(|_| None).collect();
    let mut deleted = Vec::new();
    run_phase(
        repo,
        txn,
        requests,
        &mut results,
        &IdMap::new(),
        0,
        &mut deleted,
    )
    .await?;
    let ids = assign_ids(repo, txn, requests, &mut results, deleted).await?;
    run_phase(repo, txn, requests, &mut results, &ids, 1, &mut Vec::new()).await?;
    run_phase(repo, txn, requests, &mut results, &ids, 2, &mut Vec::new()).await?;
    for request in requests.iter().filter(|r| r.order() == 3) {
        let result = read_entry(repo, Reader::Within(txn), request.action.clone())
            .await
            .map_err(|source| entry_error(request.index, &request.label, source))?;
        results[request.index] = Some(result);
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| EntryResult::status("200 OK", None)))
        .collect())
}

/// Runs the entries of one processing phase that have no result yet,
/// collecting the resources deletes touched in `deleted`.
async fn run_phase(
    repo: &Repository,
    txn: &Transaction,
    requests: &mut [EntryRequest],
    results: &mut [Option<EntryResult>],
    ids: &IdMap,
    phase: u8,
    deleted: &mut Vec<ResourceKey>,
) -> Result<(), Error> {
    for (i, request) in requests.iter_mut().enumerate() {
        if results[i].is_some() || request.order() != phase {
            continue;
        }
        let (index, label) = (request.index, request.label.clone());
        let result = run_in(repo, txn, request, ids, deleted)
            .await
            .map_err(|source| entry_error(index, &label, source))?;
        results[i] = Some(result);
    }
    Ok(())
}

/// Gives every created or conditionally updated entry its id before anything
/// is written, so references between entries can be rewritten. A conditional
/// create that matches is answered here (200, nothing written).
async fn assign_ids(
    repo: &Repository,
    txn: &Transaction,
    requests: &mut [EntryRequest],
    results: &mut [Option<EntryResult>],
    deleted: Vec<ResourceKey>,
) -> Result<IdMap, Error> {
    let mut ids = IdMap::new();
    // What the deletes touched may not be the target of another entry.
    let mut targets: HashSet<ResourceKey> = deleted.into_iter().collect();
    for request in requests.iter_mut() {
        let (index, label) = (request.index, request.label.clone());
        let fail = |source| entry_error(index, &label, source);
        let key = match &request.action {
            Action::Create {
                resource_type,
                if_none_exist,
            } => {
                repo.check_type(resource_type).map_err(fail)?;
                let existing = match if_none_exist {
                    Some(q) => crate::conditional::matches(repo, txn, resource_type, q, 2)
                        .await
                        .map_err(fail)?,
                    None => Vec::new(),
                };
                if existing.len() > 1 {
                    return Err(fail(Error::MultipleMatches(format!(
                        "If-None-Exist matches more than one {resource_type}"
                    ))));
                }
                if let Some(found) = existing.into_iter().next() {
                    let key = found.key;
                    results[index] = Some(EntryResult::written(&Written {
                        key: key.clone(),
                        stored: found.stored,
                        created: false,
                    }));
                    key
                } else {
                    let key = ResourceKey::new(resource_type.clone(), new_id());
                    request.action = Action::Create {
                        resource_type: resource_type.clone(),
                        if_none_exist: None,
                    };
                    if let Some(Value::Object(resource)) = &mut request.resource {
                        resource.insert("id".into(), json!(key.id.to_string()));
                    }
                    key
                }
            }
            Action::Update(key) | Action::Patch(key) => key.clone(),
            Action::ConditionalUpdate(resource_type, query) => {
                repo.check_type(resource_type).map_err(fail)?;
                let resource = request.resource.clone().unwrap_or(Value::Null);
                let id = resolve_conditional_id(repo, txn, resource_type, query, &resource)
                    .await
                    .map_err(fail)?;
                if let Some(Value::Object(resource)) = &mut request.resource {
                    resource.insert("id".into(), json!(id.to_string()));
                }
                let key = ResourceKey::new(resource_type.clone(), id);
                request.action = Action::Update(key.clone());
                key
            }
            _ => continue,
        };
        if !targets.insert(key.clone()) {
            return Err(fail(Error::invalid(Issue::error(
                IssueType::Duplicate,
                format!("{key} is the target of more than one entry of this transaction"),
            ))));
        }
        if let Some(full_url) = &request.full_url {
            ids.insert(full_url.clone(), key.to_string());
        }
    }
    Ok(ids)
}

async fn run_in(
    repo: &Repository,
    txn: &Transaction,
    request: &mut EntryRequest,
    ids: &IdMap,
    deleted: &mut Vec<ResourceKey>,
) -> Result<EntryResult, Error> {
    if let Some(resource) = &mut request.resource {
        references::rewrite(repo, txn, resource, ids).await?;
    }
    let resource = request.resource.take().unwrap_or(Value::Null);
    Ok(match &request.action {
        Action::Create { resource_type, .. } => {
            let id = body_id(&resource)?;
            EntryResult::written(
                &create::create_in(repo, txn, resource_type, resource, None, id).await?,
            )
        }
        Action::Update(key) => EntryResult::written(
            &update::update_in(repo, txn, key, resource, request.if_match, Method::Put).await?,
        ),
        Action::Patch(key) => EntryResult::written(
            &patch::patch_in(
                repo,
                txn,
                key,
                patch_operations(&resource)?,
                request.if_match,
            )
            .await?,
        ),
        Action::Delete(key) => {
            repo.check_type(&key.resource_type)?;
            delete::delete_in(txn, key, request.if_match).await?;
            deleted.push(key.clone());
            EntryResult::status("204 No Content", None)
        }
        Action::ConditionalDelete(t, q) => {
            repo.check_type(t)?;
            deleted.extend(delete::conditional_delete_in(repo, txn, t, q).await?);
            EntryResult::status("204 No Content", None)
        }
        _ => return Err(Error::NotSupported("reads run after the writes".into())),
    })
}

fn entry_error(index: usize, request: &str, source: Error) -> Error {
    Error::Entry {
        index,
        request: request.to_owned(),
        source: Box::new(source),
    }
}

/// The reason phrase of the statuses interactions produce.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        422 => "Unprocessable Entity",
        _ => "Internal Server Error",
    }
}
