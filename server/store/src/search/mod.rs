//! Finding current resources: a [`SearchQuery`] of conditions, sort keys and a
//! keyset [`Cursor`] becomes one SQL statement per page; [`include`] adds the
//! resources that `_include` and `_revinclude` ask for.
//!
//! Pages are keyset pages over `(sort keys…, rid)`: each page starts strictly
//! after (or ends strictly before) the row its cursor names, so they stay
//! correct while others write, and `rid` breaks every tie.

mod condition;
mod cursor;
pub mod include;
mod plan;
mod sql;

use sea_orm::{ConnectionTrait, QueryResult, Value};
use tillit_model::{Id, ResourceKey};

pub use condition::{Condition, Prefix, StringTest, TimeWindow, UriTest, ValueTest, Visibility};
pub use cursor::{Cursor, SortValue};

use crate::dialect::Dialect;
use crate::index::{param_id, IndexTable};
use crate::{Result, Store, Stored, Transaction};
use sql::Builder;

/// What to order by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// The logical id.
    Id,
    /// `meta.lastUpdated`.
    LastUpdated,
    /// A search parameter's values: the lowest ascending, the highest descending.
    Param {
        /// The parameter code.
        param: String,
        /// The table its values live in.
        table: IndexTable,
    },
}

/// One sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// What to order by.
    pub by: SortBy,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// A search over the current versions of one or more resource types.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchQuery {
    /// The types searched: one for a type search, several for system search.
    pub types: Vec<String>,
    /// What every match meets.
    pub condition: Condition,
    /// Sort keys, most significant first; resources tie-break by creation order.
    pub sort: Vec<SortKey>,
    /// Page size.
    pub count: u32,
    /// Where the page starts (or ends), if not at the beginning.
    pub cursor: Option<Cursor>,
    /// Whether to count all matches.
    pub total: bool,
    /// What the caller may see.
    pub visibility: Visibility,
}

impl SearchQuery {
    /// A query for every visible resource of `resource_type`, twenty to a page.
    pub fn of_type(resource_type: &str) -> SearchQuery {
        SearchQuery {
            types: vec![resource_type.to_owned()],
            condition: Condition::All(Vec::new()),
            sort: Vec::new(),
            count: 20,
            cursor: None,
            total: false,
            visibility: Visibility::default(),
        }
    }
}

/// One resource found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The resource's row id (for includes).
    pub rid: i64,
    /// Which resource.
    pub key: ResourceKey,
    /// Its current version.
    pub stored: Stored,
}

/// One page of matches.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchPage {
    /// Matches in order.
    pub matches: Vec<Found>,
    /// The number of all matches, when asked for.
    pub total: Option<i64>,
    /// The cursor of the next page, if there is one.
    pub next: Option<Cursor>,
    /// The cursor of the previous page, if there is one.
    pub previous: Option<Cursor>,
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

/// The columns a match row starts with, read by [`found_from_row`].
pub(crate) const FOUND_COLUMNS: &str = "rid, res_type, res_id, version, last_updated";

/// A [`Found`] from a row whose first columns are [`FOUND_COLUMNS`] and content.
pub(crate) fn found_from_row(row: &QueryResult) -> Result<Option<Found>> {
    let rid: i64 = row.try_get_by_index(0)?;
    let resource_type: String = row.try_get_by_index(1)?;
    let raw_id: String = row.try_get_by_index(2)?;
    // Ids were checked when written; a row that fails now is skipped, not fatal.
    let Ok(id) = Id::parse(&raw_id) else {
        return Ok(None);
    };
    Ok(Some(Found {
        rid,
        key: ResourceKey::new(resource_type, id),
        stored: Stored {
            version: tillit_model::VersionId(row.try_get_by_index(3)?),
            last_updated: tillit_model::Instant(row.try_get_by_index(4)?),
            content: row.try_get_by_index(5)?,
        },
    }))
}

