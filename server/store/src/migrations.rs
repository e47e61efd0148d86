//! The schema, as sea-orm migrations that run at start-up.
//!
//! `resource` holds one row per logical resource (its current version);
//! `resource_version` every version ever written, numbered by a global `seq`
//! that doubles as the change feed; the `search_*` tables the typed index rows
//! of current versions (see [`crate::index`]); `package` the FHIR packages
//! already installed into the database; `setting` small named values such as
//! the fingerprint of the search parameters the index was built with.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::async_trait::async_trait;
use sea_orm_migration::{DbErr, MigrationName, MigrationTrait, MigratorTrait, SchemaManager};

/// All migrations, oldest first.
pub(crate) struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateResources),
            Box::new(TypedIndex),
            Box::new(ByteOrderKeys),
            Box::new(PresentElements),
        ]
    }
}

struct CreateResources;

impl MigrationName for CreateResources {
    fn name(&self) -> &str {
        "m0001_create_resources"
    }
}

#[async_trait]
impl MigrationTrait for CreateResources {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let (seq, content) = if postgres {
            ("BIGSERIAL PRIMARY KEY", "JSONB")
        } else {
            ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT")
        };
        let statements = [
            format!(
                "CREATE TABLE resource_version (
                    seq {seq},
                    res_type TEXT NOT NULL,
                    res_id TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    last_updated BIGINT NOT NULL,
                    method TEXT NOT NULL,
                    content {content},
                    UNIQUE (res_type, res_id, version))"
            ),
            "CREATE INDEX resource_version_updated ON resource_version (last_updated)".into(),
            "CREATE INDEX resource_version_type_seq ON resource_version (res_type, seq)".into(),
            "CREATE TABLE resource (
                res_type TEXT NOT NULL,
                res_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                last_updated BIGINT NOT NULL,
                deleted BOOLEAN NOT NULL,
                PRIMARY KEY (res_type, res_id))"
                .into(),
            "CREATE INDEX resource_type_updated ON resource (res_type, last_updated)".into(),
            "CREATE TABLE search_token (
                res_type TEXT NOT NULL,
                res_id TEXT NOT NULL,
                param TEXT NOT NULL,
                system TEXT NOT NULL,
                value TEXT NOT NULL)"
                .into(),
            "CREATE INDEX search_token_lookup ON search_token (res_type, param, value)".into(),
            "CREATE INDEX search_token_owner ON search_token (res_type, res_id)".into(),
            "CREATE TABLE package (
                name TEXT NOT NULL,
                version TEXT NOT NULL,
                installed_at BIGINT NOT NULL,
                PRIMARY KEY (name, version))"
                .into(),
        ];
        for sql in statements {
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

/// Gives every resource an integer `rid` and replaces the single token table
/// with one table per index value type, keyed by `rid` and parameter id.
/// The index starts empty: start-up notices the changed fingerprint and reindexes.
struct TypedIndex;

impl MigrationName for TypedIndex {
    fn name(&self) -> &str {
        "m0002_typed_index"
    }
}

#[async_trait]
impl MigrationTrait for TypedIndex {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let mut statements: Vec<String> = vec!["DROP TABLE search_token".into()];
        if postgres {
            statements.extend([
                "ALTER TABLE resource ADD COLUMN rid BIGSERIAL".into(),
                "CREATE UNIQUE INDEX resource_rid ON resource (rid)".into(),
                "CREATE INDEX resource_type_rid ON resource (res_type, rid)".into(),
            ]);
        } else {
            statements.extend([
                "CREATE TABLE resource_new (
                    rid INTEGER PRIMARY KEY,
                    res_type TEXT NOT NULL,
                    res_id TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    seq BIGINT NOT NULL,
                    last_updated BIGINT NOT NULL,
                    deleted BOOLEAN NOT NULL,
                    UNIQUE (res_type, res_id))"
                    .into(),
                "INSERT INTO resource_new (res_type, res_id, version, seq, last_updated, deleted)
                 SELECT res_type, res_id, version, seq, last_updated, deleted FROM resource"
                    .into(),
                "DROP TABLE resource".into(),
                "ALTER TABLE resource_new RENAME TO resource".into(),
                "CREATE INDEX resource_type_updated ON resource (res_type, last_updated)".into(),
                // Every SQLite index ends in the rowid: this one is (res_type, rid).
                "CREATE INDEX resource_type_rid ON resource (res_type)".into(),
            ]);
        }
        let (text, real, suffix) = if postgres {
            (
                "TEXT COLLATE \"C\" NOT NULL",
                "DOUBLE PRECISION NOT NULL",
                "",
            )
        } else {
            ("TEXT NOT NULL", "REAL NOT NULL", " WITHOUT ROWID")
        };
        // (table, value columns with types, columns of the lookup index)
        let tables: [(&str, Vec<(&str, &str)>, &[&str]); 8] = [
            (
                "search_string",
                vec![("folded", text), ("exact", text)],
                &["pid", "folded"],
            ),
            (
                "search_token",
                vec![("system", text), ("code", text)],
                &["pid", "code", "system"],
            ),
            (
                "search_date",
                vec![("low", "BIGINT NOT NULL"), ("high", "BIGINT NOT NULL")],
                &["pid", "low", "high"],
            ),
            (
                "search_number",
                vec![("low", real), ("high", real)],
                &["pid", "low", "high"],
            ),
            (
                "search_quantity",
                vec![
                    ("system", text),
                    ("code", text),
                    ("low", real),
                    ("high", real),
                ],
                &["pid", "code", "low"],
            ),
            (
                "search_reference",
                vec![
                    ("target_type", text),
                    ("target_id", text),
                    ("version", text),
                ],
                &["pid", "target_id", "target_type"],
            ),
            ("search_uri", vec![("value", text)], &["pid", "value"]),
            (
                "search_composite",
                vec![
                    ("system", text),
                    ("code", text),
                    ("second_system", text),
                    ("second_code", text),
                    ("low", real),
                    ("high", real),
                ],
                &["pid", "code", "second_code"],
            ),
        ];
        for (table, columns, lookup) in tables {
            let definitions: Vec<String> = columns
                .iter()
                .map(|(name, ty)| format!("{name} {ty}"))
                .collect();
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            statements.push(format!(
                "CREATE TABLE {table} (rid BIGINT NOT NULL, pid BIGINT NOT NULL, {}, PRIMARY KEY (rid, pid, {})){suffix}",
                definitions.join(", "),
                names.join(", ")
            ));
            statements.push(format!(
                "CREATE INDEX {table}_lookup ON {table} ({}, rid)",
                lookup.join(", ")
            ));
        }
        // Date ranges are searched from both ends: `gt` on high, `lt` on low.
        statements.push("CREATE INDEX search_date_high ON search_date (pid, high, rid)".into());
        // The longest bounded date row per parameter, which bounds range scans.
        statements.push(
            "CREATE TABLE search_date_span (pid BIGINT PRIMARY KEY, span BIGINT NOT NULL)".into(),
        );
        statements.push("CREATE TABLE setting (name TEXT PRIMARY KEY, value TEXT NOT NULL)".into());
        for sql in statements {
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

/// PostgreSQL: the resource keys compare in byte order ("C"), like the index
/// tables' values they are joined with. With the database's default collation
/// on one side and "C" on the other, a join of references to their targets
/// (chains, `_has`, `_include`) could use neither side's index and read every
/// resource. SQLite compares bytes already.
struct ByteOrderKeys;

impl MigrationName for ByteOrderKeys {
    fn name(&self) -> &str {
        "m0003_byte_order_keys"
    }
}

#[async_trait]
impl MigrationTrait for ByteOrderKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for table in ["resource", "resource_version"] {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE {table} ALTER COLUMN res_type TYPE TEXT COLLATE \"C\", \
                     ALTER COLUMN res_id TYPE TEXT COLLATE \"C\""
                ))
                .await?;
        }
        Ok(())
    }
}

/// `search_present`: a row per parameter whose element is present in a
/// resource without giving a searchable value, so `:missing` answers by
/// element presence as the specification says. Such rows are rare, so the
/// table stays small.
struct PresentElements;

impl MigrationName for PresentElements {
    fn name(&self) -> &str {
        "m0004_present_elements"
    }
}

#[async_trait]
impl MigrationTrait for PresentElements {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let suffix = if manager.get_database_backend() == DbBackend::Postgres {
            ""
        } else {
            " WITHOUT ROWID"
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE TABLE search_present (rid BIGINT NOT NULL, pid BIGINT NOT NULL, \
                 PRIMARY KEY (rid, pid)){suffix}"
            ))
            .await?;
        Ok(())
    }
}
