//! The FHIR `search` interaction over one type, with the parameters this
//! release supports (see [`crate::params`]); full search arrives with the
//! FHIRPath-driven index.
//! <https://hl7.org/fhir/R4/http.html#search>

use serde_json::json;
use tillit_model::{operation_outcome, Issue, IssueType};

use tillit_store::Reader;

use crate::bundle::{raw, Bundle, Entry};
use crate::history::with_query;
use crate::subset::Subset;
use crate::{params, Error, Repository};

/// Searches `resource_type` and returns the searchset Bundle as JSON.
/// `self_url` is the type's URL, for links; `strict` refuses unknown parameters
/// (`Prefer: handling=strict`) instead of ignoring them with a warning.
pub async fn search(
    repo: &Repository,
    reader: Reader<'_>,
    resource_type: &str,
    params: &[(String, String)],
    self_url: &str,
    strict: bool,
) -> Result<String, Error> {
    repo.check_type(resource_type)?;
    let search = params::parse(repo, resource_type, params, strict)?;
    let subset = Subset::from_params(params)?;
    let mut query = search.query.clone();
    if search.count_only {
        query.count = 0;
    }
    let page = reader.search(&query).await?;
    let mut bundle = Bundle::new("searchset");
    bundle.total(page.total);
    bundle.link(
        "self",
        with_query(self_url, &search.echo, query.after.as_ref()),
    );
    if let Some(next) = &page.next_after {
        if !search.count_only {
            bundle.link("next", with_query(self_url, &search.echo, Some(next)));
        }
    }
    for (id, stored) in &page.matches {
        let content = stored.content.as_deref().unwrap_or("{}");
        let resource = match &subset {
            Some(subset) => raw(&subset.apply(repo, content)),
            None => raw(content),
        };
        bundle.push(Entry {
            full_url: Some(format!("{}/{resource_type}/{id}", repo.base_url)),
            resource,
            search: Some(json!({ "mode": "match" })),
            ..Entry::default()
        });
    }
    if !search.ignored.is_empty() {
        let warning = Issue {
            severity: tillit_model::IssueSeverity::Warning,
            ..Issue::error(
                IssueType::NotSupported,
                format!(
                    "Ignored unsupported search parameters: {}",
                    search.ignored.join(", ")
                ),
            )
        };
        bundle.push(Entry {
            resource: raw(&operation_outcome(&[warning]).to_string()),
            search: Some(json!({ "mode": "outcome" })),
            ..Entry::default()
        });
    }
    Ok(bundle.to_json())
}
