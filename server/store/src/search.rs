//! Finding current resources by criteria: the ids, index rows and times that
//! conditional interactions and the basic search of this release need.
//!
//! Paging is keyset on the logical id, so pages stay correct while others write.

use sea_orm::{ConnectionTrait, Value};
use tillit_model::Id;

use crate::dialect::{tuples, Dialect};
use crate::{Result, Store, Stored, Transaction};

/// One index row of a resource: a parameter name and a (system, value) pair.
/// String parameters store their normalised (lower-case) text with an empty system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    /// The search parameter code, such as `identifier`.
    pub param: String,
    /// The code system or identifier system; empty when there is none.
    pub system: String,
    /// The code, identifier value or normalised string.
    pub value: String,
}

/// One condition on a resource; a query's criteria must all hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// The logical id is one of these.
    Id(Vec<String>),
    /// An index row of `param` matches one of the alternatives: `(system, value)`
    /// where `None` matches anything and `Some("")` only rows without a system.
    Token {
        /// The parameter code.
        param: String,
        /// Alternatives, any of which may match.
        any_of: Vec<(Option<String>, Option<String>)>,
    },
    /// An index row of `param` starts with one of these normalised prefixes.
    StringPrefix {
        /// The parameter code.
        param: String,
        /// Alternatives, any of which may match.
        any_of: Vec<String>,
    },
    /// `meta.lastUpdated` falls in one of these windows `[from, to)` (in
    /// milliseconds; `None` is open), or outside it when `negate` is set.
    LastUpdated(Vec<TimeWindow>),
}

/// A window of time for [`Criterion::LastUpdated`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    /// The first millisecond inside, if bounded.
    pub from: Option<i64>,
    /// The first millisecond after, if bounded.
    pub to: Option<i64>,
    /// Match times outside the window instead.
    pub negate: bool,
}

/// A search over the current versions of one resource type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The resource type searched.
    pub resource_type: String,
    /// Conditions that must all hold.
    pub criteria: Vec<Criterion>,
    /// Page size.
    pub count: u32,
    /// Continue after this logical id (the keyset cursor).
    pub after: Option<String>,
    /// Whether to count all matches.
    pub total: bool,
}

/// One page of matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPage {
    /// Matches in id order.
    pub matches: Vec<(Id, Stored)>,
    /// The number of all matches, when asked for.
    pub total: Option<i64>,
    /// The cursor of the next page, if there is one.
    pub next_after: Option<String>,
}

impl Store {
    /// Runs `query` against the committed state.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage> {
        run(&self.reader, self.dialect, query).await
    }
}

impl Transaction {
    /// Runs `query` inside this transaction, seeing its own writes.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage> {
        self.flush().await?;
        run(&self.txn, self.dialect, query).await
    }
}

async fn run(db: &impl ConnectionTrait, d: Dialect, query: &SearchQuery) -> Result<SearchPage> {
    let mut values: Vec<Value> = vec![query.resource_type.clone().into()];
    let mut filter = String::from("r.res_type = ? AND NOT r.deleted");
    for criterion in &query.criteria {
        filter.push_str(" AND ");
        push_criterion(&mut filter, &mut values, criterion);
    }
    let total = if query.total {
        let sql = format!("SELECT COUNT(*) FROM resource r WHERE {filter}");
        let row = db.query_one_raw(d.stmt(&sql, values.clone())).await?;
        Some(match row {
            Some(row) => row.try_get_by_index::<i64>(0)?,
            None => 0,
        })
    } else {
        None
    };
    if let Some(after) = &query.after {
        filter.push_str(" AND r.res_id > ?");
        values.push(after.clone().into());
    }
    let limit = i64::from(query.count);
    values.push((limit + 1).into());
    let sql = format!(
        "SELECT r.version, r.last_updated, {}, r.res_id FROM resource r
         JOIN resource_version v ON v.seq = r.seq
         WHERE {filter} ORDER BY r.res_id LIMIT ?",
        d.content_text()
    );
    let rows = db.query_all_raw(d.stmt(&sql, values)).await?;
    let mut matches = Vec::with_capacity(rows.len());
    for row in rows.iter().take(query.count as usize) {
        let raw_id: String = row.try_get_by_index(3)?;
        // Ids were checked when written; a row that fails now is skipped, not fatal.
        if let Ok(id) = Id::parse(&raw_id) {
            matches.push((id, Stored::from_row(row)?));
        }
    }
    let next_after = if rows.len() > query.count as usize {
        matches.last().map(|(id, _)| id.to_string())
    } else {
        None
    };
    Ok(SearchPage {
        matches,
        total,
        next_after,
    })
}

fn push_criterion(sql: &mut String, values: &mut Vec<Value>, criterion: &Criterion) {
    match criterion {
        Criterion::Id(ids) => {
            sql.push_str(&format!("r.res_id IN ({})", tuples(ids.len(), "?")));
            values.extend(ids.iter().map(|id| Value::from(id.clone())));
        }
        Criterion::Token { param, any_of } => {
            push_token_exists(sql, values, param);
            for (i, (system, value)) in any_of.iter().enumerate() {
                sql.push_str(if i == 0 { "(" } else { " OR (" });
                let mut parts = Vec::new();
                if let Some(system) = system {
                    parts.push("t.system = ?");
                    values.push(system.clone().into());
                }
                if let Some(value) = value {
                    parts.push("t.value = ?");
                    values.push(value.clone().into());
                }
                if parts.is_empty() {
                    parts.push("1 = 1");
                }
                sql.push_str(&parts.join(" AND "));
                sql.push(')');
            }
            sql.push_str("))");
        }
        Criterion::StringPrefix { param, any_of } => {
            push_token_exists(sql, values, param);
            for (i, prefix) in any_of.iter().enumerate() {
                sql.push_str(if i == 0 { "" } else { " OR " });
                sql.push_str("t.value LIKE ? ESCAPE '\\'");
                let escaped = prefix
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                values.push(format!("{escaped}%").into());
            }
            sql.push_str("))");
        }
        Criterion::LastUpdated(windows) => {
            sql.push('(');
            for (i, window) in windows.iter().enumerate() {
                sql.push_str(if i == 0 { "" } else { " OR " });
                sql.push_str(if window.negate { "NOT (" } else { "(" });
                let mut bounded = false;
                if let Some(from) = window.from {
                    sql.push_str("r.last_updated >= ?");
                    values.push(from.into());
                    bounded = true;
                }
                if let Some(to) = window.to {
                    sql.push_str(if bounded {
                        " AND r.last_updated < ?"
                    } else {
                        "r.last_updated < ?"
                    });
                    values.push(to.into());
                    bounded = true;
                }
                if !bounded {
                    sql.push_str("1 = 1");
                }
                sql.push(')');
            }
            sql.push(')');
        }
    }
}

fn push_token_exists(sql: &mut String, values: &mut Vec<Value>, param: &str) {
    sql.push_str(
        "EXISTS (SELECT 1 FROM search_token t WHERE t.res_type = r.res_type \
         AND t.res_id = r.res_id AND t.param = ? AND (",
    );
    values.push(param.to_owned().into());
}
