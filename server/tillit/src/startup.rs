//! Start-up shared by every command: logging, the packages, the registry,
//! the validator and the database, wired into one [`Repository`].

use std::sync::Arc;
use std::time::Instant;

use tillit_conformance::{Package, PackageSource, Registry, StructureValidator};
use tillit_fhirpath::Model;
use tillit_interactions::store::{Store, StoreOptions};
use tillit_interactions::{packages, reindex, Repository};
use tillit_terminology::Terminology;
use tillit_validation::{Profiles, Validator};

use crate::config::Config;

/// The packages built into the binary, so the server works offline.
const BUILT_IN: [(&str, &[u8]); 3] = [
    // The extensions pack first: where it and R4 define the same extension,
    // the later package wins, and R4's own definition is the one R4 content follows.
    (
        "hl7.fhir.uv.extensions.r4-5.3.0-ballot-tc1.tgz",
        include_bytes!("../../../profiles/hl7.fhir.uv.extensions.r4-5.3.0-ballot-tc1.tgz"),
    ),
    (
        "hl7.fhir.r4.core-4.0.1.tgz",
        include_bytes!("../../../profiles/hl7.fhir.r4.core-4.0.1.tgz"),
    ),
    (
        "hl7.fhir.uv.ips-2.0.0.tgz",
        include_bytes!("../../../profiles/hl7.fhir.uv.ips-2.0.0.tgz"),
    ),
];

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A package could not be loaded.
    #[error(transparent)]
    Package(#[from] tillit_conformance::PackageError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] tillit_interactions::store::Error),
    /// Installing packages into the database failed.
    #[error("installing packages: {0}")]
    Install(#[from] packages::InstallError),
    /// Seeding or importing through an interaction failed.
    #[error("{0}")]
    Interaction(#[from] tillit_interactions::Error),
    /// Another start-up step failed.
    #[error("{0}")]
    Other(String),
}

/// Sets up logging: text for people, JSON lines for log pipelines.
pub fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TILLIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.json_logs {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Loads the packages, builds the registry and validator, opens the database
/// and installs packages it has not seen yet.
pub async fn repository(config: &Config) -> Result<Repository, StartupError> {
    let started = Instant::now();
    let extra = config.packages.clone();
    let (registry, validation) = tokio::task::spawn_blocking(move || load_definitions(&extra))
        .await
        .map_err(|e| StartupError::Other(format!("package loading failed: {e}")))??;
    tracing::info!(
        packages = registry.packages().len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "definitions loaded"
    );
    let store = Store::connect(&StoreOptions {
        database_url: config.database_url.clone(),
        pool_size: config.pool_size,
        read_cache_bytes: config.read_cache_mb * 1024 * 1024,
    })
    .await?;
    let repo = Repository::new(
        store,
        Arc::new(registry),
        validation,
        config.base_url.clone(),
    )
    .with_write_policy(config.write_policy.clone());
    let fresh = repo.store.count_current().await? == 0;
    let installed = packages::install(&repo).await?;
    let custom = reindex::activate_stored_parameters(&repo).await?;
    // A server that validates writes against profiles reads their definitions now.
    let policy = &config.write_policy;
    if policy.declared_profiles || !policy.required.is_empty() {
        repo.ensure_stored_definitions().await?;
    }
    if fresh {
        // Everything in a new database was indexed as it was written.
        reindex::mark_current(&repo).await?;
    } else if !reindex::is_current(&repo).await? {
        tracing::info!(
            custom_parameters = custom,
            "search parameters changed: reindexing"
        );
        let done = reindex::reindex(&repo, &|p| {
            if p.done % 10_000 == 0 || p.done == p.total {
                tracing::info!(done = p.done, total = p.total, "reindexing");
            }
        })
        .await?;
        tracing::info!(resources = done, "reindex finished");
    }
    tracing::info!(
        database = repo.store.backend_name(),
        installed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "repository ready"
    );
    Ok(repo)
}

/// Reads the packages (their StructureDefinitions, SearchParameters,
/// CompartmentDefinitions, CodeSystems and ValueSets),
/// builds the registry and the validators, and lets go of the definitions
/// (the profile repository keeps the StructureDefinitions as text).
pub fn load_definitions(
    extra: &[std::path::PathBuf],
) -> Result<(Registry, Validator), StartupError> {
    let sources = BUILT_IN
        .iter()
        .map(|(label, bytes)| PackageSource::Static(label, bytes))
        .chain(extra.iter().cloned().map(PackageSource::Path));
    let wanted = |t: &str| {
        matches!(
            t,
            "StructureDefinition" | "SearchParameter" | "CompartmentDefinition"
        )
    };
    let loaded = sources
        .map(|source| Package::read(&source, &wanted))
        .collect::<Result<Vec<_>, _>>()?;
    // The profile repository and the terminology read the packages again when
    // first used: the server starts without them.
    let sources: Vec<PackageSource> = loaded.iter().map(|(p, _)| p.source.clone()).collect();
    let profiles = Profiles::deferred(deferred_read(sources.clone(), &["StructureDefinition"]));
    let terminology = Terminology::deferred(deferred_read(
        sources,
        &["CodeSystem", "ValueSet", "ConceptMap"],
    ));
    let mut registry = Registry::new(loaded);
    let structure = StructureValidator::new(&registry);
    let model = Model::from_definitions(registry.base_definitions().map(|(_, sd)| sd));
    registry.release_definitions();
    release_freed_memory();
    let validation = Validator::new(Arc::new(structure), Arc::new(profiles), Arc::new(model))
        .with_terminology(Arc::new(terminology));
    Ok((registry, validation))
}

/// A loader that reads the resources of `types` from `sources`, for definitions
/// read on first use; a package that cannot be read again is logged.
fn deferred_read(
    sources: Vec<PackageSource>,
    types: &'static [&'static str],
) -> tillit_model::Loader {
    Box::new(move || {
        let wanted = |t: &str| types.contains(&t);
        let mut out = Vec::new();
        for source in &sources {
            match Package::read(source, &wanted) {
                Ok((_, resources)) => out.extend(resources),
                Err(error) => tracing::error!(%error, "package could not be read again"),
            }
        }
        out
    })
}

/// The FHIRPath type model of the configured packages, without a database.
pub fn fhirpath_model(config: &Config) -> Result<Arc<Model>, StartupError> {
    let (_, validation) = load_definitions(&config.packages)?;
    Ok(validation.model)
}

/// Returns the memory freed after start-up to the operating system: parsing
/// the definitions peaks at a few hundred megabytes that glibc would otherwise keep.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
