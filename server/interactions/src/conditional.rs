//! Matching for conditional interactions (create, update, delete and
//! conditional references): a search whose 0, 1 or many results decide.
//! <https://hl7.org/fhir/R4/http.html#cond-update>

use tillit_model::{Issue, IssueType};
use tillit_store::{Condition, Found, Transaction};

use crate::search::parse;
use crate::{Error, Repository};

/// Parses a raw query string (`identifier=a%7Cb&_id=x`) into decoded pairs.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.trim_start_matches('?').as_bytes())
        .into_owned()
        .collect()
}

/// The current resources of `resource_type` matching `query`, at most `limit`
/// of them (ask for one more than you accept to detect "too many"). Unknown
/// parameters are refused: ignoring one could match far more than meant.
pub async fn matches(
    repo: &Repository,
    txn: &Transaction,
    resource_type: &str,
    query: &str,
    limit: u32,
) -> Result<Vec<Found>, Error> {
    txn.lock(resource_type).await?;
    let pairs = parse_query(query);
    let mut search = parse::parse(repo, &[resource_type.to_owned()], &pairs, true)?;
    if search.query.condition == Condition::All(Vec::new()) {
        return Err(Error::invalid(Issue::error(
            IssueType::Invalid,
            format!("A conditional request needs search criteria; '{query}' has none"),
        )));
    }
    search.query.count = limit;
    search.query.total = false;
    Ok(txn.search(&search.query).await?.matches)
}
