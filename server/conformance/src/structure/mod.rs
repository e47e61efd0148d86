//! Structural validation of resources against the base StructureDefinitions:
//! known elements, JSON types, cardinality, choice types, primitive values and
//! nested resources. <https://hl7.org/fhir/R4/validation.html>
//!
//! Each base definition's snapshot is turned into an element table once, at
//! start-up; validating walks a resource's JSON once against those tables and
//! builds a location string only for an issue. Terminology bindings,
//! invariants and profiles are not checked here.

pub mod path;
mod primitive;
mod table;
mod walk;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;
use tillit_model::Issue;

use crate::registry::Registry;
use primitive::PrimitiveRule;
use table::{ElementTable, Target};
use walk::Walk;

/// Precomputed element tables of every base type, built once at start-up.
pub struct StructureValidator {
    /// One table per base StructureDefinition; `Content` refers to them by index.
    tables: Vec<ElementTable>,
    /// One rule per primitive type; `Content::Primitive` refers to them by index.
    primitives: Vec<PrimitiveRule>,
    /// The table of each concrete resource type.
    resources: HashMap<Box<str>, usize>,
    /// The table of `Element`, which the `_name` objects of primitives follow.
    element: Option<usize>,
}

impl StructureValidator {
    /// Builds the element tables of every base definition in `registry`.
    pub fn new(registry: &Registry) -> StructureValidator {
        let definitions: Vec<(&str, &Value)> = registry.base_definitions().collect();
        let mut primitives = Vec::new();
        let mut targets = HashMap::with_capacity(definitions.len());
        for (index, &(name, definition)) in definitions.iter().enumerate() {
            let target = match definition.get("kind").and_then(Value::as_str) {
                Some("primitive-type") => {
                    primitives.push(PrimitiveRule::from_definition(name, definition));
                    Target::Primitive(primitives.len() - 1)
                }
                Some("resource") => Target::Resource,
                _ => Target::Complex(index),
            };
            targets.insert(name, target);
        }
        let tables = definitions
            .iter()
            .enumerate()
            .map(|(index, &(_, definition))| {
                ElementTable::from_snapshot(index, definition, &targets)
            })
            .collect();
        let position = |wanted: &str| definitions.iter().position(|&(name, _)| name == wanted);
        let resources = registry
            .resource_types()
            .filter_map(|name| Some((name.into(), position(name)?)))
            .collect();
        StructureValidator {
            tables,
            primitives,
            resources,
            element: position("Element"),
        }
    }

    /// Whether the element reached from a resource of `resource_type` by the
    /// JSON properties `path` (`["contact", "telecom"]`) repeats, i.e. is a JSON
    /// array; `None` when the path names no element. Patch operations that
    /// add an element use it to write an array or a single value.
    pub fn repeats(&self, resource_type: &str, path: &[&str]) -> Option<bool> {
        let mut table = *self.resources.get(resource_type)?;
        let mut element = 0;
        let mut repeats = false;
        for name in path {
            let t = &self.tables[table];
            let (child, ty) = t.child(element, name)?;
            let found = t.element(child);
            repeats = found.repeats();
            match found.types.get(ty).map(|t| t.content) {
                Some(table::Content::Complex {
                    table: next,
                    element: e,
                }) => {
                    table = next;
                    element = e;
                }
                _ => {
                    element = child;
                }
            }
        }
        Some(repeats)
    }

    /// Every structural problem of `resource`, as issues with FHIRPath locations.
    pub fn validate(&self, resource: &Value) -> Vec<Issue> {
        let mut walk = Walk::new(self);
        walk.resource(resource);
        walk.finish()
    }
}

impl fmt::Debug for StructureValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StructureValidator")
            .field("tables", &self.tables.len())
            .field("primitives", &self.primitives.len())
            .field("resources", &self.resources.len())
            .finish()
    }
}
