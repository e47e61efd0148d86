//! The FHIR `search` interaction: over one type, over several (system search),
//! and within a compartment (`Patient/123/Observation`), answered as a
//! searchset Bundle with `_include`d resources and keyset paging links.
//! <https://hl7.org/fhir/R4/http.html#search>

pub mod parse;
mod values;

use serde_json::json;
use tillit_model::{operation_outcome, Issue, IssueSeverity, IssueType};
use tillit_store::{Condition, Found, Reader, Visibility};

use crate::bundle::{raw, Bundle, Entry};
use crate::history::with_query;
use crate::subset::Subset;
use crate::{Error, Repository};

pub use parse::{Search, DEFAULT_COUNT, MAX_COUNT};

/// The most resources `_include` and `_revinclude` add to one page.
pub const MAX_INCLUDES: usize = 1000;

/// What a search covers.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// One resource type: `GET [base]/Patient?…`.
    Type(&'a str),
    /// Every type, or those `_type` names: `GET [base]?…`.
    System,
    /// A compartment: `GET [base]/Patient/123/Observation?…` (or `/*`).
    Compartment {
        /// The compartment type, such as `Patient`.
        compartment: &'a str,
        /// The compartment owner's id.
        id: &'a str,
        /// The type searched, or `None` for every type in the compartment.
        resource_type: Option<&'a str>,
    },
}

/// A search request: where, with which parameters, for whom.
pub struct Request<'a> {
    /// What the search covers.
    pub scope: Scope<'a>,
    /// The query parameters (from the URL or a `_search` form body).
    pub params: &'a [(String, String)],
    /// The URL the links are built on (the type's, the base's, the compartment's).
    pub self_url: &'a str,
    /// `Prefer: handling=strict`: refuse unknown parameters instead of ignoring them.
    pub strict: bool,
    /// What the caller may see.
    pub visibility: &'a Visibility,
}

/// Runs a search and returns the searchset Bundle as JSON.
pub async fn search(
    repo: &Repository,
    reader: Reader<'_>,
    request: &Request<'_>,
) -> Result<String, Error> {
    let (types, scope_condition) = scope(repo, request.scope, request.params)?;
    // Terminology modifiers may name value sets and code systems clients stored.
    let terminology_modifier = request.params.iter().any(|(name, _)| {
        [":in", ":not-in", ":above", ":below"]
            .iter()
            .any(|m| name.ends_with(m))
    });
    if terminology_modifier {
        repo.ensure_stored_definitions().await?;
    }
    let mut search = parse::parse(repo, &types, request.params, request.strict)?;
    if let Some(extra) = scope_condition {
        let existing = std::mem::replace(&mut search.query.condition, Condition::All(Vec::new()));
        search.query.condition = Condition::All(vec![extra, existing]);
    }
    for (content, text) in std::mem::take(&mut search.text) {
        let condition = text_condition(repo, &types, content, &text).await?;
        let existing = std::mem::replace(&mut search.query.condition, Condition::All(Vec::new()));
        search.query.condition = Condition::All(vec![existing, condition]);
    }
    search.query.visibility = request.visibility.clone();
    let subset = Subset::from_params(request.params)?;
    let mut query = search.query.clone();
    if search.count_only {
        query.count = 0;
        query.total = true;
    }
    let page = reader.search(&query).await?;
    let included = if search.includes.is_empty() || page.matches.is_empty() {
        Vec::new()
    } else {
        reader
            .include(
                &page.matches,
                &search.includes,
                request.visibility,
                MAX_INCLUDES,
            )
            .await?
    };
    let mut bundle = Bundle::new("searchset");
    bundle.total(page.total);
    let link = |cursor: Option<String>| with_query(request.self_url, &search.echo, cursor);
    bundle.link("self", link(query.cursor.as_ref().map(|c| c.encode())));
    if !search.count_only {
        if let Some(next) = &page.next {
            bundle.link("next", link(Some(next.encode())));
        }
        if let Some(previous) = &page.previous {
            bundle.link("previous", link(Some(previous.encode())));
        }
    }
    let entry = |found: &Found, mode: &str| {
        let content = found.stored.content.as_deref().unwrap_or("{}");
        let resource = match &subset {
            Some(subset) => raw(&subset.apply(repo, content)),
            None => raw(content),
        };
        Entry {
            full_url: Some(format!("{}/{}", repo.base_url, found.key)),
            resource,
            search: Some(json!({ "mode": mode })),
            ..Entry::default()
        }
    };
    for found in &page.matches {
        bundle.push(entry(found, "match"));
    }
    for found in &included {
        bundle.push(entry(found, "include"));
    }
    let mut warnings = Vec::new();
    if !search.ignored.is_empty() {
        warnings.push(format!(
            "Ignored unknown or unsupported search parameters: {}",
            search.ignored.join(", ")
        ));
    }
    if included.len() >= MAX_INCLUDES {
        warnings.push(format!(
            "Included resources were cut at {MAX_INCLUDES}; page with a smaller _count to get them all"
        ));
    }
    if !warnings.is_empty() {
        let issues: Vec<Issue> = warnings
            .into_iter()
            .map(|text| Issue {
                severity: IssueSeverity::Warning,
                ..Issue::error(IssueType::NotSupported, text)
            })
            .collect();
        bundle.push(Entry {
            resource: raw(&operation_outcome(&issues).to_string()),
            search: Some(json!({ "mode": "outcome" })),
            ..Entry::default()
        });
    }
    Ok(bundle.to_json())
}

