//! Resource identities: logical ids, version ids and the `Type/id` key.

use std::fmt;

/// A FHIR logical id: 1–64 characters from `[A-Za-z0-9\-\.]`.
/// <https://hl7.org/fhir/R4/datatypes.html#id>
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);

/// Why a string is not a FHIR id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a valid FHIR id (1-64 characters from A-Z, a-z, 0-9, '-' and '.')")]
pub struct InvalidId(pub String);

impl Id {
    /// Parses `raw`, refusing anything the FHIR `id` type does not allow.
    pub fn parse(raw: &str) -> Result<Id, InvalidId> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if valid {
            Ok(Id(raw.to_owned()))
        } else {
            Err(InvalidId(raw.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resource version number: `meta.versionId`, counted from 1 per resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionId(pub i64);

impl VersionId {
    /// The first version of every resource.
    pub const FIRST: VersionId = VersionId(1);

    /// The version after this one.
    pub fn next(self) -> VersionId {
        VersionId(self.0 + 1)
    }

    /// Parses a version id as written in URLs and `ETag`s (`3`, `W/"3"`, `"3"`).
    pub fn parse(raw: &str) -> Option<VersionId> {
        let trimmed = raw.trim();
        let bare = trimmed
            .strip_prefix("W/")
            .unwrap_or(trimmed)
            .trim_matches('"');
        bare.parse::<i64>().ok().filter(|n| *n > 0).map(VersionId)
    }

    /// The weak `ETag` header value for this version: `W/"3"`.
    pub fn etag(self) -> String {
        format!("W/\"{}\"", self.0)
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The identity of one resource: its type and logical id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    /// The resource type, such as `Patient`.
    pub resource_type: String,
    /// The logical id.
    pub id: Id,
}

impl ResourceKey {
    /// A key from a type name and an id.
    pub fn new(resource_type: impl Into<String>, id: Id) -> ResourceKey {
        ResourceKey {
            resource_type: resource_type.into(),
            id,
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.resource_type, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_fhir_id_rule() {
        assert!(Id::parse("abc-1.2").is_ok());
        assert!(Id::parse(&"a".repeat(64)).is_ok());
        assert!(Id::parse(&"a".repeat(65)).is_err());
        assert!(Id::parse("").is_err());
        assert!(Id::parse("a/b").is_err());
        assert!(Id::parse("a_b").is_err());
    }

    #[test]
    fn version_ids_parse_from_etags() {
        assert_eq!(VersionId::parse("W/\"3\""), Some(VersionId(3)));
        assert_eq!(VersionId::parse("\"3\""), Some(VersionId(3)));
        assert_eq!(VersionId::parse("3"), Some(VersionId(3)));
        assert_eq!(VersionId::parse("W/\"x\""), None);
        assert_eq!(VersionId(7).etag(), "W/\"7\"");
    }
}
