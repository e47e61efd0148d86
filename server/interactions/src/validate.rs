//! `$validate`: checks a resource against its base definition, the profiles it
//! declares and a profile asked for, answering with an OperationOutcome whether
//! or not it is valid; and the policy that decides what writes are checked against.
//! <https://hl7.org/fhir/R4/resource-operation-validate.html>

use std::collections::BTreeMap;

use serde_json::Value;
use tillit_model::{operation_outcome, Id, Issue, IssueType, ResourceKey};

use crate::resource::parse_json;
use crate::{Error, Repository};

/// What writes are validated against beyond the base structure, which every
/// write is checked against.
#[derive(Clone, Debug, Default)]
pub struct WritePolicy {
    /// Check every written resource against the profiles in its `meta.profile`.
    pub declared_profiles: bool,
    /// Profiles every resource of a type must conform to (`Patient` → the IPS Patient).
    pub required: BTreeMap<String, Vec<String>>,
}

impl WritePolicy {
    /// Whether a write of `resource_type` needs the profile validator.
    pub fn applies_to(&self, resource_type: &str) -> bool {
        self.declared_profiles || self.required.contains_key(resource_type)
    }
}

/// What `$validate` is asked to do (`mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Any resource (no `mode`).
    General,
    /// Could this resource be created?
    Create,
    /// Could the resource with this id be replaced by this one?
    Update,
    /// Could the resource with this id be deleted?
    Delete,
}

/// A `$validate` request.
#[derive(Debug)]
pub struct Request<'a> {
    /// The resource type in the URL.
    pub resource_type: &'a str,
    /// The id in the URL, for `[type]/[id]/$validate`.
    pub id: Option<&'a str>,
    /// The request body, if any: a resource or a Parameters resource.
    pub body: Option<&'a [u8]>,
    /// The query parameters (`mode`, `profile`).
    pub params: &'a [(String, String)],
}

