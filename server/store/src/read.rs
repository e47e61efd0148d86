//! Reading one resource: its current version (`read`) or a given one (`vread`).

use sea_orm::{ConnectionTrait, QueryResult};
use tillit_model::{Instant, ResourceKey, VersionId};

use crate::dialect::Dialect;
use crate::{Result, Store};

/// One stored version of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The version number.
    pub version: VersionId,
    /// When it was written.
    pub last_updated: Instant,
    /// The resource JSON, with `meta.versionId` and `meta.lastUpdated` set;
    /// `None` for a deletion.
    pub content: Option<String>,
}

impl Stored {
    /// Whether this version records a deletion.
    pub fn is_deleted(&self) -> bool {
        self.content.is_none()
    }

    /// Decodes `version, last_updated, content` at the start of a row.
    pub(crate) fn from_row(row: &QueryResult) -> Result<Stored> {
        Ok(Stored {
            version: VersionId(row.try_get_by_index::<i64>(0)?),
            last_updated: Instant(row.try_get_by_index::<i64>(1)?),
            content: row.try_get_by_index::<Option<String>>(2)?,
        })
    }
}

impl Store {
    /// The current version of `key`, deleted or not; `None` if it never existed.
    pub async fn read(&self, key: &ResourceKey) -> Result<Option<Stored>> {
        let Some(cache) = &self.cache else {
            return read_current(&self.reader, self.dialect, key, false).await;
        };
        if let Some(hit) = cache.get(key) {
            return Ok(Some(hit));
        }
        let started = cache.epoch();
        let found = read_current(&self.reader, self.dialect, key, false).await?;
        if let Some(stored) = &found {
            cache.fill(key, stored, started);
        }
        Ok(found)
    }

    /// Version `version` of `key`; `None` if there is no such version.
    pub async fn vread(&self, key: &ResourceKey, version: VersionId) -> Result<Option<Stored>> {
        read_version(&self.reader, self.dialect, key, version).await
    }
}

/// The current version of `key` through `db`; with `lock`, its `resource` row
/// is locked against other writers until the transaction ends.
pub(crate) async fn read_current(
    db: &impl ConnectionTrait,
    dialect: Dialect,
    key: &ResourceKey,
    lock: bool,
) -> Result<Option<Stored>> {
    if lock {
        // Lock the pointer row alone, then follow it: on PostgreSQL a locked
        // join re-checks only the locked row after waiting, and would miss the
        // version a concurrent writer just committed.
        let sql = format!(
            "SELECT seq FROM resource WHERE res_type = ? AND res_id = ?{}",
            dialect.for_update()
        );
        let stmt = dialect.stmt(
            &sql,
            vec![key.resource_type.clone().into(), key.id.as_str().into()],
        );
        let Some(row) = db.query_one_raw(stmt).await? else {
            return Ok(None);
        };
        let seq: i64 = row.try_get_by_index(0)?;
        let sql = format!(
            "SELECT v.version, v.last_updated, {} FROM resource_version v WHERE v.seq = ?",
            dialect.content_text()
        );
        return match db
            .query_one_raw(dialect.stmt(&sql, vec![seq.into()]))
            .await?
        {
            Some(row) => Ok(Some(Stored::from_row(&row)?)),
            None => Ok(None),
        };
    }
    let sql = format!(
        "SELECT r.version, r.last_updated, {} FROM resource r
         JOIN resource_version v ON v.seq = r.seq
         WHERE r.res_type = ? AND r.res_id = ?",
        dialect.content_text()
    );
    let stmt = dialect.stmt(
        &sql,
        vec![key.resource_type.clone().into(), key.id.as_str().into()],
    );
    match db.query_one_raw(stmt).await? {
        Some(row) => Ok(Some(Stored::from_row(&row)?)),
        None => Ok(None),
    }
}

/// Version `version` of `key` through `db`.
pub(crate) async fn read_version(
    db: &impl ConnectionTrait,
    dialect: Dialect,
    key: &ResourceKey,
    version: VersionId,
) -> Result<Option<Stored>> {
    let sql = format!(
        "SELECT v.version, v.last_updated, {} FROM resource_version v
         WHERE v.res_type = ? AND v.res_id = ? AND v.version = ?",
        dialect.content_text()
    );
    let stmt = dialect.stmt(
        &sql,
        vec![
            key.resource_type.clone().into(),
            key.id.as_str().into(),
            version.0.into(),
        ],
    );
    match db.query_one_raw(stmt).await? {
        Some(row) => Ok(Some(Stored::from_row(&row)?)),
        None => Ok(None),
    }
}
