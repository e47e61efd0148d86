//! The schema, as sea-orm migrations that run at start-up.
//!
//! `resource` holds one row per logical resource (its current version);
//! `resource_version` every version ever written, numbered by a global `seq`
//! that doubles as the change feed; `search_token` the index rows of current
//! versions; `package` the FHIR packages already installed into the database.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::async_trait::async_trait;
use sea_orm_migration::{DbErr, MigrationName, MigrationTrait, MigratorTrait, SchemaManager};

/// All migrations, oldest first.
pub(crate) struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateResources)]
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
