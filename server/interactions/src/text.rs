//! `_text` and `_content`: the full-text index, fed from the change feed.
//!
//! Every version the store writes gets a change-feed position; the index
//! catches up to the feed in the background and before every full-text
//! search, so it needs no hook in any write path, survives restarts (it
//! records its position) and serves each replica from its own local copy.

use std::sync::Arc;

use tillit_fulltext::{Field, FullText};
use tillit_store::Store;

use crate::Error;

/// Versions read from the change feed per round.
const BATCH: u32 = 2000;

/// The most ids one full-text condition may carry into a query.
pub const MAX_TEXT_MATCHES: usize = 10_000;

/// The full-text index and the lock that keeps one catch-up at a time.
pub struct TextIndex {
    index: Arc<FullText>,
    catching_up: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("position", &self.index.position())
            .finish()
    }
}

impl TextIndex {
    /// Opens the index in `dir` (created if missing), or in memory for `None`.
    pub fn open(dir: Option<&std::path::Path>) -> Result<TextIndex, tillit_fulltext::Error> {
        Ok(TextIndex {
            index: Arc::new(FullText::open(dir)?),
            catching_up: tokio::sync::Mutex::new(()),
        })
    }

    /// Indexes every version written since the index's position; returns how many.
    pub async fn catch_up(&self, store: &Store) -> Result<usize, Error> {
        let _one_at_a_time = self.catching_up.lock().await;
        let mut done = 0;
        loop {
            let position = self.index.position().unwrap_or(0);
            let changes = store.changes_since(position, BATCH).await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(done);
            };
            let count = changes.len();
            // Parsing and indexing are CPU work and the commit syncs to disk:
            // they run on the blocking pool, not on a request worker.
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index_changes(&index, &changes, last))
                .await
                .map_err(|e| Error::TextIndex(e.to_string()))??;
            done += count;
        }
    }

    /// The ids of resources of `resource_type` whose narrative (`_text`) or
    /// whole text (`_content`) matches `query`, after catching up.
    pub async fn search(
        &self,
        store: &Store,
        resource_type: &str,
        content: bool,
        query: &str,
    ) -> Result<Vec<String>, Error> {
        self.catch_up(store).await?;
        let field = if content { Field::Content } else { Field::Text };
        let (index, resource_type, query) = (
            self.index.clone(),
            resource_type.to_owned(),
            query.to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            index.search(&resource_type, field, &query, MAX_TEXT_MATCHES)
        })
        .await
        .map_err(|e| Error::TextIndex(e.to_string()))?
        .map_err(text_error)
    }

    /// Keeps the index caught up every `period` until the process ends.
    pub fn follow(self: &Arc<Self>, store: Store, period: std::time::Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(problem) = me.catch_up(&store).await {
                    tracing::warn!(%problem, "full-text index catch-up failed");
                }
                tokio::time::sleep(period).await;
            }
        });
    }
}

/// Indexes `changes` and commits at position `last`.
fn index_changes(
    index: &FullText,
    changes: &[tillit_store::Change],
    last: i64,
) -> Result<(), Error> {
    let parsed: Vec<Option<serde_json::Value>> = changes
        .iter()
        .map(|c| {
            c.content
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
        })
        .collect();
    let documents: Vec<(&str, &str, Option<&serde_json::Value>)> = changes
        .iter()
        .zip(&parsed)
        .map(|(c, json)| (c.resource_type.as_str(), c.id.as_str(), json.as_ref()))
        .collect();
    index.update(&documents).map_err(text_error)?;
    index.commit_at(last).map_err(text_error)
}

fn text_error(err: tillit_fulltext::Error) -> Error {
    Error::TextIndex(err.to_string())
}
