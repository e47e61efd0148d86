//! The index itself: one tantivy document per current resource, one writer, one reader.
//!
//! Writes go through a single `IndexWriter` behind a mutex (tantivy allows one writer per
//! index, and the server's writes are already serialised by the database); searches use an
//! `IndexReader` that moves to a new commit only when [`FullText::commit`] says so, so a search
//! never sees an update whose database transaction has not committed.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    self, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value as _, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
    TokenizerManager,
};
use tantivy::{IndexBuilder, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::{content, narrative, query, Error};

/// The name the analyzer of searchable text is registered under.
const ANALYZER: &str = "fhir_text";

/// Words longer than this (in bytes) are not indexed: they are tokens, hashes or base64, not
/// words anyone types.
const LONGEST_WORD: usize = 64;

/// The writer's indexing memory: it flushes a segment when this fills. Tantivy's minimum is 15 MB.
const WRITER_MEMORY: usize = 32_000_000;

/// Which text of a resource a search looks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The narrative (`text.div`), for `_text`.
    Text,
    /// All the resource's text, for `_content`.
    Content,
}

/// A full-text index of resources, on disk or in memory. Share it in an `Arc`: writes serialise
/// on an internal lock, searches run in parallel.
pub struct FullText {
    fields: Fields,
    writer: Mutex<Writer>,
    reader: IndexReader,
    /// The change-feed position of the last commit, mirrored here so reading it needs no disk.
    position: Mutex<Option<i64>>,
}

/// The tantivy fields of the schema.
struct Fields {
    /// `Type/id`, the term that deletes a resource's document.
    key: schema::Field,
    /// The resource type, to filter searches.
    resource_type: schema::Field,
    /// The id, stored to be returned.
    id: schema::Field,
    /// The narrative's words.
    text: schema::Field,
    /// All the resource's words.
    content: schema::Field,
}

/// The writer and whether it holds changes not yet committed.
struct Writer {
    writer: IndexWriter,
    dirty: bool,
}

