//! The in-memory registry of what the loaded packages define: the concrete
//! resource types, the search parameters of each, the compartments, and which
//! top-level elements are summary or mandatory. The full definitions live in the database; base
//! StructureDefinitions are held only until the validator has been built.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::package::Package;

/// A search parameter as the server needs it at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchParam {
    /// The code used in URLs, such as `identifier`.
    pub code: String,
    /// The canonical URL.
    pub url: String,
    /// The parameter type (`token`, `date`…).
    pub kind: String,
    /// The resource types it applies to.
    pub base: Vec<String>,
    /// The FHIRPath expression that extracts its values; `None` for the
    /// special parameters that have none (`_text`, `_content`…).
    pub expression: Option<String>,
    /// The resource types a reference parameter may point at.
    pub target: Vec<String>,
    /// For composite parameters: each component's parameter URL and its
    /// expression relative to the composite's values.
    pub components: Vec<(String, String)>,
}

impl SearchParam {
    /// The parameter described by a SearchParameter resource; `None` without a code or type.
    pub fn from_resource(resource: &Value) -> Option<SearchParam> {
        let text = |key: &str| resource.get(key).and_then(Value::as_str).map(str::to_owned);
        let strings = |key: &str| -> Vec<String> {
            resource
                .get(key)
                .and_then(Value::as_array)
                .map(|b| {
                    b.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let components = resource
            .get("component")
            .and_then(Value::as_array)
            .map(|components| {
                components
                    .iter()
                    .filter_map(|c| {
                        Some((
                            c.get("definition")?.as_str()?.to_owned(),
                            c.get("expression")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(SearchParam {
            code: text("code")?,
            url: text("url").unwrap_or_default(),
            kind: text("type")?,
            base: strings("base"),
            expression: text("expression").filter(|e| !e.trim().is_empty()),
            target: strings("target"),
            components,
        })
    }
}

/// Top-level elements of a resource type with a flag that `_summary` needs.
#[derive(Clone, Debug, Default)]
struct TopElements {
    summary: HashSet<String>,
    mandatory: HashSet<String>,
}

/// Everything Tillit needs to know from the definitions at run time.
#[derive(Debug, Default)]
pub struct Registry {
    packages: Vec<Package>,
    /// Base StructureDefinitions (`derivation = specialization`) per type name,
    /// until [`Registry::release_definitions`].
    base: BTreeMap<String, Value>,
    resource_types: BTreeSet<String>,
    search_params: Vec<SearchParam>,
    elements: HashMap<String, TopElements>,
    /// The URL of every SearchParameter the packages hold, examples included.
    package_search_urls: HashSet<String>,
    /// Per compartment type (`Patient`…): each resource type's parameters that
    /// place a resource in the compartment.
    compartments: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl Registry {
    /// Indexes the resources read from `packages` (StructureDefinitions and
    /// SearchParameters suffice); a later package's base definition of the same
    /// type wins.
    pub fn new(packages: Vec<(Package, Vec<Value>)>) -> Registry {
        let mut registry = Registry::default();
        for (package, resources) in packages {
            for resource in resources {
                match resource.get("resourceType").and_then(Value::as_str) {
                    // R4 core ships example SearchParameters (`example-reference`
                    // redefines Condition's `subject`): examples define nothing.
                    Some("SearchParameter") => {
                        if let Some(url) = resource.get("url").and_then(Value::as_str) {
                            registry.package_search_urls.insert(url.to_owned());
                        }
                        if !is_example(&resource) {
                            registry
                                .search_params
                                .extend(SearchParam::from_resource(&resource));
                        }
                    }
                    Some("CompartmentDefinition") => registry.add_compartment(&resource),
                    Some("StructureDefinition") if is_base_definition(&resource) => {
                        if let Some(name) = resource.get("type").and_then(Value::as_str) {
                            registry.base.insert(name.to_owned(), resource);
                        }
                    }
                    _ => {}
                }
            }
            registry.packages.push(package);
        }
        for (name, definition) in &registry.base {
            if definition.get("kind").and_then(Value::as_str) == Some("resource")
                && definition.get("abstract").and_then(Value::as_bool) != Some(true)
            {
                registry.resource_types.insert(name.clone());
            }
            registry
                .elements
                .insert(name.clone(), top_elements(name, definition));
        }
        registry
    }

    fn add_compartment(&mut self, resource: &Value) {
        // R4's `CompartmentDefinition/example` is an example, not a definition.
        if is_example(resource) {
            return;
        }
        let Some(code) = resource.get("code").and_then(Value::as_str) else {
            return;
        };
        let members = resource
            .get("resource")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let ty = entry.get("code")?.as_str()?;
                let params: Vec<String> = entry
                    .get("param")?
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                (!params.is_empty()).then(|| (ty.to_owned(), params))
            })
            .collect();
        self.compartments.insert(code.to_owned(), members);
    }

    /// The compartment `compartment` (such as `Patient`): for each resource type
    /// in it, the parameters that link a resource to the compartment owner.
    pub fn compartment(&self, compartment: &str) -> Option<&BTreeMap<String, Vec<String>>> {
        self.compartments.get(compartment)
    }

    /// The loaded packages, in load order.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// The base StructureDefinitions, by type name, while they are held (for
    /// building the validator at start-up).
    pub fn base_definitions(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.base.iter().map(|(name, sd)| (name.as_str(), sd))
    }

    /// Drops the base StructureDefinitions once the validator has its tables:
    /// they are most of the memory the definitions take.
    pub fn release_definitions(&mut self) {
        self.base = BTreeMap::new();
    }

    /// Whether `name` is a concrete (non-abstract) resource type.
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.resource_types.contains(name)
    }

    /// Every concrete resource type, in name order.
    pub fn resource_types(&self) -> impl Iterator<Item = &str> {
        self.resource_types.iter().map(String::as_str)
    }

    /// Whether a loaded package holds a SearchParameter with this URL (an
    /// example or a definition already in [`Registry::all_search_parameters`]).
    pub fn is_package_search_parameter(&self, url: &str) -> bool {
        self.package_search_urls.contains(url)
    }

    /// Every search parameter the packages define.
    pub fn all_search_parameters(&self) -> &[SearchParam] {
        &self.search_params
    }

    /// The search parameters whose `base` includes `resource_type` (or
    /// `Resource` and `DomainResource`, which every type inherits).
    pub fn search_parameters(&self, resource_type: &str) -> Vec<&SearchParam> {
        self.search_params
            .iter()
            .filter(|sp| {
                sp.base
                    .iter()
                    .any(|b| b == resource_type || b == "Resource" || b == "DomainResource")
            })
            .collect()
    }

    /// Whether top-level element `name` of `resource_type` is marked `isSummary`.
    pub fn is_summary_element(&self, resource_type: &str, name: &str) -> bool {
        self.elements
            .get(resource_type)
            .is_some_and(|e| matches_element(&e.summary, name))
    }

    /// Whether top-level element `name` of `resource_type` has `min` above zero.
    pub fn is_mandatory_element(&self, resource_type: &str, name: &str) -> bool {
        self.elements
            .get(resource_type)
            .is_some_and(|e| matches_element(&e.mandatory, name))
    }
}

/// `name` is in `set` directly or as the choice `stem[x]` (`valueQuantity` → `value[x]`).
fn matches_element(set: &HashSet<String>, name: &str) -> bool {
    set.contains(name)
        || set.iter().any(|e| {
            e.strip_suffix("[x]")
                .is_some_and(|stem| name.starts_with(stem) && name.len() > stem.len())
        })
}

fn top_elements(name: &str, definition: &Value) -> TopElements {
    let mut out = TopElements::default();
    let elements = definition
        .pointer("/snapshot/element")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for element in elements {
        let path = element
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(child) = path.strip_prefix(name).and_then(|p| p.strip_prefix('.')) else {
            continue;
        };
        if child.contains('.') {
            continue;
        }
        if element.get("isSummary").and_then(Value::as_bool) == Some(true) {
            out.summary.insert(child.to_owned());
        }
        if element.get("min").and_then(Value::as_u64).unwrap_or(0) > 0 {
            out.mandatory.insert(child.to_owned());
        }
    }
    out
}

fn is_base_definition(resource: &Value) -> bool {
    resource
        .get("url")
        .and_then(Value::as_str)
        .is_some_and(|u| u.starts_with("http://hl7.org/fhir/StructureDefinition/"))
        && matches!(
            resource.get("derivation").and_then(Value::as_str),
            Some("specialization") | None
        )
        && resource.get("kind").and_then(Value::as_str) != Some("logical")
}

/// Whether a package resource is an example (`example`, `example-reference`…)
/// rather than a definition to use.
fn is_example(resource: &Value) -> bool {
    resource
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| id == "example" || id.starts_with("example-"))
}
