//! One Bundle entry's request, parsed into the interaction it asks for.

use base64::Engine;
use serde_json::Value;
use tillit_model::{Id, Issue, IssueType, ResourceKey, VersionId};

use crate::Error;

/// What a Bundle entry asks the server to do.
#[derive(Clone, Debug)]
pub enum Action {
    /// `GET Type/id`.
    Read(ResourceKey),
    /// `GET Type/id/_history/vid`.
    Vread(ResourceKey, VersionId),
    /// `GET Type?query`.
    Search(String, String),
    /// `POST Type`, maybe with `If-None-Exist`.
    Create {
        /// The type created.
        resource_type: String,
        /// `ifNoneExist`.
        if_none_exist: Option<String>,
    },
    /// `PUT Type/id`.
    Update(ResourceKey),
    /// `PUT Type?query`.
    ConditionalUpdate(String, String),
    /// `PATCH Type/id` with a JSON Patch in a Binary.
    Patch(ResourceKey),
    /// `DELETE Type/id`.
    Delete(ResourceKey),
    /// `DELETE Type?query`.
    ConditionalDelete(String, String),
}

/// A parsed entry: its action, resource, `fullUrl` and `ifMatch`.
#[derive(Clone, Debug)]
pub struct EntryRequest {
    /// The entry's index in the Bundle.
    pub index: usize,
    /// What to do.
    pub action: Action,
    /// `entry.resource`, if any.
    pub resource: Option<Value>,
    /// `entry.fullUrl`, if any.
    pub full_url: Option<String>,
    /// `request.ifMatch`.
    pub if_match: Option<VersionId>,
    /// `METHOD url`, for messages.
    pub label: String,
}

impl EntryRequest {
    /// Parses entry `index` of a batch or transaction; `base_url` is stripped
    /// from absolute request URLs.
    pub fn parse(index: usize, mut entry: Value, base_url: &str) -> Result<EntryRequest, Error> {
        let resource = entry.get_mut("resource").map(Value::take);
        // The caller wraps errors with the entry's index and location.
        let bad = |text: String| Error::invalid(Issue::error(IssueType::Invalid, text));
        let request = entry
            .get("request")
            .ok_or_else(|| bad("The entry has no request".into()))?;
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let url = request
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("The entry's request has no url".into()))?;
        let relative = url
            .strip_prefix(base_url)
            .map(|u| u.trim_start_matches('/'))
            .unwrap_or(url);
        let (path, query) = match relative.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (relative, None),
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let key = |t: &str, id: &str| -> Result<ResourceKey, Error> {
            Id::parse(id)
                .map(|id| ResourceKey::new(t, id))
                .map_err(|e| bad(e.to_string()))
        };
        let action = match (method, segments.as_slice(), query) {
            ("GET" | "HEAD", [t], q) => Action::Search(t.to_string(), q.unwrap_or_default()),
            ("GET" | "HEAD", [t, id], None) => Action::Read(key(t, id)?),
            ("GET" | "HEAD", [t, id, "_history", v], None) => Action::Vread(
                key(t, id)?,
                VersionId::parse(v).ok_or_else(|| bad(format!("'{v}' is not a version id")))?,
            ),
            ("POST", [t], None) => Action::Create {
                resource_type: t.to_string(),
                if_none_exist: request
                    .get("ifNoneExist")
                    .and_then(Value::as_str)
                    .map(|q| q.trim_start_matches(&format!("{t}?")).to_owned()),
            },
            ("PUT", [t, id], None) => Action::Update(key(t, id)?),
            ("PUT", [t], Some(q)) => Action::ConditionalUpdate(t.to_string(), q),
            ("PATCH", [t, id], None) => Action::Patch(key(t, id)?),
            ("DELETE", [t, id], None) => Action::Delete(key(t, id)?),
            ("DELETE", [t], Some(q)) => Action::ConditionalDelete(t.to_string(), q),
            _ => {
                return Err(bad(format!(
                    "'{method} {url}' is not a request this server can process in a Bundle"
                )))
            }
        };
        let if_match = match request.get("ifMatch").and_then(Value::as_str) {
            Some(raw) => Some(
                VersionId::parse(raw)
                    .ok_or_else(|| bad(format!("ifMatch '{raw}' is not an ETag")))?,
            ),
            None => None,
        };
        let needs_resource = matches!(
            action,
            Action::Create { .. }
                | Action::Update(_)
                | Action::ConditionalUpdate(..)
                | Action::Patch(_)
        );
        if needs_resource && resource.is_none() {
            return Err(bad(format!("'{method} {url}' needs a resource")));
        }
        Ok(EntryRequest {
            index,
            action,
            resource,
            full_url: entry
                .get("fullUrl")
                .and_then(Value::as_str)
                .map(str::to_owned),
            if_match,
            label: format!("{method} {url}"),
        })
    }

    /// Processing order within a transaction: deletes, creates, updates and
    /// patches, then reads. <https://hl7.org/fhir/R4/http.html#trules>
    pub fn order(&self) -> u8 {
        match self.action {
            Action::Delete(_) | Action::ConditionalDelete(..) => 0,
            Action::Create { .. } => 1,
            Action::Update(_) | Action::ConditionalUpdate(..) | Action::Patch(_) => 2,
            Action::Read(_) | Action::Vread(..) | Action::Search(..) => 3,
        }
    }
}

/// The JSON Patch in a PATCH entry: a Binary with base64 `data`, or the
/// operations array itself.
pub fn patch_operations(resource: &Value) -> Result<Value, Error> {
    if resource.is_array() {
        return Ok(resource.clone());
    }
    let data = resource
        .get("data")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| {
            Error::invalid(Issue::error(
                IssueType::Invalid,
                format!("The patch Binary's data is not base64: {e}"),
            ))
        })?;
    crate::parse_json(&bytes)
}
