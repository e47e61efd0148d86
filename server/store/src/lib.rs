//! Tillit's store: resource versions, search index rows and the change feed, on
//! SQLite (embedded default) or PostgreSQL (production) through sea-orm.
//!
//! One code path serves both databases; the few differences (placeholders, the
//! `jsonb` column, row locks) are decided by [`Dialect`] in the SQL text, not by
//! a backend trait. The store knows nothing of HTTP or FHIRPath: callers hand it
//! the index rows they extracted.

mod cache;
mod connect;
mod dialect;
mod history;
mod index;
mod migrations;
mod pending;
mod read;
mod reindex;
mod search;
mod write;

pub use connect::{Store, StoreOptions};
pub use history::{HistoryEntry, HistoryQuery, HistoryScope};
pub use index::{param_id, IndexRow, IndexTable, IndexValue};
pub use read::Stored;
pub use reindex::{Change, Scanned};
pub use sea_orm::DbErr;
pub use search::include::Include;
pub use search::{
    Condition, Cursor, Found, Prefix, SearchPage, SearchQuery, SortBy, SortKey, SortValue,
    StringTest, TimeWindow, UriTest, ValueTest, Visibility,
};
pub use write::{Current, Method, NewVersion, Transaction};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(sea_orm::DbErr),
    /// Another writer created the same resource version first.
    #[error("version conflict on {0}")]
    Conflict(String),
    /// The database URL names no supported database.
    #[error("unsupported database URL '{0}': use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    /// The data directory for an SQLite database could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl From<sea_orm::DbErr> for Error {
    /// PostgreSQL deadlocks and serialisation failures are lost races between
    /// clients, answered as conflicts (409) rather than server errors.
    fn from(err: sea_orm::DbErr) -> Error {
        let text = err.to_string();
        if text.contains("deadlock detected") || text.contains("could not serialize access") {
            Error::Conflict("a resource written by concurrent requests".into())
        } else {
            Error::Database(err)
        }
    }
}

impl Error {
    /// Turns a unique-constraint violation into [`Error::Conflict`], so that two
    /// writers racing to create the same version get a conflict, not a 500.
    fn from_write(err: sea_orm::DbErr, what: &str) -> Error {
        let text = err.to_string();
        if text.contains("UNIQUE constraint") || text.contains("duplicate key") {
            Error::Conflict(what.to_owned())
        } else {
            Error::Database(err)
        }
    }
}

/// The store's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Where a read looks: at committed data, or inside a write transaction
/// (transaction Bundles read what their own entries wrote).
#[derive(Clone, Copy)]
pub enum Reader<'a> {
    /// The committed state, through the read pool.
    Committed(&'a Store),
    /// The state as a write transaction sees it.
    Within(&'a Transaction),
}

impl Reader<'_> {
    /// The current version of `key`.
    pub async fn read(&self, key: &tillit_model::ResourceKey) -> Result<Option<Stored>> {
        match self {
            Reader::Committed(store) => store.read(key).await,
            Reader::Within(txn) => txn.read(key).await,
        }
    }

    /// Version `version` of `key`.
    pub async fn vread(
        &self,
        key: &tillit_model::ResourceKey,
        version: tillit_model::VersionId,
    ) -> Result<Option<Stored>> {
        match self {
            Reader::Committed(store) => store.vread(key, version).await,
            Reader::Within(txn) => txn.vread(key, version).await,
        }
    }

    /// One page of search results.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage> {
        match self {
            Reader::Committed(store) => store.search(query).await,
            Reader::Within(txn) => txn.search(query).await,
        }
    }

    /// The resources `includes` add to a page.
    pub async fn include(
        &self,
        matches: &[Found],
        includes: &[Include],
        visibility: &Visibility,
        cap: usize,
    ) -> Result<Vec<Found>> {
        match self {
            Reader::Committed(store) => store.include(matches, includes, visibility, cap).await,
            Reader::Within(txn) => txn.include(matches, includes, visibility, cap).await,
        }
    }
}
