//! Full-text search for FHIR's `_text` and `_content` parameters: a tantivy index beside the
//! database that maps words to resource ids.
//! <https://hl7.org/fhir/R4/search.html#text>
//!
//! The store keeps the resources; this index keeps, per current resource, one document with its
//! narrative ([`narrative`], searched by `_text`) and all its text ([`content`], searched by
//! `_content`). A search returns ids, which the SQL query then uses as `res_id IN (…)`, so the
//! access filter and every other parameter stay in the database.
//!
//! # Query language
//!
//! - Words match case- and accent-insensitively: text and queries go through the same
//!   analyzer (split on anything that is not a letter or digit, lowercase, ASCII-fold), so
//!   `alesund` finds `Ålesund`, `baerum` finds `Bærum` and `soreide` finds `Søreide`.
//! - Several words must all match: `diabetes insulin`.
//! - `OR` (in capitals) between words or phrases makes them alternatives, binding tighter than
//!   the implicit AND: `diabetes type1 OR type2` is `diabetes AND (type1 OR type2)`.
//! - `"quoted words"` match as a phrase; so do words the analyzer splits (`covid-19`).
//! - A trailing `*` is a prefix: `diab*`, `"type 2 diab"*`. A prefix stands for at most a
//!   thousand indexed words.
//! - Nothing else is syntax: every string is a valid query, and one without any word (`*`,
//!   `()`, `:`) matches nothing.
//!
//! # Consistency
//!
//! [`FullText::update`] queues changes; [`FullText::commit`] (after each database commit)
//! makes them visible to searches. [`FullText::commit_at`] also records the change-feed position
//! the index has caught up to, which [`FullText::position`] reads back after a restart, so the
//! server replays only what the index missed.

mod content;
mod index;
mod narrative;
mod query;

pub use content::content;
pub use index::{Field, FullText};
pub use narrative::narrative;

/// Why the full-text index could not be opened, written or searched.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index directory could not be created.
    #[error("cannot create the full-text index directory {}: {source}", path.display())]
    Directory {
        /// The directory that was asked for.
        path: std::path::PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// Tantivy failed: an I/O error, a corrupt or incompatible index, or another process
    /// holding the index's write lock.
    #[error("full-text index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// An earlier write panicked while holding the writer; the index refuses further writes
    /// until it is reopened.
    #[error("the full-text index writer is unusable after a panic")]
    Poisoned,
}

#[cfg(test)]
mod tests;
