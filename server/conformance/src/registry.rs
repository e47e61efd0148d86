//! The in-memory registry of every conformance resource from the loaded packages:
//! base definitions by type name, any definition by canonical URL, and the
//! search parameters of each resource type.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::package::Package;

/// Every definition Tillit knows, loaded once at start-up and shared read-only.
#[derive(Debug, Default)]
pub struct Registry {
    packages: Vec<Package>,
    /// `(package index, resource index)` per canonical URL, every version.
    by_url: HashMap<String, Vec<(usize, usize)>>,
    /// Base StructureDefinitions (`derivation = specialization`) per type name.
    base: BTreeMap<String, (usize, usize)>,
}

impl Registry {
    /// Indexes the resources of `packages`; a later package's definition of the
    /// same base type wins.
    pub fn new(packages: Vec<Package>) -> Registry {
        let mut registry = Registry {
            packages,
            ..Registry::default()
        };
        for (p, package) in registry.packages.iter().enumerate() {
            for (r, resource) in package.resources.iter().enumerate() {
                if let Some(url) = resource.get("url").and_then(Value::as_str) {
                    registry
                        .by_url
                        .entry(url.to_owned())
                        .or_default()
                        .push((p, r));
                }
                if is_base_definition(resource) {
                    if let Some(name) = resource.get("type").and_then(Value::as_str) {
                        registry.base.insert(name.to_owned(), (p, r));
                    }
                }
            }
        }
        registry
    }

    /// The loaded packages, in load order.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// The base StructureDefinition of a resource or data type, such as `Patient` or `HumanName`.
    pub fn base_definition(&self, type_name: &str) -> Option<&Value> {
        self.base.get(type_name).map(|&loc| self.at(loc))
    }

    /// Every base StructureDefinition with its type name, in name order.
    pub fn base_definitions(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.base
            .iter()
            .map(|(name, &loc)| (name.as_str(), self.at(loc)))
    }

    /// Whether `name` is a concrete (non-abstract) resource type.
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.base_definition(name).is_some_and(|sd| {
            sd.get("kind").and_then(Value::as_str) == Some("resource")
                && sd.get("abstract").and_then(Value::as_bool) != Some(true)
        })
    }

    /// Every concrete resource type, in name order.
    pub fn resource_types(&self) -> impl Iterator<Item = &str> {
        self.base
            .keys()
            .map(String::as_str)
            .filter(|name| self.is_resource_type(name))
    }

    /// The resource at canonical `url`, of `version` when given, else the last loaded.
    pub fn by_url(&self, url: &str, version: Option<&str>) -> Option<&Value> {
        let (url, pinned) = match url.split_once('|') {
            Some((url, v)) => (url, Some(v)),
            None => (url, version),
        };
        let candidates = self.by_url.get(url)?;
        let found = match pinned {
            Some(v) => candidates
                .iter()
                .find(|&&loc| self.at(loc).get("version").and_then(Value::as_str) == Some(v)),
            None => candidates.last(),
        };
        found.map(|&loc| self.at(loc))
    }

    /// The SearchParameters whose `base` includes `resource_type` (or `Resource`
    /// and `DomainResource`, which every type inherits).
    pub fn search_parameters(&self, resource_type: &str) -> Vec<&Value> {
        self.of_type("SearchParameter")
            .filter(|sp| {
                sp.get("base")
                    .and_then(Value::as_array)
                    .is_some_and(|bases| {
                        bases
                            .iter()
                            .filter_map(Value::as_str)
                            .any(|b| b == resource_type || b == "Resource" || b == "DomainResource")
                    })
            })
            .collect()
    }

    /// Every loaded resource of `resource_type`, such as `OperationDefinition`.
    pub fn of_type<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.packages.iter().flat_map(move |p| {
            p.resources.iter().filter(move |r| {
                r.get("resourceType").and_then(Value::as_str) == Some(resource_type)
            })
        })
    }

    fn at(&self, (p, r): (usize, usize)) -> &Value {
        &self.packages[p].resources[r]
    }
}

fn is_base_definition(resource: &Value) -> bool {
    resource.get("resourceType").and_then(Value::as_str) == Some("StructureDefinition")
        && resource
            .get("url")
            .and_then(Value::as_str)
            .is_some_and(|u| u.starts_with("http://hl7.org/fhir/StructureDefinition/"))
        && matches!(
            resource.get("derivation").and_then(Value::as_str),
            Some("specialization") | None
        )
        && resource.get("kind").and_then(Value::as_str) != Some("logical")
}