/// The condition a `_text` or `_content` query adds: the ids the full-text
/// index finds, per type searched.
async fn text_condition(
    repo: &Repository,
    types: &[String],
    content: bool,
    text: &str,
) -> Result<Condition, Error> {
    let Some(index) = &repo.text else {
        return Err(Error::invalid(Issue::error(
            IssueType::NotSupported,
            "This server keeps no full-text index, so _text and _content are not available",
        )));
    };
    let mut alternatives = Vec::with_capacity(types.len());
    for ty in types {
        let ids = index.search(&repo.store, ty, content, text).await?;
        if ids.is_empty() {
            continue;
        }
        alternatives.push(match types {
            [_] => Condition::Id(ids),
            _ => Condition::All(vec![Condition::Type(vec![ty.clone()]), Condition::Id(ids)]),
        });
    }
    Ok(Condition::Any(alternatives))
}

/// The types a scope searches and the condition it adds.
fn scope(
    repo: &Repository,
    scope: Scope<'_>,
    params: &[(String, String)],
) -> Result<(Vec<String>, Option<Condition>), Error> {
    match scope {
        Scope::Type(ty) => {
            repo.check_type(ty)?;
            Ok((vec![ty.to_owned()], None))
        }
        Scope::System => {
            // `_type` narrows the types searched (and is checked by the parser).
            let named: Vec<String> = params
                .iter()
                .filter(|(name, _)| name == "_type")
                .flat_map(|(_, value)| value.split(','))
                .filter(|ty| repo.registry.is_resource_type(ty))
                .map(str::to_owned)
                .collect();
            let types = if named.is_empty() {
                repo.registry.resource_types().map(str::to_owned).collect()
            } else {
                named
            };
            Ok((types, None))
        }
        Scope::Compartment {
            compartment,
            id,
            resource_type,
        } => {
            let members = repo.registry.compartment(compartment).ok_or_else(|| {
                Error::invalid(Issue::error(
                    IssueType::NotSupported,
                    format!("There is no {compartment} compartment"),
                ))
            })?;
            if let Some(ty) = resource_type {
                repo.check_type(ty)?;
            }
            // `*` searches every type in the compartment, or those `_type` names.
            let named: Vec<&str> = params
                .iter()
                .filter(|(name, _)| name == "_type")
                .flat_map(|(_, value)| value.split(','))
                .collect();
            let types: Vec<String> = members
                .keys()
                .filter(|ty| match resource_type {
                    Some(wanted) => wanted == ty.as_str(),
                    None => named.is_empty() || named.contains(&ty.as_str()),
                })
                .filter(|ty| repo.registry.is_resource_type(ty))
                .cloned()
                .collect();
            let params = members
                .iter()
                .flat_map(|(ty, params)| params.iter().map(move |p| (ty.clone(), p.clone())))
                .filter(|(_, p)| p != "{def}")
                .collect();
            let mut condition = Condition::Compartment {
                params,
                target_type: compartment.to_owned(),
                target_id: id.to_owned(),
            };
            // The owner is in its own compartment.
            if types.iter().any(|t| t == compartment) {
                condition = Condition::Any(vec![
                    condition,
                    Condition::All(vec![
                        Condition::Type(vec![compartment.to_owned()]),
                        Condition::Id(vec![id.to_owned()]),
                    ]),
                ]);
            }
            if types.is_empty() {
                return Err(Error::invalid(Issue::error(
                    IssueType::NotSupported,
                    format!(
                        "{} is not in the {compartment} compartment",
                        resource_type.unwrap_or("*")
                    ),
                )));
            }
            Ok((types, Some(condition)))
        }
    }
}
