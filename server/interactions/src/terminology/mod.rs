//! The terminology operations over HTTP: `ValueSet/$expand`,
//! `ValueSet/$validate-code`, `CodeSystem/$validate-code`,
//! `CodeSystem/$lookup`, `CodeSystem/$subsumes` and `ConceptMap/$translate`,
//! at type and instance level, by GET (query
//! parameters) or POST (a Parameters body). Request-scoped CodeSystems and
//! ValueSets arrive as `tx-resource` parameters, as the terminology ecosystem
//! expects. The work itself is the terminology crate's; this layer reads the
//! parameters, finds the value set and turns refusals into OperationOutcomes.

mod expand;
mod lookup;
mod subsumes;
mod translate;
mod validate_code;

use std::sync::Arc;

use serde_json::{json, Value};
use tillit_model::{Id, ResourceKey};
use tillit_store::Reader;
use tillit_terminology::{split_version, Scope, Terminology, TxError};

use crate::resource::parse_json;
use crate::{Error, Repository};

/// A terminology operation request.
#[derive(Debug)]
pub struct Request<'a> {
    /// `ValueSet` or `CodeSystem`.
    pub resource_type: &'a str,
    /// The instance, for `ValueSet/[id]/$expand`.
    pub id: Option<&'a str>,
    /// `$expand`, `$validate-code` or `$lookup`.
    pub operation: &'a str,
    /// The POST body (a Parameters resource), if any.
    pub body: Option<&'a [u8]>,
    /// The query parameters.
    pub params: &'a [(String, String)],
    /// The `Accept-Language` header: displays in that language unless
    /// `displayLanguage` says otherwise.
    pub accept_language: Option<&'a str>,
}

/// Whether `operation` on `resource_type` is one of the terminology operations.
pub fn is_terminology_operation(resource_type: &str, operation: &str) -> bool {
    matches!(
        (resource_type, operation),
        ("ValueSet", "$expand" | "$validate-code")
            | ("CodeSystem", "$validate-code" | "$lookup" | "$subsumes")
            | ("ConceptMap", "$translate")
    )
}

/// The first `count` codes of `value_set`'s expansion (a ValueSet with its
/// `expansion`), for its page; why not when it cannot be expanded.
pub async fn expansion_preview(
    repo: &Repository,
    value_set: &Value,
    count: usize,
) -> Result<Value, String> {
    let Some(terminology) = repo.validation.terminology.clone() else {
        return Err("this server runs without a terminology service".into());
    };
    repo.ensure_stored_definitions()
        .await
        .map_err(|e| e.to_string())?;
    let scope = terminology.scope(std::slice::from_ref(value_set));
    let options = tillit_terminology::expand::Options {
        count: Some(count),
        ..Default::default()
    };
    let expansion = tillit_terminology::expand::expand(&scope, value_set, &options)
        .map_err(|e| e.to_string())?;
    expansion.listable().map_err(|e| e.to_string())?;
    Ok(tillit_terminology::expand::to_value_set(
        value_set, &expansion, &options, false,
    ))
}

/// Runs a terminology operation; the resource it answers with.
pub async fn run(repo: &Repository, request: &Request<'_>) -> Result<Value, Error> {
    let Some(terminology) = repo.validation.terminology.clone() else {
        return Err(Error::NotSupported(
            "This server runs without a terminology service".into(),
        ));
    };
    repo.ensure_stored_definitions().await?;
    let inputs = Inputs::read(request)?;
    let instance = match request.id {
        Some(id) => Some(read_instance(repo, request.resource_type, id).await?),
        None => None,
    };
    let context = Context {
        terminology,
        inputs,
        instance,
    };
    let answer = match (request.resource_type, request.operation) {
        ("ValueSet", "$expand") => expand::expand(&context),
        ("ValueSet", "$validate-code") => validate_code::value_set(&context),
        ("CodeSystem", "$validate-code") => validate_code::code_system(&context),
        ("CodeSystem", "$lookup") => lookup::lookup(&context),
        ("CodeSystem", "$subsumes") => subsumes::subsumes(&context),
        ("ConceptMap", "$translate") => translate::translate(&context),
        _ => {
            return Err(Error::NotSupported(format!(
                "{} is not an operation on {}",
                request.operation, request.resource_type
            )))
        }
    };
    answer.map_err(Error::Terminology)
}

