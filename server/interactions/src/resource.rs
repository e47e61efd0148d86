//! What every write does to a resource body: parse it, check it, stamp its
//! `id` and `meta`, and serialise it for the store.

use serde_json::{Map, Value};
use tillit_model::{Id, Instant, Issue, IssueType, ResourceKey, VersionId};
use tillit_store::Stored;

use crate::{Error, Repository};

/// The result of a write: which resource, the version now stored, and whether
/// the write created it.
#[derive(Clone, Debug)]
pub struct Written {
    /// The resource written.
    pub key: ResourceKey,
    /// The version stored (for a conditional create that matched: the existing one).
    pub stored: Stored,
    /// Whether a new resource was created (201) rather than updated or matched (200).
    pub created: bool,
}

/// Parses a request body as JSON, reporting syntax errors with line and column.
pub fn parse_json(body: &[u8]) -> Result<Value, Error> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    serde_json::from_slice(body).map_err(|err| {
        Error::invalid(
            Issue::error(
                IssueType::Structure,
                format!("The body is not valid JSON: {err}"),
            )
            .at_position(err.line(), err.column()),
        )
    })
}

/// Checks that `resource` is a JSON object of type `expected_type`, then runs the
/// structural validator; returns the resource type.
pub(crate) fn check(
    repo: &Repository,
    resource: &Value,
    expected_type: Option<&str>,
) -> Result<String, Error> {
    let Some(object) = resource.as_object() else {
        return Err(Error::invalid(Issue::error(
            IssueType::Structure,
            "The body must be a JSON object holding a FHIR resource",
        )));
    };
    let resource_type = match object.get("resourceType").and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        None => {
            return Err(Error::invalid(Issue::error(
                IssueType::Required,
                "The resource has no resourceType",
            )))
        }
    };
    if let Some(expected) = expected_type {
        if expected != resource_type {
            return Err(Error::invalid(Issue::error(
                IssueType::Invalid,
                format!("The resource is a {resource_type}, but the URL names {expected}"),
            )));
        }
    }
    repo.check_type(&resource_type)?;
    let issues = repo.validator.validate(resource);
    if issues.iter().any(Issue::is_error) {
        return Err(Error::Unprocessable(issues));
    }
    crate::validate::check_write(repo, &resource_type, resource)?;
    Ok(resource_type)
}

/// The resource's own `id`, checked.
pub(crate) fn body_id(resource: &Value) -> Result<Option<Id>, Error> {
    match resource.get("id") {
        None => Ok(None),
        Some(Value::String(raw)) => Id::parse(raw)
            .map(Some)
            .map_err(|e| Error::invalid(Issue::error(IssueType::Value, e.to_string()).at("id"))),
        Some(_) => Err(Error::invalid(Issue::error(
            IssueType::Structure,
            "The resource id must be a string",
        ))),
    }
}

/// The resource as stored: `resourceType`, `id` and `meta` first, with
/// `meta.versionId` and `meta.lastUpdated` set by the server.
pub(crate) fn stamp(resource: Value, id: &Id, version: VersionId, at: Instant) -> String {
    let mut object = match resource {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    let mut meta = match object.remove("meta") {
        Some(Value::Object(meta)) => meta,
        _ => Map::new(),
    };
    meta.remove("versionId");
    meta.remove("lastUpdated");
    let mut stamped_meta = Map::with_capacity(meta.len() + 2);
    stamped_meta.insert("versionId".into(), Value::String(version.to_string()));
    stamped_meta.insert("lastUpdated".into(), Value::String(at.to_string()));
    stamped_meta.extend(meta);
    let mut out = Map::with_capacity(object.len() + 2);
    if let Some(t) = object.remove("resourceType") {
        out.insert("resourceType".into(), t);
    }
    object.remove("id");
    out.insert("id".into(), Value::String(id.to_string()));
    out.insert("meta".into(), Value::Object(stamped_meta));
    out.extend(object);
    Value::Object(out).to_string()
}

/// A fresh server-assigned logical id.
pub(crate) fn new_id() -> Id {
    Id::parse(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid FHIR id")
}