/// Runs `$validate`; the OperationOutcome it answers with (200 whether or not
/// the resource is valid). Fails only when nothing can be validated: a body that
/// is not JSON, no resource, an unknown `mode`, a resource of another type.
pub async fn validate(repo: &Repository, request: &Request<'_>) -> Result<Value, Error> {
    repo.check_type(request.resource_type)?;
    repo.ensure_stored_definitions().await?;
    let body = request
        .body
        .filter(|b| !b.iter().all(u8::is_ascii_whitespace));
    let parsed = body.map(parse_json).transpose()?;
    let mut mode = None;
    let mut profiles: Vec<String> = Vec::new();
    for (name, value) in request.params {
        match name.as_str() {
            "mode" => mode = Some(value.clone()),
            "profile" => profiles.push(value.clone()),
            _ => {}
        }
    }
    let (resource, from_parameters) = match parsed {
        Some(p) if p.get("resourceType").and_then(Value::as_str) == Some("Parameters") => {
            let mut resource = None;
            for parameter in p
                .get("parameter")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match parameter.get("name").and_then(Value::as_str) {
                    Some("resource") => resource = parameter.get("resource").cloned(),
                    Some("mode") => mode = text_value(parameter).map(str::to_owned),
                    Some("profile") => profiles.extend(text_value(parameter).map(str::to_owned)),
                    _ => {}
                }
            }
            (resource, true)
        }
        other => (other, false),
    };
    let mode = match mode.as_deref() {
        None => Mode::General,
        Some("create") => Mode::Create,
        Some("update") => Mode::Update,
        Some("delete") => Mode::Delete,
        Some(other) => {
            return Err(Error::invalid(Issue::error(
                IssueType::Value,
                format!("mode '{other}' is not one of create, update, delete"),
            )))
        }
    };
    let id = request.id.map(parse_id).transpose()?;
    let stored =
        match (&resource, &id) {
            (None, Some(id)) => {
                let key = ResourceKey::new(request.resource_type.to_owned(), id.clone());
                let stored = repo.store.read(&key).await?;
                let content = stored
                    .and_then(|s| s.content)
                    .ok_or_else(|| Error::NotFound(key.to_string()))?;
                Some(serde_json::from_str::<Value>(&content).map_err(|e| {
                    Error::invalid(Issue::error(IssueType::Exception, e.to_string()))
                })?)
            }
            _ => None,
        };
    if mode == Mode::Delete {
        if stored.is_none() && id.is_none() {
            return Err(Error::invalid(Issue::error(
                IssueType::Required,
                "mode=delete validates [type]/[id]/$validate: which resource would be deleted",
            )));
        }
        return Ok(operation_outcome(&[Issue::information(
            IssueType::Informational,
            "No rule on this server prevents deleting this resource",
        )]));
    }
    let Some(resource) = resource.or(stored) else {
        return Err(Error::invalid(Issue::error(
            IssueType::Required,
            "$validate needs a resource: the body, or a Parameters resource with a 'resource' parameter",
        )));
    };
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if resource_type != request.resource_type {
        return Err(Error::invalid(Issue::error(
            IssueType::Invalid,
            format!(
                "The resource is a {resource_type}, but the URL names {}",
                request.resource_type
            ),
        )));
    }
    let profile_refs: Vec<&str> = profiles.iter().map(String::as_str).collect();
    let mut issues = repo.validation.validate(&resource, &profile_refs);
    if mode == Mode::Update {
        let body_id = resource.get("id").and_then(Value::as_str);
        match (body_id, &id) {
            (None, _) => issues.push(
                Issue::error(IssueType::Required, "An update needs the resource's id")
                    .at(format!("{resource_type}.id")),
            ),
            (Some(b), Some(u)) if b != u.as_str() => issues.push(
                Issue::error(
                    IssueType::Invalid,
                    format!("The resource's id '{b}' is not the id in the URL '{u}'"),
                )
                .at(format!("{resource_type}.id")),
            ),
            _ => {}
        }
    }
    if !from_parameters {
        if let Some(text) = body.and_then(|b| std::str::from_utf8(b).ok()) {
            for issue in &mut issues {
                if let Some(expression) = &issue.expression {
                    issue.position = tillit_validation::locate(text, expression);
                }
            }
        }
    }
    if issues.is_empty() {
        issues.push(Issue::information(
            IssueType::Informational,
            "No issues detected",
        ));
    }
    Ok(operation_outcome(&issues))
}

/// Checks `resource` against the write policy: its declared profiles and the
/// profiles its type requires. Called after the structural check.
pub(crate) fn check_write(
    repo: &Repository,
    resource_type: &str,
    resource: &Value,
) -> Result<(), Error> {
    let policy = &repo.write_policy;
    if !policy.applies_to(resource_type) {
        return Ok(());
    }
    let required: Vec<&str> = policy
        .required
        .get(resource_type)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let issues = if policy.declared_profiles {
        repo.validation.profile_issues(resource, &required)
    } else {
        let mut without_declared = resource.clone();
        if let Some(meta) = without_declared
            .get_mut("meta")
            .and_then(Value::as_object_mut)
        {
            meta.remove("profile");
        }
        repo.validation.profile_issues(&without_declared, &required)
    };
    if issues.iter().any(Issue::is_error) {
        return Err(Error::Unprocessable(issues));
    }
    Ok(())
}

fn text_value(parameter: &Value) -> Option<&str> {
    [
        "valueCode",
        "valueUri",
        "valueCanonical",
        "valueString",
        "valueUrl",
    ]
    .iter()
    .find_map(|k| parameter.get(*k).and_then(Value::as_str))
}

fn parse_id(raw: &str) -> Result<Id, Error> {
    Id::parse(raw).map_err(|e| Error::invalid(Issue::error(IssueType::Value, e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::WritePolicy;

    #[test]
    fn the_default_policy_checks_structure_only() {
        let policy = WritePolicy::default();
        assert!(!policy.applies_to("Patient"));
        let required = WritePolicy {
            required: [("Patient".to_owned(), vec!["x".to_owned()])].into(),
            ..WritePolicy::default()
        };
        assert!(required.applies_to("Patient") && !required.applies_to("Observation"));
    }
}
