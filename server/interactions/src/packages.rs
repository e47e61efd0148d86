//! Installing the loaded FHIR packages into the database, once per package
//! version, so their conformance resources are ordinary resources: readable,
//! searchable by `url`, `version` and `name`, with history.

use serde_json::Value;
use tillit_model::{Id, ResourceKey};
use tillit_store::Method;

use crate::create::write_version;
use crate::{Error, Repository};

/// Why packages could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A package could not be read again.
    #[error(transparent)]
    Package(#[from] tillit_conformance::PackageError),
    /// Writing its resources failed.
    #[error(transparent)]
    Write(#[from] Error),
}

impl From<tillit_store::Error> for InstallError {
    fn from(err: tillit_store::Error) -> InstallError {
        InstallError::Write(err.into())
    }
}

/// Installs every package not yet in the database; returns how many resources were written.
pub async fn install(repo: &Repository) -> Result<usize, InstallError> {
    let mut written = 0;
    for package in repo.registry.packages() {
        let txn = repo.store.begin().await?;
        // Replicas starting together install each package once: the second
        // waits here, then finds it installed.
        txn.lock(&format!("package {}", package.name)).await?;
        if txn
            .package_installed(&package.name, &package.version)
            .await?
        {
            txn.rollback().await?;
            continue;
        }
        let (_, resources) = tillit_conformance::Package::read(&package.source, &|_| true)?;
        for resource in resources {
            let (Some(resource_type), Some(Ok(id))) = (
                resource.get("resourceType").and_then(Value::as_str),
                resource.get("id").and_then(Value::as_str).map(Id::parse),
            ) else {
                continue;
            };
            if !repo.registry.is_resource_type(resource_type) {
                continue;
            }
            let key = ResourceKey::new(resource_type, id);
            let (version, created) = match txn.current_version(&key).await? {
                Some((current, deleted)) => (current.next(), deleted),
                None => (tillit_model::VersionId::FIRST, true),
            };
            write_version(repo, &txn, &key, resource, version, Method::Put, created).await?;
            written += 1;
        }
        txn.mark_package_installed(&package.name, &package.version)
            .await?;
        txn.commit().await?;
        tracing::info!(package = %package.name, version = %package.version, "package installed into the database");
    }
    Ok(written)
}