/// The SQL of the sort key `key` for resource alias `r`.
fn sort_sql(b: &mut Builder<'_>, key: &SortKey, types: &[String]) {
    match &key.by {
        SortBy::Id => b.push("r.res_id"),
        SortBy::LastUpdated => b.push("r.last_updated"),
        SortBy::Param { param, table } => {
            let (column, aggregate) = sql::sort_expression(*table, key.descending);
            // `+x.col` keeps SQLite from answering MIN/MAX from a value index
            // (scanning every resource's values); the primary key finds this one's.
            let unindexed = if b.is_sqlite() { "+" } else { "" };
            b.push(&format!(
                "(SELECT {aggregate}({unindexed}x.{column}) FROM {} x WHERE x.rid = r.rid AND x.pid IN (",
                table.name()
            ));
            for (i, ty) in types.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.bind(param_id(ty, param));
            }
            b.push("))");
        }
    }
}

async fn run(db: &impl ConnectionTrait, d: Dialect, query: &SearchQuery) -> Result<SearchPage> {
    let plan = plan::choose(db, d, query).await?;
    if query.count == 0 {
        return Ok(SearchPage {
            matches: Vec::new(),
            total: count_all(db, d, query, &plan).await?,
            next: None,
            previous: None,
        });
    }
    let forward = query.cursor.as_ref().is_none_or(|c| c.forward);
    let mut b = Builder::new(&query.visibility, d.is_postgres()).with_plan(&plan);
    // Innermost: matching rows with their sort keys; middle: one page of them
    // in order (plus one row to tell whether more follow); outer: their
    // content, read for the page's rows only.
    b.push("SELECT q.rid, q.res_type, q.res_id, q.version, q.last_updated, ");
    b.push(d.content_text());
    for i in 0..query.sort.len() {
        b.push(&format!(", q.k{i}"));
    }
    b.push(" FROM (SELECT * FROM (SELECT r.rid, r.res_type, r.res_id, r.version, r.last_updated, r.seq");
    for (i, key) in query.sort.iter().enumerate() {
        b.push(", ");
        b.push("COALESCE(");
        sort_sql(&mut b, key, &query.types);
        b.push(", ");
        b.bind(missing_last(key));
        b.push(&format!(") AS k{i}"));
    }
    b.push(" FROM resource r WHERE ");
    filter(&mut b, query);
    b.push(") p");
    if let Some(cursor) = &query.cursor {
        b.push(" WHERE ");
        keyset(&mut b, query, cursor);
    }
    order_by(&mut b, query, "p", forward);
    b.push(" LIMIT ");
    b.bind(i64::from(query.count) + 1);
    b.push(") q JOIN resource_version v ON v.seq = q.seq");
    order_by(&mut b, query, "q", forward);
    tracing::debug!(target: "tillit_store::search", sql = %b.sql, values = ?b.values, "page query");
    let rows = db.query_all_raw(d.stmt(&b.sql, b.values)).await?;
    let more = rows.len() > query.count as usize;
    let mut matches = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows.iter().take(query.count as usize) {
        if let Some(found) = found_from_row(row)? {
            keys.push(sort_values(row, query)?);
            matches.push(found);
        }
    }
    if !forward {
        matches.reverse();
        keys.reverse();
    }
    let cursor_at = |index: usize, forward: bool| {
        matches.get(index).map(|m| Cursor {
            forward,
            key: keys[index].clone(),
            rid: m.rid,
        })
    };
    let last = matches.len().wrapping_sub(1);
    let (next, previous) = if forward {
        (
            if more { cursor_at(last, true) } else { None },
            if query.cursor.is_some() {
                cursor_at(0, false)
            } else {
                None
            },
        )
    } else {
        (
            cursor_at(last, true),
            if more { cursor_at(0, false) } else { None },
        )
    };
    // A first page that holds every match counts them itself.
    let total = if query.total && query.cursor.is_none() && !more {
        Some(matches.len() as i64)
    } else {
        count_all(db, d, query, &plan).await?
    };
    Ok(SearchPage {
        matches,
        total,
        next,
        previous,
    })
}

/// The number of all matches, when the query asks for it.
async fn count_all(
    db: &impl ConnectionTrait,
    d: Dialect,
    query: &SearchQuery,
    plan: &plan::Plan,
) -> Result<Option<i64>> {
    if !query.total {
        return Ok(None);
    }
    let mut b = Builder::new(&query.visibility, d.is_postgres()).with_plan(plan);
    b.push("SELECT COUNT(*) FROM resource r WHERE ");
    filter(&mut b, query);
    let row = db.query_one_raw(d.stmt(&b.sql, b.values)).await?;
    Ok(Some(match row {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    }))
}

