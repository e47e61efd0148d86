//! The FHIR `read` interaction: the current version of one resource.
//! <https://hl7.org/fhir/R4/http.html#read>

use tillit_model::ResourceKey;
use tillit_store::{Reader, Stored};

use crate::search::parse;
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

/// Reads `key` as [`read`] does; when nothing has that id, a conformance
/// resource whose canonical URL is this very address (`{base}/ValueSet/x`,
/// stored under another id) answers instead, with its own key. Seed 000 §5.8
/// asks that definitions resolve at their canonical URL.
pub async fn read_or_canonical(
    repo: &Repository,
    reader: Reader<'_>,
    key: &ResourceKey,
) -> Result<(ResourceKey, Stored), Error> {
    match read(repo, reader, key).await {
        Err(Error::NotFound(missing)) => match by_canonical(repo, reader, key).await? {
            Some(found) => Ok(found),
            None => Err(Error::NotFound(missing)),
        },
        other => other.map(|stored| (key.clone(), stored)),
    }
}

/// The one current resource of `key`'s type whose `url` is `key`'s address
/// under our base, if the type has canonical URLs and exactly one matches.
async fn by_canonical(
    repo: &Repository,
    reader: Reader<'_>,
    key: &ResourceKey,
) -> Result<Option<(ResourceKey, Stored)>, Error> {
    let url = format!("{}/{}/{}", repo.base_url, key.resource_type, key.id);
    let types = [key.resource_type.clone()];
    // A type without a `url` parameter has no canonical URLs: nothing to find.
    let Ok(mut search) = parse::parse(repo, &types, &[("url".to_owned(), url)], true) else {
        return Ok(None);
    };
    search.query.count = 2;
    search.query.total = false;
    let mut page = reader.search(&search.query).await?;
    Ok(match page.matches.len() {
        1 => page.matches.pop().map(|found| (found.key, found.stored)),
        _ => None,
    })
}
