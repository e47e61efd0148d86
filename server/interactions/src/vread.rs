//! The FHIR `vread` interaction: one version of one resource.
//! <https://hl7.org/fhir/R4/http.html#vread>

use tillit_model::{ResourceKey, VersionId};
use tillit_store::{Reader, Stored};

use crate::{Error, Repository};

/// Reads version `version` of `key`; a version that records a deletion is 410.
pub async fn vread(
    repo: &Repository,
    reader: Reader<'_>,
    key: &ResourceKey,
    version: VersionId,
) -> Result<Stored, Error> {
    repo.check_type(&key.resource_type)?;
    match reader.vread(key, version).await? {
        None => Err(Error::NotFound(format!("{key}/_history/{version}"))),
        Some(stored) if stored.is_deleted() => {
            Err(Error::Gone(format!("{key}/_history/{version}")))
        }
        Some(stored) => Ok(stored),
    }
}
