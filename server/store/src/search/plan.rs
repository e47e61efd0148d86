//! Choosing the condition that drives a query. Fixed ranks (an id before a
//! reference before a token…) cannot tell a code that 140,000 resources carry
//! from a date that 300 do, so when several conditions could drive, each one's
//! matches are counted through its index, up to a cap, and the fewest drive.
//! A count reads index entries only (tens of nanoseconds each), and the caps
//! bound what an estimate may cost.

use sea_orm::ConnectionTrait;

use super::condition::Condition;
use super::sql::{flatten, rank, Builder, NO_DRIVER};
use super::SearchQuery;
use crate::dialect::Dialect;
use crate::Result;

/// Counts stop here first; most queries have a condition under it.
const FIRST_CAP: i64 = 1_000;
/// Candidates that all reached the first cap are counted again up to this.
const SECOND_CAP: i64 = 50_000;

/// How a query runs.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// The position, among the query's top-level conditions (as
    /// [`flatten`]ed), of the one that drives it; `None` leaves the choice to
    /// the fixed ranks (fewer than two candidates to compare).
    pub driver: Option<usize>,
    /// The driver yields at least [`FIRST_CAP`] candidates.
    pub many_candidates: bool,
}

/// Chooses the driver of `query` by counting its candidates' matches.
pub(crate) async fn choose(
    db: &impl ConnectionTrait,
    d: Dialect,
    query: &SearchQuery,
) -> Result<Plan> {
    let mut parts = Vec::new();
    flatten(&query.condition, &mut parts);
    let candidates: Vec<(usize, &Condition)> = parts
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            rank(c) < NO_DRIVER
                && matches!(c, Condition::Match { .. } | Condition::Compartment { .. })
        })
        .map(|(i, c)| (i, *c))
        .collect();
    if candidates.len() < 2 {
        return Ok(Plan::default());
    }
    let mut counts = Vec::with_capacity(candidates.len());
    for (i, condition) in &candidates {
        counts.push((count(db, d, query, condition, FIRST_CAP).await?, *i));
    }
    if counts.iter().all(|(n, _)| *n >= FIRST_CAP) {
        for (n, i) in counts.iter_mut() {
            *n = count(db, d, query, parts[*i], SECOND_CAP).await?;
        }
    }
    // Fewest matches first; equal counts fall back to the fixed rank.
    let best = counts
        .into_iter()
        .min_by_key(|(n, i)| (*n, rank(parts[*i])));
    Ok(Plan {
        driver: best.map(|(_, i)| i),
        many_candidates: best.is_some_and(|(n, _)| n >= FIRST_CAP),
    })
}

/// How many index rows `condition` yields, counting no further than `cap`.
async fn count(
    db: &impl ConnectionTrait,
    d: Dialect,
    query: &SearchQuery,
    condition: &Condition,
    cap: i64,
) -> Result<i64> {
    let mut b = Builder::new(&query.visibility, d.is_postgres());
    b.push("SELECT COUNT(*) FROM (");
    b.rid_set(&query.types, condition);
    b.push(" LIMIT ");
    b.bind(cap);
    b.push(") c");
    let row = db.query_one_raw(d.stmt(&b.sql, b.values)).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}
