//! Opening the database: pools, SQLite pragmas and migrations.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use sea_orm_migration::MigratorTrait;

use std::sync::Arc;

use crate::cache::{watch_other_writers, ReadCache};
use crate::dialect::Dialect;
use crate::migrations::Migrator;
use crate::{Error, Result};

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub database_url: String,
    /// Connections in the read pool (and the whole pool on PostgreSQL).
    pub pool_size: u32,
    /// Bytes of current versions to cache in memory (SQLite only; 0 turns it off).
    pub read_cache_bytes: u64,
}

/// The database behind Tillit: a read pool and a write pool.
///
/// SQLite has one writer: a second write connection turns lock waits into
/// `SQLITE_BUSY` under load, so all writes share one connection while reads use
/// a pool. PostgreSQL uses one pool for both, with row locks for writers.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) reader: DatabaseConnection,
    pub(crate) writer: DatabaseConnection,
    pub(crate) dialect: Dialect,
    pub(crate) cache: Option<Arc<ReadCache>>,
}

impl Store {
    /// Opens the database named in `options` and brings its schema up to date.
    pub async fn connect(options: &StoreOptions) -> Result<Store> {
        let url = options.database_url.as_str();
        let store = if url.starts_with("sqlite:") {
            create_sqlite_dir(url)?;
            let mut writer_options = sqlite_options(url, 1, WRITER_CACHE_KIB);
            writer_options.acquire_timeout(Duration::from_secs(300));
            // Waiting for the one writer connection is normal under write load.
            // It is also kept for the life of the process: PRAGMA data_version,
            // which the read cache watches, counts per connection.
            writer_options.map_sqlx_sqlite_pool_opts(|o| {
                o.acquire_slow_threshold(Duration::from_secs(300))
                    .acquire_timeout(Duration::from_secs(300))
                    .max_lifetime(None)
                    .idle_timeout(None)
            });
            let writer = Database::connect(writer_options).await?;
            // Migrate before the readers open: they must see the final schema.
            Migrator::up(&writer, None).await?;
            let reader =
                Database::connect(sqlite_options(url, options.pool_size, READER_CACHE_KIB)).await?;
            checkpoint_in_background(reader.clone());
            let cache = (options.read_cache_bytes > 0)
                .then(|| Arc::new(ReadCache::new(options.read_cache_bytes)));
            if let Some(cache) = &cache {
                watch_other_writers(cache.clone(), writer.clone());
            }
            Store {
                reader,
                writer,
                dialect: Dialect(DbBackend::Sqlite),
                cache,
            }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut opts = ConnectOptions::new(url);
            opts.max_connections(options.pool_size)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .sqlx_logging(false)
                // Prepared statements are cached per connection, and after five
                // runs PostgreSQL may switch to a generic plan that cannot see
                // the parameter ids and values a search filters on (a 0.4 ms
                // search became 400 ms). Every search is planned for its values.
                // JIT compilation, which the cost of a large search can
                // trigger, takes longer than the searches it would speed up.
                .map_sqlx_postgres_opts(|o| {
                    o.options([("plan_cache_mode", "force_custom_plan"), ("jit", "off")])
                });
            let pool = Database::connect(opts).await?;
            Migrator::up(&pool, None).await?;
            Store {
                reader: pool.clone(),
                writer: pool,
                dialect: Dialect(DbBackend::Postgres),
                cache: None,
            }
        } else {
            return Err(Error::UnsupportedUrl(url.to_owned()));
        };
        Ok(store)
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> bool {
        self.reader.ping().await.is_ok()
    }

    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    pub fn backend_name(&self) -> &'static str {
        if self.dialect.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Closes both pools, waiting for checked-out connections to return.
    pub async fn close(self) {
        let _ = self.reader.close().await;
        if !self.dialect.is_postgres() {
            let _ = self.writer.close().await;
        }
    }
}

/// The writer's page cache: index inserts land all over the B-trees, so the
/// one writer connection gets a large cache (SQLite's default is 2 MB).
const WRITER_CACHE_KIB: u32 = 262_144;

/// Each reader's page cache; readers mostly go through the shared memory map.
const READER_CACHE_KIB: u32 = 65_536;

/// How much of a SQLite database is memory-mapped: all of any real one.
const MMAP_BYTES: u64 = 256 << 30;

/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies committed WAL frames into the database file from a read connection
/// (PASSIVE: never blocking the writer or readers), so that the writer's
/// commits do not stop for checkpoints and their syncs under sustained ingest.
fn checkpoint_in_background(reader: DatabaseConnection) {
    tokio::spawn(async move {
        while !reader.get_sqlite_connection_pool().is_closed() {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            let stmt = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
            if let Err(err) = reader.query_one_raw(stmt).await {
                if !reader.get_sqlite_connection_pool().is_closed() {
                    tracing::warn!(error = %err, "background checkpoint failed");
                }
            }
        }
    });
}

fn sqlite_options(url: &str, connections: u32, cache_kib: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            // WAL with synchronous=NORMAL survives a killed process (the WAL is
            // written before commit returns); only an OS crash may lose the tail.
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .pragma("cache_size", format!("-{cache_kib}"))
                // Memory-mapped reads share the OS page cache between
                // connections and cost no copy; the whole file is mapped (the
                // build raises SQLite's limit, see .cargo/config.toml).
                .pragma("mmap_size", MMAP_BYTES.to_string())
                .pragma("temp_store", "memory")
                // The background checkpointer keeps the WAL short; the writer
                // checkpoints itself only if it falls far behind.
                .pragma("wal_autocheckpoint", "100000")
        });
    opts
}

/// Creates the folder an SQLite database file lives in.
fn create_sqlite_dir(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|source| Error::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
    }
    Ok(())
}

impl Store {
    /// Connections in the read pool and how many of them are idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        if self.dialect.is_postgres() {
            let pool = self.reader.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        } else {
            let pool = self.reader.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}
