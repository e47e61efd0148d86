//! The version history of one resource, one type or the whole server, newest
//! first, paged by the global sequence number so pages hold while others write.

use sea_orm::{ConnectionTrait, Value};
use tillit_model::{Id, Instant, ResourceKey};

use crate::write::Method;
use crate::{Result, Store, Stored};

/// Whose history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryScope {
    /// Every resource on the server.
    System,
    /// Every resource of one type.
    Type(String),
    /// One resource.
    Instance(ResourceKey),
}

/// A history request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Whose history.
    pub scope: HistoryScope,
    /// Only versions written at or after this time (`_since`).
    pub since: Option<Instant>,
    /// Only versions current at some point in `[at.0, at.1)` (`_at`).
    pub at: Option<(Instant, Instant)>,
    /// Only versions older than this sequence number (the page cursor).
    pub before_seq: Option<i64>,
    /// Page size.
    pub count: u32,
}

/// One version in a history page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The resource.
    pub key: ResourceKey,
    /// The version and its content.
    pub stored: Stored,
    /// How it was written.
    pub method: Method,
    /// Its place in the server-wide order of writes.
    pub seq: i64,
}

impl Store {
    /// One page of history, newest first; one more entry than `count` is never
    /// returned, and the caller pages on with the last entry's `seq`.
    pub async fn history(&self, query: &HistoryQuery) -> Result<(Vec<HistoryEntry>, bool)> {
        let d = self.dialect;
        let mut filter = String::from("1 = 1");
        let mut values: Vec<Value> = Vec::new();
        match &query.scope {
            HistoryScope::System => {}
            HistoryScope::Type(t) => {
                filter.push_str(" AND v.res_type = ?");
                values.push(t.clone().into());
            }
            HistoryScope::Instance(key) => {
                filter.push_str(" AND v.res_type = ? AND v.res_id = ?");
                values.push(key.resource_type.clone().into());
                values.push(key.id.as_str().into());
            }
        }
        if let Some(since) = query.since {
            filter.push_str(" AND v.last_updated >= ?");
            values.push(since.0.into());
        }
        if let Some((start, end)) = query.at {
            filter.push_str(
                " AND v.last_updated < ? AND NOT EXISTS (SELECT 1 FROM resource_version n
                  WHERE n.res_type = v.res_type AND n.res_id = v.res_id
                  AND n.version > v.version AND n.last_updated < ?)",
            );
            values.push(end.0.into());
            values.push(start.0.into());
        }
        if let Some(before) = query.before_seq {
            filter.push_str(" AND v.seq < ?");
            values.push(before.into());
        }
        values.push((i64::from(query.count) + 1).into());
        let sql = format!(
            "SELECT v.version, v.last_updated, {}, v.res_type, v.res_id, v.method, v.seq
             FROM resource_version v WHERE {filter} ORDER BY v.seq DESC LIMIT ?",
            d.content_text()
        );
        let rows = self.reader.query_all_raw(d.stmt(&sql, values)).await?;
        let more = rows.len() > query.count as usize;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows.iter().take(query.count as usize) {
            let res_type: String = row.try_get_by_index(3)?;
            let raw_id: String = row.try_get_by_index(4)?;
            let Ok(id) = Id::parse(&raw_id) else { continue };
            entries.push(HistoryEntry {
                key: ResourceKey::new(res_type, id),
                stored: Stored::from_row(row)?,
                method: Method::parse(&row.try_get_by_index::<String>(5)?),
                seq: row.try_get_by_index(6)?,
            });
        }
        Ok((entries, more))
    }
}
