//! Writes buffered in a transaction and sent as a few multi-row statements.
//!
//! Every statement crosses from tokio to sqlx's SQLite worker thread and back;
//! that round trip, not SQLite, dominated ingest. A transaction therefore keeps
//! its versions here and flushes them together: before any read that could see
//! them, and at commit.

use sea_orm::{ConnectionTrait, DatabaseTransaction, Value};
use tillit_model::{Instant, ResourceKey, VersionId};

use crate::dialect::{tuples, Dialect};
use crate::search::TokenRow;
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
    pub tokens: Vec<TokenRow>,
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
        point_current(txn, d, chunk).await?;
        clear_tokens(txn, d, chunk).await?;
        insert_tokens(txn, d, chunk).await?;
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
/// sequence numbers the database assigned.
async fn point_current(
    txn: &DatabaseTransaction,
    d: Dialect,
    rows: &[PendingVersion],
) -> Result<()> {
    let sql = format!(
        "INSERT INTO resource (res_type, res_id, version, seq, last_updated, deleted)
         SELECT v.res_type, v.res_id, v.version, v.seq, v.last_updated, v.content IS NULL
         FROM resource_version v WHERE (v.res_type, v.res_id, v.version) IN (VALUES {})
         ON CONFLICT (res_type, res_id) DO UPDATE SET version = excluded.version,
           seq = excluded.seq, last_updated = excluded.last_updated, deleted = excluded.deleted",
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
    txn.execute_raw(d.stmt(&sql, values)).await?;
    Ok(())
}

/// Removes the index rows of earlier versions of the resources being rewritten.
async fn clear_tokens(
    txn: &DatabaseTransaction,
    d: Dialect,
    rows: &[PendingVersion],
) -> Result<()> {
    let rewritten: Vec<&PendingVersion> = rows
        .iter()
        .filter(|r| r.version != VersionId::FIRST)
        .collect();
    if rewritten.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM search_token WHERE (res_type, res_id) IN (VALUES {})",
        tuples(rewritten.len(), "(?, ?)")
    );
    let mut values: Vec<Value> = Vec::with_capacity(rewritten.len() * 2);
    for row in &rewritten {
        values.extend([
            row.key.resource_type.clone().into(),
            row.key.id.as_str().into(),
        ]);
    }
    txn.execute_raw(d.stmt(&sql, values)).await?;
    Ok(())
}

async fn insert_tokens(
    txn: &DatabaseTransaction,
    d: Dialect,
    rows: &[PendingVersion],
) -> Result<()> {
    let tokens: Vec<(&ResourceKey, &TokenRow)> = rows
        .iter()
        .flat_map(|row| row.tokens.iter().map(move |t| (&row.key, t)))
        .collect();
    for chunk in tokens.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO search_token (res_type, res_id, param, system, value) VALUES {}",
            tuples(chunk.len(), "(?, ?, ?, ?, ?)")
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
        for (key, token) in chunk {
            values.extend([
                key.resource_type.clone().into(),
                key.id.as_str().into(),
                token.param.clone().into(),
                token.system.clone().into(),
                token.value.clone().into(),
            ]);
        }
        txn.execute_raw(d.stmt(&sql, values)).await?;
    }
    Ok(())
}

/// The resources of a failed batch, for the conflict message.
fn describe(rows: &[PendingVersion]) -> String {
    match rows {
        [one] => one.key.to_string(),
        _ => format!("one of {} resources", rows.len()),
    }
}
