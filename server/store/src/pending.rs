//! Writes buffered in a transaction and sent as a few multi-row statements.
//!
//! Every statement crosses from tokio to sqlx's SQLite worker thread and back;
//! that round trip, not SQLite, dominated ingest. A transaction therefore keeps
//! its versions here and flushes them together: before any read that could see
//! them, and at commit.

use sea_orm::{ConnectionTrait, DatabaseTransaction, Value};
use tillit_model::{Instant, ResourceKey, VersionId};

use crate::dialect::{tuples, Dialect};
use crate::index::{param_id, IndexRow, IndexTable};
use crate::write::Method;
use crate::{Error, Result};

/// Rows per multi-row statement: well under SQLite's 32,766 parameters.
const ROWS_PER_STATEMENT: usize = 200;

/// One version waiting to be written.
#[derive(Debug)]
pub(crate) struct PendingVersion {
    pub key: ResourceKey,
    pub version: VersionId,
    pub last_updated: Instant,
    pub method: Method,
    pub content: Option<String>,
    pub index: Vec<IndexRow>,
}

/// Writes `rows` (at most one per resource): their history rows, their
/// current-version pointers and their index rows.
pub(crate) async fn flush(
    txn: &DatabaseTransaction,
    d: Dialect,
    rows: &[PendingVersion],
) -> Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        insert_versions(txn, d, chunk).await?;
        let rids = point_current(txn, d, chunk).await?;
        let rewritten: Vec<i64> = chunk
            .iter()
            .zip(&rids)
            .filter(|(row, _)| row.version != VersionId::FIRST)
            .map(|(_, rid)| *rid)
            .collect();
        clear_index(txn, d, &rewritten).await?;
        let statements = index_statements(
            d,
            chunk.iter().zip(&rids).flat_map(|(row, rid)| {
                row.index
                    .iter()
                    .map(move |i| (*rid, &row.key.resource_type, i))
            }),
        );
        insert_index(txn, statements).await?;
    }
    Ok(())
}

async fn insert_versions(
    txn: &DatabaseTransaction,
    d: Dialect,
    rows: &[PendingVersion],
) -> Result<()> {
    let row_sql = format!("(?, ?, ?, ?, ?, {})", d.content_param());
    let sql = format!(
        "INSERT INTO resource_version (res_type, res_id, version, last_updated, method, content) VALUES {}",
        tuples(rows.len(), &row_sql)
    );
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 6);
    for row in rows {
        values.extend([
            row.key.resource_type.clone().into(),
            row.key.id.as_str().into(),
            row.version.0.into(),
            row.last_updated.0.into(),
            row.method.as_str().into(),
            row.content.clone().into(),
        ]);
    }
    txn.execute_raw(d.stmt(&sql, values))
        .await
        .map_err(|e| Error::from_write(e, &describe(rows)))?;
    Ok(())
}

/// Points each resource's current row at the version just inserted, taking the
/// sequence numbers the database assigned; returns each resource's `rid`, in
/// the order of `rows`.
async fn point_current(
    txn: &DatabaseTransaction,
    d: Dialect,
    rows: &[PendingVersion],
) -> Result<Vec<i64>> {
    let sql = format!(
        "INSERT INTO resource (res_type, res_id, version, seq, last_updated, deleted)
         SELECT v.res_type, v.res_id, v.version, v.seq, v.last_updated, v.content IS NULL
         FROM resource_version v WHERE (v.res_type, v.res_id, v.version) IN (VALUES {})
         ON CONFLICT (res_type, res_id) DO UPDATE SET version = excluded.version,
           seq = excluded.seq, last_updated = excluded.last_updated, deleted = excluded.deleted
         RETURNING res_type, res_id, rid",
        tuples(rows.len(), "(?, ?, ?)")
    );
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 3);
    for row in rows {
        values.extend([
            row.key.resource_type.clone().into(),
            row.key.id.as_str().into(),
            row.version.0.into(),
        ]);
    }
    let returned = txn.query_all_raw(d.stmt(&sql, values)).await?;
    let mut rids = std::collections::HashMap::with_capacity(returned.len());
    for row in returned {
        let key: (String, String) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
        rids.insert(key, row.try_get_by_index::<i64>(2)?);
    }
    rows.iter()
        .map(|row| {
            let key = (
                row.key.resource_type.clone(),
                row.key.id.as_str().to_owned(),
            );
            rids.get(&key).copied().ok_or_else(|| {
                Error::Database(sea_orm::DbErr::Custom(format!(
                    "no current row for {}",
                    row.key
                )))
            })
        })
        .collect()
}

