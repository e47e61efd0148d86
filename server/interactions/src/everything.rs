//! `Patient/[id]/$everything`: the patient, every resource in its compartment,
//! and the resources those reference (practitioners, organisations,
//! medications…), paged like a search, with `_since`, `_type` and `_count`.
//! <https://hl7.org/fhir/R4/patient-operation-everything.html>

use tillit_model::{Issue, IssueType, ResourceKey};
use tillit_store::{Reader, Visibility};

use crate::index::Kind;
use crate::search::{self, Scope};
use crate::{Error, Repository};

/// An `$everything` request.
pub struct Request<'a> {
    /// The patient (or other compartment owner).
    pub key: &'a ResourceKey,
    /// `_since`, `_type`, `_count`, `_cursor`.
    pub params: &'a [(String, String)],
    /// The operation's URL, for links.
    pub self_url: &'a str,
    /// What the caller may see.
    pub visibility: &'a Visibility,
}

/// Runs `$everything` and returns the searchset Bundle as JSON.
pub async fn everything(repo: &Repository, request: &Request<'_>) -> Result<String, Error> {
    let compartment = request.key.resource_type.as_str();
    if repo.registry.compartment(compartment).is_none() {
        return Err(Error::invalid(Issue::error(
            IssueType::NotSupported,
            format!("$everything is not defined on {compartment}"),
        )));
    }
    if repo
        .store
        .read(request.key)
        .await?
        .is_none_or(|stored| stored.content.is_none())
    {
        return Err(Error::NotFound(request.key.to_string()));
    }
    // `_since` is `_lastUpdated=ge…`; `_type` narrows the compartment's types.
    let mut params: Vec<(String, String)> = Vec::new();
    let mut wanted: Option<Vec<String>> = None;
    for (name, value) in request.params {
        match name.as_str() {
            "_since" => params.push(("_lastUpdated".into(), format!("ge{value}"))),
            "_type" => {
                wanted = Some(value.split(',').map(str::to_owned).collect());
                params.push((name.clone(), value.clone()));
            }
            "_count" | "_cursor" | "_total" | "_elements" | "_summary" | "_format" | "_pretty" => {
                params.push((name.clone(), value.clone()))
            }
            _ => {}
        }
    }
    // What the compartment's resources reference comes along as `include`.
    let index = repo.search_index();
    if let Some(members) = repo.registry.compartment(compartment) {
        for ty in members.keys() {
            let in_scope = wanted.as_ref().is_none_or(|w| w.contains(ty));
            if in_scope && index.params(ty).any(|p| p.kind == Kind::Reference) {
                params.push(("_include".into(), format!("{ty}:*")));
            }
        }
    }
    let search = search::Request {
        scope: Scope::Compartment {
            compartment,
            id: request.key.id.as_str(),
            resource_type: None,
        },
        params: &params,
        self_url: request.self_url,
        strict: false,
        visibility: request.visibility,
    };
    search::search(repo, Reader::Committed(&repo.store), &search).await
}
