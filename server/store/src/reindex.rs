//! Rebuilding index rows of stored resources (after search parameters change)
//! and the small named settings that record what the index was built with.

use sea_orm::{ConnectionTrait, Value};

use crate::dialect::tuples;
use crate::index::IndexRow;
use crate::pending::{clear_index, index_statements, insert_index};
use crate::search::{found_from_row, Found, FOUND_COLUMNS};
use crate::{Result, Store, Transaction};

/// A stored resource to reindex: which row and which version was read.
#[derive(Clone, Debug)]
pub struct Scanned {
    /// The resource as read.
    pub found: Found,
    /// The version's sequence number, to detect a newer write before the rows land.
    pub seq: i64,
}

impl Store {
    /// Up to `limit` current (not deleted) resources with `rid` above `after`, in `rid` order.
    pub async fn scan(&self, after: i64, limit: u32) -> Result<Vec<Scanned>> {
        let columns: Vec<String> = FOUND_COLUMNS
            .split(", ")
            .map(|c| format!("r.{c}"))
            .collect();
        let sql = format!(
            "SELECT {}, {}, r.seq FROM resource r JOIN resource_version v ON v.seq = r.seq
             WHERE r.rid > ? AND NOT r.deleted ORDER BY r.rid LIMIT ?",
            columns.join(", "),
            self.dialect.content_text()
        );
        let rows = self
            .reader
            .query_all_raw(
                self.dialect
                    .stmt(&sql, vec![after.into(), i64::from(limit).into()]),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(found) = found_from_row(row)? {
                out.push(Scanned {
                    found,
                    seq: row.try_get_by_index(6)?,
                });
            }
        }
        Ok(out)
    }

    /// The number of current (not deleted) resources.
    pub async fn count_current(&self) -> Result<i64> {
        let row = self
            .reader
            .query_one_raw(
                self.dialect
                    .stmt("SELECT COUNT(*) FROM resource WHERE NOT deleted", vec![]),
            )
            .await?;
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }

    /// The setting `name`, if set.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = self
            .reader
            .query_one_raw(self.dialect.stmt(
                "SELECT value FROM setting WHERE name = ?",
                vec![name.into()],
            ))
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get_by_index(0)?),
            None => None,
        })
    }
}

impl Transaction {
    /// Replaces the index rows of the scanned resources whose version is still
    /// current (a resource written since it was scanned keeps its newer rows);
    /// returns how many were replaced.
    pub async fn replace_index(&self, batch: &[(Scanned, Vec<IndexRow>)]) -> Result<usize> {
        self.flush().await?;
        if batch.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "SELECT rid, seq FROM resource WHERE rid IN ({}){}",
            tuples(batch.len(), "?"),
            self.dialect.for_update()
        );
        let values: Vec<Value> = batch.iter().map(|(s, _)| s.found.rid.into()).collect();
        let rows = self
            .txn
            .query_all_raw(self.dialect.stmt(&sql, values))
            .await?;
        let mut current = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            current.insert(
                row.try_get_by_index::<i64>(0)?,
                row.try_get_by_index::<i64>(1)?,
            );
        }
        let (rids, statements) = replacement(self.dialect, batch, &current);
        clear_index(&self.txn, self.dialect, &rids).await?;
        insert_index(&self.txn, statements).await?;
        Ok(rids.len())
    }

    /// Sets setting `name` to `value`.
    pub async fn set_setting(&self, name: &str, value: &str) -> Result<()> {
        let stmt = self.dialect.stmt(
            "INSERT INTO setting (name, value) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            vec![name.into(), value.into()],
        );
        self.txn.execute_raw(stmt).await?;
        Ok(())
    }
}

/// The rows of `batch` whose version is still current, and the statements
/// that insert their index rows.
fn replacement(
    d: crate::dialect::Dialect,
    batch: &[(Scanned, Vec<IndexRow>)],
    current: &std::collections::HashMap<i64, i64>,
) -> (Vec<i64>, Vec<sea_orm::Statement>) {
    let unchanged: Vec<&(Scanned, Vec<IndexRow>)> = batch
        .iter()
        .filter(|(s, _)| current.get(&s.found.rid) == Some(&s.seq))
        .collect();
    let rids = unchanged.iter().map(|(s, _)| s.found.rid).collect();
    let statements = index_statements(
        d,
        unchanged.iter().flat_map(|(s, rows)| {
            rows.iter()
                .map(move |row| (s.found.rid, &s.found.key.resource_type, row))
        }),
    );
    (rids, statements)
}

/// One entry of the change feed: a version written, in `seq` order.
#[derive(Clone, Debug)]
pub struct Change {
    /// Its position in the feed.
    pub seq: i64,
    /// The resource's type.
    pub resource_type: String,
    /// The resource's id.
    pub id: String,
    /// The version's content; `None` for a deletion.
    pub content: Option<String>,
}

impl Store {
    /// Up to `limit` versions written after position `after`, oldest first.
    pub async fn changes_since(&self, after: i64, limit: u32) -> Result<Vec<Change>> {
        let sql = format!(
            "SELECT v.seq, v.res_type, v.res_id, {} FROM resource_version v
             WHERE v.seq > ? ORDER BY v.seq LIMIT ?",
            self.dialect.content_text()
        );
        let rows = self
            .reader
            .query_all_raw(
                self.dialect
                    .stmt(&sql, vec![after.into(), i64::from(limit).into()]),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(Change {
                seq: row.try_get_by_index(0)?,
                resource_type: row.try_get_by_index(1)?,
                id: row.try_get_by_index(2)?,
                content: row.try_get_by_index(3)?,
            });
        }
        Ok(out)
    }

    /// The position of the latest version written (0 for an empty store).
    pub async fn latest_change(&self) -> Result<i64> {
        let row = self
            .reader
            .query_one_raw(
                self.dialect
                    .stmt("SELECT COALESCE(MAX(seq), 0) FROM resource_version", vec![]),
            )
            .await?;
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }
}