/// Removes every index row of the resources `rids` (earlier versions' rows,
/// before the new ones go in; or all of them, before a reindex).
pub(crate) async fn clear_index(
    txn: &impl ConnectionTrait,
    d: Dialect,
    rids: &[i64],
) -> Result<()> {
    if rids.is_empty() {
        return Ok(());
    }
    for table in IndexTable::ALL {
        let sql = format!(
            "DELETE FROM {} WHERE rid IN ({})",
            table.name(),
            tuples(rids.len(), "?")
        );
        let values = rids.iter().map(|rid| Value::from(*rid)).collect();
        txn.execute_raw(d.stmt(&sql, values)).await?;
    }
    Ok(())
}

/// Statements that widen `search_date_span` to the longest bounded date row
/// of each parameter among `by_table` (the date-range planner's bound).
fn spans(
    d: Dialect,
    by_table: &std::collections::HashMap<IndexTable, Vec<Vec<Value>>>,
) -> Vec<sea_orm::Statement> {
    let mut longest: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for row in by_table.get(&IndexTable::Date).into_iter().flatten() {
        // Columns: rid, pid, low, high.
        let (
            Some(Value::BigInt(Some(pid))),
            Some(Value::BigInt(Some(low))),
            Some(Value::BigInt(Some(high))),
        ) = (row.get(1), row.get(2), row.get(3))
        else {
            continue;
        };
        if *low == i64::MIN || *high == i64::MAX {
            continue;
        }
        let span = high.saturating_sub(*low);
        let entry = longest.entry(*pid).or_insert(0);
        *entry = (*entry).max(span);
    }
    let greatest = if d.is_postgres() { "GREATEST" } else { "MAX" };
    longest
        .into_iter()
        .map(|(pid, span)| {
            d.stmt(
                &format!(
                    "INSERT INTO search_date_span (pid, span) VALUES (?, ?) ON CONFLICT (pid) \
                     DO UPDATE SET span = {greatest}(search_date_span.span, excluded.span)"
                ),
                vec![pid.into(), span.into()],
            )
        })
        .collect()
}

/// Runs the statements [`index_statements`] built.
pub(crate) async fn insert_index(
    txn: &impl ConnectionTrait,
    statements: Vec<sea_orm::Statement>,
) -> Result<()> {
    for statement in statements {
        txn.execute_raw(statement).await?;
    }
    Ok(())
}

/// The INSERT statements for index rows `(rid, resource type, row)`; built
/// before any await, so no borrowed iterator lives in the future.
pub(crate) fn index_statements<'r>(
    d: Dialect,
    rows: impl Iterator<Item = (i64, &'r String, &'r IndexRow)>,
) -> Vec<sea_orm::Statement> {
    let mut by_table: std::collections::HashMap<IndexTable, Vec<Vec<Value>>> =
        std::collections::HashMap::new();
    // The primary key spans every column: a value repeated within one resource
    // (rows of a resource arrive together) is written once.
    let mut seen: Vec<&IndexRow> = Vec::new();
    let mut seen_rid = None;
    for (rid, resource_type, row) in rows {
        if seen_rid != Some(rid) {
            seen.clear();
            seen_rid = Some(rid);
        }
        if seen.contains(&row) {
            continue;
        }
        seen.push(row);
        let mut values = vec![
            Value::from(rid),
            Value::from(param_id(resource_type, &row.param)),
        ];
        values.extend(row.value.sql_values());
        by_table.entry(row.value.table()).or_default().push(values);
    }
    let mut statements = spans(d, &by_table);
    for (table, rows) in by_table {
        let columns = table.columns();
        let tuple = format!("(?, ?{})", ", ?".repeat(columns.len()));
        let per_statement = (ROWS_PER_STATEMENT * 5 / (columns.len() + 2)).max(1);
        for chunk in rows.chunks(per_statement) {
            let sql = format!(
                "INSERT INTO {} (rid, pid{}) VALUES {}",
                table.name(),
                columns.iter().map(|c| format!(", {c}")).collect::<String>(),
                tuples(chunk.len(), &tuple)
            );
            let values = chunk.iter().flatten().cloned().collect();
            statements.push(d.stmt(&sql, values));
        }
    }
    statements
}

/// The resources of a failed batch, for the conflict message.
fn describe(rows: &[PendingVersion]) -> String {
    match rows {
        [one] => one.key.to_string(),
        _ => format!("one of {} resources", rows.len()),
    }
}
