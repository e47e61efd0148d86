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
        read_current(&self.reader, self.dialect, key, false).await
    }

    /// Version `version` of `key`; `None` if there is no such version.
    pub async fn vread(&self, key: &ResourceKey, version: VersionId) -> Result<Option<Stored>> {
        let sql = format!(
            "SELECT v.version, v.last_updated, {} FROM resource_version v
             WHERE v.res_type = ? AND v.res_id = ? AND v.version = ?",
            self.dialect.content_text()
        );
        let stmt = self.dialect.stmt(
            &sql,
            vec![
                key.resource_type.clone().into(),
                key.id.as_str().into(),
                version.0.into(),
            ],
        );
        match self.reader.query_one_raw(stmt).await? {
            Some(row) => Ok(Some(Stored::from_row(&row)?)),
            None => Ok(None),
        }
    }
}

/// The current version of `key` through `db`, locked for update when asked.
pub(crate) async fn read_current(
    db: &impl ConnectionTrait,
    dialect: Dialect,
    key: &ResourceKey,
    lock: bool,
) -> Result<Option<Stored>> {
    let sql = format!(
        "SELECT r.version, r.last_updated, {} FROM resource r
         JOIN resource_version v ON v.seq = r.seq
         WHERE r.res_type = ? AND r.res_id = ?{}",
        dialect.content_text(),
        if lock { dialect.for_update() } else { "" }
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
