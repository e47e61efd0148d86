//! The FHIR `history` interaction at instance, type and system level, with
//! `_since`, `_at`, `_count` and paging.
//! <https://hl7.org/fhir/R4/http.html#history>

use serde_json::json;
use tillit_model::{DateRange, Issue, IssueType};
use tillit_store::{HistoryQuery, HistoryScope, Method};

use crate::bundle::{raw, Bundle, Entry};
use crate::search::{DEFAULT_COUNT, MAX_COUNT};
use crate::{Error, Repository};

/// Runs a history request. `params` are the decoded query parameters; `self_url`
/// is the request URL without its query, for the paging links.
pub async fn history(
    repo: &Repository,
    scope: HistoryScope,
    params: &[(String, String)],
    self_url: &str,
) -> Result<String, Error> {
    match &scope {
        HistoryScope::Type(t) => repo.check_type(t)?,
        HistoryScope::Instance(key) => {
            repo.check_type(&key.resource_type)?;
            if repo.store.read(key).await?.is_none() {
                return Err(Error::NotFound(key.to_string()));
            }
        }
        HistoryScope::System => {}
    }
    let mut query = HistoryQuery {
        scope,
        since: None,
        at: None,
        before_seq: None,
        count: DEFAULT_COUNT,
    };
    let mut echo = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "_since" => query.since = Some(date(value)?.start),
            "_at" => {
                let range = date(value)?;
                query.at = Some((range.start, range.end));
            }
            "_count" => {
                query.count = value
                    .parse::<u32>()
                    .map(|n| n.clamp(1, MAX_COUNT))
                    .map_err(|_| {
                        Error::invalid(Issue::error(
                            IssueType::Value,
                            format!("_count must be a number, not '{value}'"),
                        ))
                    })?
            }
            "_cursor" => {
                query.before_seq = Some(value.parse().map_err(|_| {
                    Error::invalid(Issue::error(
                        IssueType::Value,
                        format!("'{value}' is not a history cursor"),
                    ))
                })?);
                continue;
            }
            _ => continue,
        }
        echo.push((name.clone(), value.clone()));
    }
    let (entries, more) = repo.store.history(&query).await?;
    let mut bundle = Bundle::new("history");
    bundle.link("self", with_query(self_url, &echo, query.before_seq));
    if more {
        if let Some(last) = entries.last() {
            bundle.link("next", with_query(self_url, &echo, Some(last.seq)));
        }
    }
    for entry in entries {
        let url = format!("{}/{}", repo.base_url, entry.key);
        let status = match entry.method {
            Method::Delete => "204 No Content",
            _ if entry.stored.version == tillit_model::VersionId::FIRST => "201 Created",
            _ => "200 OK",
        };
        let request_url = match entry.method {
            Method::Post => entry.key.resource_type.clone(),
            _ => entry.key.to_string(),
        };
        bundle.push(Entry {
            full_url: Some(url),
            resource: entry.stored.content.as_deref().and_then(raw),
            request: Some(json!({ "method": entry.method.as_str(), "url": request_url })),
            response: Some(json!({
                "status": status,
                "etag": entry.stored.version.etag(),
                "lastModified": entry.stored.last_updated.to_string(),
            })),
            ..Entry::default()
        });
    }
    Ok(bundle.to_json())
}

fn date(value: &str) -> Result<DateRange, Error> {
    DateRange::parse(value).ok_or_else(|| {
        Error::invalid(Issue::error(
            IssueType::Value,
            format!("'{value}' is not a FHIR instant or date"),
        ))
    })
}

/// `url?name=value&…` with the paging cursor, for Bundle links.
pub(crate) fn with_query(
    url: &str,
    params: &[(String, String)],
    cursor: Option<impl ToString>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    if let Some(cursor) = cursor {
        query.append_pair("_cursor", &cursor.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        url.to_owned()
    } else {
        format!("{url}?{query}")
    }
}