/// What an operation works with.
struct Context {
    terminology: Arc<Terminology>,
    inputs: Inputs,
    /// The resource of an instance-level call.
    instance: Option<Value>,
}

impl Context {
    /// The terminology with the request's `tx-resource`s (and an inline
    /// `valueSet` or `codeSystem`) in front, applying the supplements asked
    /// for (`useSupplement`, and the value set's supplement extension).
    fn scope(&self) -> Result<Scope<'_>, TxError> {
        let mut extra: Vec<Value> = self.inputs.resources("tx-resource").cloned().collect();
        extra.extend(self.inputs.resources("valueSet").cloned());
        extra.extend(self.inputs.resources("codeSystem").cloned());
        extra.extend(self.instance.clone());
        let scope = self.terminology.scope(&extra);
        let mut supplements: Vec<String> = self
            .inputs
            .texts("useSupplement")
            .map(str::to_owned)
            .collect();
        if let Ok(value_set) = self.value_set(&scope) {
            supplements.extend(
                value_set
                    .get("extension")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|e| {
                        e.get("url").and_then(Value::as_str)
                            == Some("http://hl7.org/fhir/StructureDefinition/valueset-supplement")
                    })
                    .filter_map(|e| e.get("valueCanonical").and_then(Value::as_str))
                    .map(str::to_owned),
            );
        }
        scope.with_supplements(&supplements)
    }

    /// The canonical URL of the instance an instance-level call is on.
    fn instance_url(&self) -> Option<&str> {
        self.instance.as_ref()?.get("url")?.as_str()
    }

    /// The value set the request is about: the instance, a `valueSet`
    /// resource, or the one `url` (and `valueSetVersion`) names.
    fn value_set(&self, scope: &Scope) -> Result<Arc<Value>, TxError> {
        if let Some(instance) = &self.instance {
            return Ok(Arc::new(instance.clone()));
        }
        if let Some(inline) = self.inputs.resources("valueSet").next() {
            return Ok(Arc::new(inline.clone()));
        }
        let Some(url) = self
            .inputs
            .text("url")
            .or_else(|| self.inputs.text("context"))
        else {
            return Err(TxError::invalid(
                "No value set was given: use url, valueSet, or an instance",
            ));
        };
        let (url, pinned) = split_version(url);
        let version = pinned.or(self.inputs.text("valueSetVersion"));
        scope.value_set(url, version).ok_or_else(|| {
            let what = match version {
                Some(version) => format!("{url}|{version}"),
                None => url.to_owned(),
            };
            TxError::not_found(format!(
                "A definition for the value Set '{what}' could not be found"
            ))
            .id("Unable_to_resolve_value_Set_")
        })
    }
}

/// The parameters of a request: a Parameters body's, then the query's.
#[derive(Debug, Default, Clone)]
struct Inputs {
    /// Name and the parameter object (`{"name", "valueX"}` or `{"name", "resource"}`).
    params: Vec<(String, Value)>,
}

