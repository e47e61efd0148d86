//! Writing versions: every write runs in a [`Transaction`], one per interaction
//! (a whole transaction Bundle is one).

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tillit_model::{Instant, ResourceKey, VersionId};

use std::sync::{Arc, Mutex};

use crate::cache::ReadCache;
use crate::dialect::Dialect;
use crate::index::IndexRow;
use crate::pending::{self, PendingVersion};
use crate::read::read_current;
use crate::{Result, Store, Stored};

/// The current version of a resource as a writer sees it (locked until commit).
pub type Current = Stored;

/// The HTTP method a version was written by, as history reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `POST`: a create.
    Post,
    /// `PUT`: an update, or an update-as-create.
    Put,
    /// `PATCH`: a patch.
    Patch,
    /// `DELETE`: a deletion.
    Delete,
}

impl Method {
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub(crate) fn parse(raw: &str) -> Method {
        match raw {
            "POST" => Method::Post,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => Method::Put,
        }
    }
}

/// One version to write.
#[derive(Clone, Debug)]
pub struct NewVersion<'a> {
    /// Which resource.
    pub key: &'a ResourceKey,
    /// Its new version number: one more than the current one.
    pub version: VersionId,
    /// The time of the write.
    pub last_updated: Instant,
    /// How it was written.
    pub method: Method,
    /// The resource JSON, or `None` for a deletion.
    pub content: Option<&'a str>,
    /// The index rows of this version (empty for a deletion).
    pub index: &'a [IndexRow],
}

/// A database transaction that interactions write through.
pub struct Transaction {
    pub(crate) txn: DatabaseTransaction,
    pub(crate) dialect: Dialect,
    invalidation: Invalidation,
    /// Writes not yet sent to the database.
    pending: Mutex<Vec<PendingVersion>>,
}

/// Buffered writes that trigger a flush on their own, bounding memory.
const FLUSH_AT: usize = 500;

/// The keys a transaction wrote, forgotten by the read cache when this is
/// dropped: after commit returns, and also when a commit is abandoned half-way
/// (a dropped request future may still have committed).
struct Invalidation {
    cache: Option<Arc<ReadCache>>,
    written: Mutex<Vec<ResourceKey>>,
}

impl Drop for Invalidation {
    fn drop(&mut self) {
        if let Some(cache) = &self.cache {
            let written = self
                .written
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !written.is_empty() {
                cache.invalidate(written);
            }
        }
    }
}

impl Store {
    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Transaction> {
        // SQLite: IMMEDIATE takes the write lock at BEGIN, so a writer that reads
        // first waits for another process's writer instead of failing with
        // SQLITE_BUSY when it upgrades.
        let txn = if self.dialect.is_postgres() {
            self.writer.begin().await?
        } else {
            let options = TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            };
            self.writer.begin_with_options(options).await?
        };
        Ok(Transaction {
            txn,
            dialect: self.dialect,
            pending: Mutex::new(Vec::new()),
            invalidation: Invalidation {
                cache: self.cache.clone(),
                written: Mutex::new(Vec::new()),
            },
        })
    }
}

impl Transaction {
    /// The current version of `key`, locked against other writers until commit.
    pub async fn current(&self, key: &ResourceKey) -> Result<Option<Current>> {
        if self.is_pending(key) {
            self.flush().await?;
        }
        read_current(&self.txn, self.dialect, key, true).await
    }

    /// The current version number of `key` and whether it records a deletion,
    /// locked against other writers until commit; one round trip, no content.
    pub async fn current_version(&self, key: &ResourceKey) -> Result<Option<(VersionId, bool)>> {
        if let Some(pending) = self.pending_version(key) {
            return Ok(Some(pending));
        }
        let sql = format!(
            "SELECT version, deleted FROM resource WHERE res_type = ? AND res_id = ?{}",
            self.dialect.for_update()
        );
        let stmt = self.dialect.stmt(
            &sql,
            vec![key.resource_type.clone().into(), key.id.as_str().into()],
        );
        match self.txn.query_one_raw(stmt).await? {
            Some(row) => Ok(Some((
                VersionId(row.try_get_by_index(0)?),
                row.try_get_by_index(1)?,
            ))),
            None => Ok(None),
        }
    }

