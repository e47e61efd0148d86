//! The read cache of current versions, for SQLite only.
//!
//! SQLite serves one process, so this process sees every write it makes and
//! invalidates exactly those keys after commit. Commits by other processes on
//! the same file (an offline `tillit import`) are noticed by polling `PRAGMA
//! data_version` on the writer connection, which changes only for other
//! connections' commits, and then clear the whole cache. PostgreSQL serves many
//! replicas, so it gets no cache: every replica reads the database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tillit_model::ResourceKey;

use crate::Stored;

/// How often other processes' commits are looked for.
const POLL: Duration = Duration::from_millis(100);

#[derive(Clone)]
struct ContentWeight;

impl Weighter<ResourceKey, Arc<Stored>> for ContentWeight {
    fn weight(&self, key: &ResourceKey, value: &Arc<Stored>) -> u64 {
        (key.resource_type.len()
            + key.id.as_str().len()
            + value.content.as_ref().map_or(0, String::len)
            + 64) as u64
    }
}

/// Current versions by key, bounded in bytes.
pub(crate) struct ReadCache {
    entries: Cache<ResourceKey, Arc<Stored>, ContentWeight>,
    /// Bumped by every invalidation; a read that started before one may not fill the cache.
    epoch: AtomicU64,
    /// Orders fills against invalidations.
    guard: Mutex<()>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("entries", &self.entries.len())
            .field("bytes", &self.entries.weight())
            .finish()
    }
}

impl ReadCache {
    /// A cache holding at most `bytes` of resource content.
    pub(crate) fn new(bytes: u64) -> ReadCache {
        ReadCache {
            entries: Cache::with_weighter((bytes / 2048).max(16) as usize, bytes, ContentWeight),
            epoch: AtomicU64::new(0),
            guard: Mutex::new(()),
        }
    }

    pub(crate) fn get(&self, key: &ResourceKey) -> Option<Stored> {
        self.entries.get(key).map(|stored| Stored::clone(&stored))
    }

    /// The epoch to pass to [`ReadCache::fill`] for a read starting now.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Caches what a read found, unless something was invalidated since it began.
    pub(crate) fn fill(&self, key: &ResourceKey, stored: &Stored, started: u64) {
        let _guard = self.guard.lock().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::Acquire) == started {
            self.entries.insert(key.clone(), Arc::new(stored.clone()));
        }
    }

    /// Forgets `keys` after a commit that wrote them.
    pub(crate) fn invalidate(&self, keys: &[ResourceKey]) {
        let _guard = self.guard.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for key in keys {
            self.entries.remove(key);
        }
    }

    /// Forgets everything (another process wrote to the database).
    fn clear(&self) {
        let _guard = self.guard.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }
}

/// Clears `cache` whenever another process commits to the SQLite file; ends
/// when the writer connection closes.
pub(crate) fn watch_other_writers(cache: Arc<ReadCache>, writer: DatabaseConnection) {
    tokio::spawn(async move {
        let mut last: Option<i64> = None;
        while !writer.get_sqlite_connection_pool().is_closed() {
            tokio::time::sleep(POLL).await;
            let stmt = Statement::from_string(DbBackend::Sqlite, "PRAGMA data_version");
            let version = match writer.query_one_raw(stmt).await {
                Ok(Some(row)) => row.try_get_by_index::<i64>(0).ok(),
                _ => None,
            };
            match (last, version) {
                (Some(before), Some(now)) if before == now => {}
                // A change, or a poll that failed and may have missed one.
                (Some(_), _) => {
                    tracing::info!(
                        "the database may have been written by another process; read cache cleared"
                    );
                    cache.clear();
                }
                (None, _) => {}
            }
            last = version;
        }
    });
}