impl Inputs {
    fn read(request: &Request) -> Result<Inputs, Error> {
        let mut params = Vec::new();
        if let Some(body) = request
            .body
            .filter(|b| !b.iter().all(u8::is_ascii_whitespace))
        {
            let body = parse_json(body)?;
            if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
                return Err(Error::Terminology(TxError::invalid(
                    "The body of a terminology operation must be a Parameters resource",
                )));
            }
            for parameter in body
                .get("parameter")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = parameter.get("name").and_then(Value::as_str) {
                    params.push((name.to_owned(), parameter.clone()));
                }
            }
        }
        for (name, value) in request.params {
            if name.starts_with('_') {
                continue;
            }
            params.push((name.clone(), json!({"name": name, "valueString": value})));
        }
        let has_language = params.iter().any(|(n, _)| n == "displayLanguage");
        if let Some(language) = request.accept_language.filter(|_| !has_language) {
            params.push((
                "displayLanguage".to_owned(),
                json!({"name": "displayLanguage", "valueCode": language}),
            ));
        }
        Ok(Inputs { params })
    }

    /// The value (`value[x]`) of every parameter `name`.
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Value> + 'a {
        let name = name.to_owned();
        self.params
            .iter()
            .filter(move |(n, _)| *n == name)
            .filter_map(|(_, p)| {
                p.as_object()?
                    .iter()
                    .find(|(k, _)| k.starts_with("value"))
                    .map(|(_, v)| v)
            })
    }

    /// The first value of `name` as text (any primitive type).
    fn text(&self, name: &str) -> Option<&str> {
        self.values(name).find_map(Value::as_str)
    }

    /// Every value of `name` as text.
    fn texts<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.values(name).filter_map(Value::as_str)
    }

    /// The first value of `name` as a boolean (`true`/`false` text too).
    fn flag(&self, name: &str) -> Option<bool> {
        self.values(name).find_map(|v| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    /// The first value of `name` as a number (integer text too).
    fn number(&self, name: &str) -> Option<i64> {
        self.values(name).find_map(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    /// The first complex value (`valueCoding`, `valueCodeableConcept`) of `name`.
    fn object(&self, name: &str) -> Option<&Value> {
        self.values(name).find(|v| v.is_object())
    }

    /// The resources of parameters named `name`.
    fn resources<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.params
            .iter()
            .filter(move |(n, _)| n == name)
            .filter_map(|(_, p)| p.get("resource"))
    }

    /// The parameter objects named `name`, as sent.
    fn raw<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.params
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, p)| p)
    }

    /// The code system versions pinned by `system-version`,
    /// `check-system-version` and `force-system-version`.
    fn system_versions(&self) -> tillit_terminology::expand::SystemVersions {
        use tillit_terminology::expand::SystemVersions;
        let mut versions = SystemVersions::default();
        for value in self.texts("system-version") {
            SystemVersions::add(&mut versions.default, value);
        }
        for value in self.texts("check-system-version") {
            SystemVersions::add(&mut versions.check, value);
        }
        for value in self.texts("force-system-version") {
            SystemVersions::add(&mut versions.force, value);
        }
        versions
    }
}

/// The stored resource `resource_type/id`.
async fn read_instance(repo: &Repository, resource_type: &str, id: &str) -> Result<Value, Error> {
    let id = Id::parse(id).map_err(|_| Error::NotFound(format!("{resource_type}/{id}")))?;
    let key = ResourceKey::new(resource_type, id);
    let stored = crate::read::read(repo, Reader::Committed(&repo.store), &key).await?;
    let content = stored.content.unwrap_or_default();
    parse_json(content.as_bytes())
}

/// The request's parameters with the defaults the value set gives its own
/// expansions (`compose` extensions `valueset-expansion-parameter`) where
/// the request names none.
fn with_value_set_parameters(inputs: &Inputs, value_set: &Value) -> Inputs {
    let mut inputs = inputs.clone();
    let defaults = value_set
        .pointer("/compose/extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.get("url").and_then(Value::as_str)
                == Some("http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter")
        });
    for default in defaults {
        let parts: Vec<&Value> = default
            .get("extension")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let part = |name: &str| {
            parts
                .iter()
                .find(|p| p.get("url").and_then(Value::as_str) == Some(name))
        };
        let Some(name) = part("name")
            .and_then(|p| p.get("valueCode"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let Some((key, value)) = part("value")
            .and_then(|p| p.as_object())
            .and_then(|p| p.iter().find(|(k, _)| k.starts_with("value")))
        else {
            continue;
        };
        if inputs.raw(name).next().is_none() {
            inputs
                .params
                .push((name.to_owned(), json!({"name": name, key: value})));
        }
    }
    inputs
}