    /// Version `version` of `key`, as this transaction sees it.
    pub async fn vread(&self, key: &ResourceKey, version: VersionId) -> Result<Option<Stored>> {
        if self.is_pending(key) {
            self.flush().await?;
        }
        crate::read::read_version(&self.txn, self.dialect, key, version).await
    }

    /// The current version of `key` as this transaction sees it, without a lock.
    pub async fn read(&self, key: &ResourceKey) -> Result<Option<Stored>> {
        if self.is_pending(key) {
            self.flush().await?;
        }
        read_current(&self.txn, self.dialect, key, false).await
    }

    /// Serialises the transactions that take the same `name` until they end:
    /// conditional writes on one resource type (so two conditional creates cannot
    /// both see "no match"), or one package's installation. SQLite's single
    /// writer serialises them already.
    pub async fn lock(&self, name: &str) -> Result<()> {
        if self.dialect.is_postgres() {
            let key = name.bytes().fold(0x5449_4c4c_4954_i64, |h, b| {
                h.wrapping_mul(31).wrapping_add(i64::from(b))
            });
            let stmt = self
                .dialect
                .stmt("SELECT pg_advisory_xact_lock(?)", vec![key.into()]);
            self.txn.query_one_raw(stmt).await?;
        }
        Ok(())
    }

    /// Writes one version: the history row, the current-version pointer and the
    /// index rows. The write is buffered and reaches the database, with the
    /// transaction's other writes, before any read that could see it and at
    /// commit; two writers racing for the same version get [`Error::Conflict`]
    /// then.
    pub async fn write(&self, new: &NewVersion<'_>) -> Result<()> {
        if self.is_pending(new.key) {
            // One flush holds at most one version of a resource.
            self.flush().await?;
        }
        let full = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.push(PendingVersion {
                key: new.key.clone(),
                version: new.version,
                last_updated: new.last_updated,
                method: new.method,
                content: new.content.map(str::to_owned),
                index: new.index.to_vec(),
            });
            pending.len() >= FLUSH_AT
        };
        if self.invalidation.cache.is_some() {
            let mut written = self
                .invalidation
                .written
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            written.push(new.key.clone());
        }
        if full {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends the buffered writes to the database.
    pub(crate) async fn flush(&self) -> Result<()> {
        let rows = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if rows.is_empty() {
            return Ok(());
        }
        pending::flush(&self.txn, self.dialect, &rows).await
    }

    fn is_pending(&self, key: &ResourceKey) -> bool {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.iter().any(|p| &p.key == key)
    }

    /// The buffered version of `key`, if one waits to be written.
    fn pending_version(&self, key: &ResourceKey) -> Option<(VersionId, bool)> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .iter()
            .rev()
            .find(|p| &p.key == key)
            .map(|p| (p.version, p.content.is_none()))
    }

    /// Whether FHIR package `name#version` has been installed into this database.
    pub async fn package_installed(&self, name: &str, version: &str) -> Result<bool> {
        let stmt = self.dialect.stmt(
            "SELECT 1 FROM package WHERE name = ? AND version = ?",
            vec![name.into(), version.into()],
        );
        Ok(self.txn.query_one_raw(stmt).await?.is_some())
    }

    /// Records that package `name#version` is installed.
    pub async fn mark_package_installed(&self, name: &str, version: &str) -> Result<()> {
        let stmt = self.dialect.stmt(
            "INSERT INTO package (name, version, installed_at) VALUES (?, ?, ?)",
            vec![name.into(), version.into(), Instant::now().0.into()],
        );
        self.txn.execute_raw(stmt).await?;
        Ok(())
    }

    /// Makes every write of this transaction durable and visible.
    pub async fn commit(self) -> Result<()> {
        self.flush().await?;
        let Transaction {
            txn, invalidation, ..
        } = self;
        let committed = txn.commit().await;
        drop(invalidation);
        Ok(committed?)
    }

    /// Undoes every write of this transaction.
    pub async fn rollback(self) -> Result<()> {
        let Transaction { txn, .. } = self;
        Ok(txn.rollback().await?)
    }
}