/// The WHERE clause of the matches, over alias `r`.
fn filter(b: &mut Builder<'_>, query: &SearchQuery) {
    b.push("NOT r.deleted AND ");
    if let [only] = query.types.as_slice() {
        b.push("r.res_type = ");
        b.bind(only.clone());
    } else {
        b.push("r.res_type IN (");
        for (i, ty) in query.types.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.bind(ty.clone());
        }
        b.push(")");
    }
    b.push(" AND ");
    b.conditions("r", &query.types, &query.condition);
    b.visible("r", Some(&query.types));
}

/// The value that stands in for a missing sort value, so that resources without
/// one sort last in either direction.
fn missing_last(key: &SortKey) -> Value {
    let high = !key.descending;
    match &key.by {
        SortBy::Id => Value::from(if high { "\u{10FFFF}" } else { "" }),
        SortBy::LastUpdated => Value::from(if high { i64::MAX } else { i64::MIN }),
        SortBy::Param { table, .. } => match table {
            IndexTable::Date => Value::from(if high { i64::MAX } else { i64::MIN }),
            IndexTable::Number | IndexTable::Quantity => {
                Value::from(if high { f64::MAX } else { f64::MIN })
            }
            _ => Value::from(if high { "\u{10FFFF}" } else { "" }),
        },
    }
}

/// Reads the sort values `q.k0…` that follow the content column.
fn sort_values(row: &QueryResult, query: &SearchQuery) -> Result<Vec<SortValue>> {
    let mut values = Vec::with_capacity(query.sort.len());
    for (i, key) in query.sort.iter().enumerate() {
        let index = 6 + i;
        let value = match &key.by {
            SortBy::LastUpdated => SortValue::Int(row.try_get_by_index(index)?),
            SortBy::Id => SortValue::Text(row.try_get_by_index(index)?),
            SortBy::Param { table, .. } => match table {
                IndexTable::Date => SortValue::Int(row.try_get_by_index(index)?),
                IndexTable::Number | IndexTable::Quantity => {
                    SortValue::Real(row.try_get_by_index(index)?)
                }
                _ => SortValue::Text(row.try_get_by_index(index)?),
            },
        };
        values.push(value);
    }
    Ok(values)
}

/// ` ORDER BY` the query's sort keys over `alias`, then `rid`; reversed when
/// paging backwards.
fn order_by(b: &mut Builder<'_>, query: &SearchQuery, alias: &str, forward: bool) {
    b.push(" ORDER BY ");
    for (i, key) in query.sort.iter().enumerate() {
        let ascending = key.descending != forward;
        b.push(&format!(
            "{alias}.k{i} {}, ",
            if ascending { "ASC" } else { "DESC" }
        ));
    }
    b.push(&format!(
        "{alias}.rid {}",
        if forward { "ASC" } else { "DESC" }
    ));
}

/// Rows strictly after (or, going back, before) `cursor` in the query's order:
/// `k0 ⋗ c0 OR (k0 = c0 AND k1 ⋗ c1) OR … OR (all equal AND rid ⋗ c_rid)`.
fn keyset(b: &mut Builder<'_>, query: &SearchQuery, cursor: &Cursor) {
    b.push("(");
    let keys = query.sort.len().min(cursor.key.len());
    for level in 0..=keys {
        if level > 0 {
            b.push(" OR ");
        }
        b.push("(1 = 1");
        for (i, value) in cursor.key.iter().enumerate().take(level) {
            b.push(&format!(" AND p.k{i} = "));
            b.bind(value.to_value());
        }
        if level < keys {
            let ascending = !query.sort[level].descending;
            let op = if ascending == cursor.forward {
                ">"
            } else {
                "<"
            };
            b.push(&format!(" AND p.k{level} {op} "));
            b.bind(cursor.key[level].to_value());
        } else {
            b.push(if cursor.forward {
                " AND p.rid > "
            } else {
                " AND p.rid < "
            });
            b.bind(cursor.rid);
        }
        b.push(")");
    }
    b.push(")");
}
