//! The FHIR `read` interaction: the current version of one resource.
//! <https://hl7.org/fhir/R4/http.html#read>

use tillit_model::ResourceKey;
use tillit_store::{Reader, Stored};

use crate::{Error, Repository};

/// Reads the current version of `key` through `reader`: 404 if it never
/// existed, 410 if deleted.
pub async fn read(
    repo: &Repository,
    reader: Reader<'_>,
    key: &ResourceKey,
) -> Result<Stored, Error> {
    repo.check_type(&key.resource_type)?;
    match reader.read(key).await? {
        None => Err(Error::NotFound(key.to_string())),
        Some(stored) if stored.is_deleted() => Err(Error::Gone(key.to_string())),
        Some(stored) => Ok(stored),
    }
}