impl FullText {
    /// Opens (creating if needed) an index in `dir`, or an in-memory one for `None`.
    ///
    /// Fails if another process has the directory's index open for writing, or if the index
    /// there was written with another schema.
    pub fn open(dir: Option<&Path>) -> Result<FullText, Error> {
        let (schema, fields) = schema();
        let builder = IndexBuilder::new().schema(schema).tokenizers(tokenizers());
        let index = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| Error::Directory {
                    path: dir.to_owned(),
                    source,
                })?;
                let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
                builder.open_or_create(directory)?
            }
            None => builder.create_in_ram()?,
        };
        let position = index
            .load_metas()?
            .payload
            .and_then(|payload| payload.parse().ok());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(FullText {
            fields,
            writer: Mutex::new(Writer {
                writer,
                dirty: false,
            }),
            reader,
            position: Mutex::new(position),
        })
    }

    /// Adds or replaces the documents of these resources (type, id, resource JSON); `None`
    /// JSON means the resource was deleted, and its document is removed. Searches see the
    /// change after the next [`commit`](Self::commit).
    pub fn update(&self, resources: &[(&str, &str, Option<&Value>)]) -> Result<(), Error> {
        let mut writer = self.writer()?;
        writer.dirty = true;
        for &(resource_type, id, resource) in resources {
            let key = format!("{resource_type}/{id}");
            writer
                .writer
                .delete_term(Term::from_field_text(self.fields.key, &key));
            if let Some(resource) = resource {
                let mut document = TantivyDocument::new();
                document.add_text(self.fields.key, &key);
                document.add_text(self.fields.resource_type, resource_type);
                document.add_text(self.fields.id, id);
                document.add_text(self.fields.text, narrative(resource));
                document.add_text(self.fields.content, content(resource));
                writer.writer.add_document(document)?;
            }
        }
        Ok(())
    }

    /// Makes every update so far visible to searches. The server calls it after each database
    /// commit; it does nothing when there was no update since the last commit. The recorded
    /// [`position`](Self::position) stays as it was.
    pub fn commit(&self) -> Result<(), Error> {
        let mut writer = self.writer()?;
        if !writer.dirty {
            return Ok(());
        }
        let position = *self.lock_position();
        self.commit_with(&mut writer, position)
    }

    /// Like [`commit`](Self::commit), and records that the index has caught up to change-feed
    /// `position`, in the same commit.
    pub fn commit_at(&self, position: i64) -> Result<(), Error> {
        let mut writer = self.writer()?;
        self.commit_with(&mut writer, Some(position))
    }

    /// The change-feed position of the last [`commit_at`](Self::commit_at), kept in the index
    /// across restarts; `None` for a new or [cleared](Self::clear) index.
    pub fn position(&self) -> Option<i64> {
        *self.lock_position()
    }

    /// Removes every document and forgets the position, committed at once (before a full
    /// rebuild): an index interrupted while being rebuilt then says it needs rebuilding again.
    pub fn clear(&self) -> Result<(), Error> {
        let mut writer = self.writer()?;
        writer.writer.delete_all_documents()?;
        self.commit_with(&mut writer, None)
    }

    /// Ids of resources of `resource_type` matching `query` on `field`, best first, at most
    /// `limit`. See the crate documentation for the query language; every query is valid, and
    /// one without any word finds nothing.
    pub fn search(
        &self,
        resource_type: &str,
        field: Field,
        query: &str,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        let field = match field {
            Field::Text => self.fields.text,
            Field::Content => self.fields.content,
        };
        let Some(words) = query::build(query, field, &mut analyzer()) else {
            return Ok(Vec::new());
        };
        let type_filter = TermQuery::new(
            Term::from_field_text(self.fields.resource_type, resource_type),
            IndexRecordOption::Basic,
        );
        let query = BooleanQuery::new(vec![
            (Occur::Must, words),
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(type_filter), 0.0)) as Box<dyn Query>,
            ),
        ]);
        let searcher = self.reader.searcher();
        // The collector allocates `limit` slots up front and rejects zero.
        let limit = limit.min(usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let hits = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut ids = Vec::with_capacity(hits.len());
        for (_score, address) in hits {
            let document: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = document.get_first(self.fields.id).and_then(|v| v.as_str()) {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    /// Commits the writer's changes with `position` as the commit's payload, then shows them
    /// to searches.
    fn commit_with(&self, writer: &mut Writer, position: Option<i64>) -> Result<(), Error> {
        let mut prepared = writer.writer.prepare_commit()?;
        if let Some(position) = position {
            prepared.set_payload(&position.to_string());
        }
        prepared.commit()?;
        writer.dirty = false;
        *self.lock_position() = position;
        self.reader.reload()?;
        Ok(())
    }

    /// The writer, unless a panic left it in an unknown state.
    fn writer(&self) -> Result<MutexGuard<'_, Writer>, Error> {
        self.writer.lock().map_err(|_| Error::Poisoned)
    }

    /// The recorded position; a plain value, so a poisoned lock still holds a valid one.
    fn lock_position(&self) -> MutexGuard<'_, Option<i64>> {
        self.position.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The schema: keys and types as exact strings, both texts analysed with positions (phrases).
fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        key: builder.add_text_field("key", STRING),
        resource_type: builder.add_text_field("type", STRING),
        id: builder.add_text_field("id", STORED),
        text: builder.add_text_field("text", words.clone()),
        content: builder.add_text_field("content", words),
    };
    (builder.build(), fields)
}

/// Tantivy's tokenizers plus ours.
fn tokenizers() -> TokenizerManager {
    let tokenizers = TokenizerManager::default();
    tokenizers.register(ANALYZER, analyzer());
    tokenizers
}

/// The analyzer of indexed text and of queries alike: words are runs of letters and digits,
/// lowercased and folded to ASCII (`Ålesund` → `alesund`, `Bærum` → `baerum`).
fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}
