//! The search index: every active search parameter compiled once per resource
//! type, and the typed index rows a resource version gets when it is written
//! (in the same database transaction).
//!
//! Parameters come from the loaded packages and from SearchParameter resources
//! created on the server; each one's FHIRPath expression is cut down to the
//! union terms that can apply to each base type, so `AllergyIntolerance.patient
//! | CarePlan.subject.where(resolve() is Patient) | …` costs one term per type.

pub mod extract;
pub mod text;
pub mod units;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use tillit_conformance::SearchParam;
use tillit_fhirpath::{Environment, Expression, Model};
use tillit_store::{IndexRow, IndexTable};

/// A search parameter type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `number`.
    Number,
    /// `date`.
    Date,
    /// `string`.
    String,
    /// `token`.
    Token,
    /// `reference`.
    Reference,
    /// `composite`.
    Composite,
    /// `quantity`.
    Quantity,
    /// `uri`.
    Uri,
    /// `special` (`_text`, `_content`, `near`…).
    Special,
}

impl Kind {
    /// The kind named `name` in `SearchParameter.type`.
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "number" => Kind::Number,
            "date" => Kind::Date,
            "string" => Kind::String,
            "token" => Kind::Token,
            "reference" => Kind::Reference,
            "composite" => Kind::Composite,
            "quantity" => Kind::Quantity,
            "uri" => Kind::Uri,
            "special" => Kind::Special,
            _ => return None,
        })
    }

    /// The index table its values live in.
    pub fn table(self) -> Option<IndexTable> {
        Some(match self {
            Kind::Number => IndexTable::Number,
            Kind::Date => IndexTable::Date,
            Kind::String => IndexTable::String,
            Kind::Token => IndexTable::Token,
            Kind::Reference => IndexTable::Reference,
            Kind::Composite => IndexTable::Composite,
            Kind::Quantity => IndexTable::Quantity,
            Kind::Uri => IndexTable::Uri,
            Kind::Special => return None,
        })
    }
}

/// One component of a composite parameter.
#[derive(Debug)]
pub struct Component {
    /// The component parameter's type.
    pub kind: Kind,
    /// Its expression, applied to each value the composite selects (bound
    /// to `%composite`): `%composite.select(…)`.
    pub expression: Expression,
}

/// A search parameter active on one resource type.
#[derive(Debug)]
pub struct Param {
    /// The code used in URLs.
    pub code: String,
    /// The canonical URL of its definition.
    pub url: String,
    /// Its type.
    pub kind: Kind,
    /// The types a reference parameter may point at (all types when empty).
    pub targets: Vec<String>,
    /// The expression cut down to this type, when it selects anything here.
    expression: Option<Expression>,
    /// Composite components, in order.
    pub components: Vec<Component>,
}

/// Parameters the resource table answers instead of index rows.
const FROM_RESOURCE_TABLE: &[&str] = &["_id", "_lastUpdated"];

/// Every active search parameter, per resource type.
#[derive(Debug)]
pub struct SearchIndex {
    model: Arc<Model>,
    params: HashMap<String, BTreeMap<String, Arc<Param>>>,
    /// Definitions by URL, for composite components and for rebuilding.
    definitions: Vec<SearchParam>,
    base_url: String,
}

impl SearchIndex {
    /// Compiles `definitions` for `resource_types` with the FHIRPath `model`;
    /// definitions whose expression does not parse are skipped with a warning.
    pub fn new(
        model: Arc<Model>,
        definitions: Vec<SearchParam>,
        resource_types: &[String],
        base_url: &str,
    ) -> SearchIndex {
        let mut index = SearchIndex {
            model,
            params: HashMap::new(),
            definitions: Vec::new(),
            base_url: base_url.to_owned(),
        };
        let by_url: HashMap<String, SearchParam> = definitions
            .iter()
            .map(|d| (d.url.clone(), d.clone()))
            .collect();
        for definition in &definitions {
            index.activate(definition, resource_types, &by_url);
        }
        index.definitions = definitions;
        index
    }

    /// Compiles `definition` for each of `resource_types` it applies to.
    fn activate(
        &mut self,
        definition: &SearchParam,
        resource_types: &[String],
        by_url: &HashMap<String, SearchParam>,
    ) {
        let Some(kind) = Kind::parse(&definition.kind) else {
            return;
        };
        if FROM_RESOURCE_TABLE.contains(&definition.code.as_str()) {
            return;
        }
        for ty in resource_types {
            let applies = definition
                .base
                .iter()
                .any(|b| b == ty || b == "Resource" || b == "DomainResource");
            if !applies {
                continue;
            }
            match compile(definition, kind, ty, by_url) {
                Ok(param) => {
                    self.params
                        .entry(ty.clone())
                        .or_default()
                        .insert(definition.code.clone(), Arc::new(param));
                }
                Err(problem) => tracing::warn!(
                    param = %definition.url,
                    resource_type = %ty,
                    %problem,
                    "search parameter not active"
                ),
            }
        }
    }

    /// Whether exactly `definition` is active already.
    pub fn defines(&self, definition: &SearchParam) -> bool {
        self.definitions.iter().any(|d| d == definition)
    }

    /// This index with `definition` added (or replacing the one with its URL);
    /// only the new definition is compiled.
    pub fn with(&self, definition: SearchParam, resource_types: &[String]) -> SearchIndex {
        let mut params = self.params.clone();
        for by_code in params.values_mut() {
            by_code.retain(|_, p| p.url != definition.url);
        }
        let mut definitions: Vec<SearchParam> = self
            .definitions
            .iter()
            .filter(|d| d.url != definition.url)
            .cloned()
            .collect();
        let mut index = SearchIndex {
            model: self.model.clone(),
            params,
            definitions: Vec::new(),
            base_url: self.base_url.clone(),
        };
        let by_url: HashMap<String, SearchParam> = definitions
            .iter()
            .chain(std::iter::once(&definition))
            .map(|d| (d.url.clone(), d.clone()))
            .collect();
        index.activate(&definition, resource_types, &by_url);
        definitions.push(definition);
        index.definitions = definitions;
        index
    }

    /// The FHIRPath type model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Parameter `code` of `resource_type`, if active.
    pub fn param(&self, resource_type: &str, code: &str) -> Option<&Arc<Param>> {
        self.params.get(resource_type)?.get(code)
    }

    /// Every active parameter of `resource_type`, by code.
    pub fn params(&self, resource_type: &str) -> impl Iterator<Item = &Arc<Param>> {
        self.params
            .get(resource_type)
            .into_iter()
            .flat_map(|p| p.values())
    }

    /// A fingerprint of every active parameter and its expression: when it
    /// changes between releases or configurations, stored rows are stale.
    pub fn fingerprint(&self) -> String {
        let mut lines: Vec<String> = self
            .definitions
            .iter()
            .map(|d| {
                format!(
                    "{}|{}|{}|{:?}|{:?}",
                    d.url, d.kind, d.code, d.expression, d.base
                )
            })
            .collect();
        lines.sort();
        lines.push(format!("extraction={EXTRACTION_VERSION}"));
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in lines.join("\n").bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }

    /// The index rows of `resource`; expressions that fail on it add nothing
    /// (and are logged), so one odd resource never blocks a write.
    pub fn rows(&self, resource: &Value) -> Vec<IndexRow> {
        let Some(ty) = resource.get("resourceType").and_then(Value::as_str) else {
            return Vec::new();
        };
        let env = Environment::new(&self.model);
        let mut out: Vec<(String, tillit_store::IndexValue)> = Vec::new();
        for param in self.params(ty) {
            let Some(expression) = &param.expression else {
                continue;
            };
            let items = match expression.evaluate(resource, &env) {
                Ok(items) => items,
                Err(problem) => {
                    tracing::debug!(param = %param.url, %problem, "index expression failed");
                    continue;
                }
            };
            if param.kind == Kind::Composite {
                // Composites select the element holding both components (often
                // the resource itself): presence says nothing about them.
                self.composite_rows(param, resource, &items, &mut out);
                continue;
            }
            let first_row = out.len();
            for item in items.iter() {
                with_json(item, |json| {
                    extract::rows(
                        param.kind,
                        &param.code,
                        item.type_name(),
                        json,
                        &self.base_url,
                        &mut out,
                    )
                });
            }
            // An element that gave no searchable value is still there for `:missing`.
            if !items.is_empty() && !out[first_row..].iter().any(|(code, _)| *code == param.code) {
                out.push((param.code.clone(), tillit_store::IndexValue::Present));
            }
        }
        out.into_iter()
            .map(|(param, value)| IndexRow { param, value })
            .collect()
    }

    /// Composite rows: for each selected value, its first component's tokens
    /// paired with its second component's values.
    fn composite_rows(
        &self,
        param: &Param,
        resource: &Value,
        items: &[tillit_fhirpath::Item<'_>],
        out: &mut Vec<(String, tillit_store::IndexValue)>,
    ) {
        let [first, second] = param.components.as_slice() else {
            return;
        };
        for item in items {
            let values = |component: &Component| -> Vec<(String, tillit_store::IndexValue)> {
                let mut rows = Vec::new();
                let env = Environment::new(&self.model).with_items("composite", vec![item.clone()]);
                if let Ok(selected) = component.expression.evaluate(resource, &env) {
                    for value in selected.iter() {
                        with_json(value, |json| {
                            extract::rows(
                                component.kind,
                                "",
                                value.type_name(),
                                json,
                                &self.base_url,
                                &mut rows,
                            )
                        });
                    }
                }
                rows.retain(|(code, _)| code.is_empty());
                rows
            };
            let firsts = values(first);
            let seconds = values(second);
            for (_, a) in &firsts {
                let tillit_store::IndexValue::Token { system, code } = a else {
                    continue;
                };
                for (_, b) in &seconds {
                    if let Some(row) = composite_value(system, code, b) {
                        out.push((param.code.clone(), row));
                    }
                }
            }
        }
    }
}

/// Calls `f` with an item's JSON: borrowed from the resource for nodes,
/// rendered for computed values.
fn with_json(item: &tillit_fhirpath::Item<'_>, f: impl FnOnce(&Value)) {
    match item.json() {
        Some(json) => f(json),
        None => f(&item.to_json()),
    }
}

/// Bumped when extraction changes in a way that makes stored rows stale.
const EXTRACTION_VERSION: u32 = 2;

/// A composite row from a first-component token and a second-component value.
fn composite_value(
    system: &str,
    code: &str,
    second: &tillit_store::IndexValue,
) -> Option<tillit_store::IndexValue> {
    use tillit_store::IndexValue as V;
    let (second_system, second_code, low, high) = match second {
        V::Token { system, code } => (system.clone(), code.clone(), 0.0, 0.0),
        V::String { folded, .. } => (String::new(), folded.clone(), 0.0, 0.0),
        V::Quantity {
            system,
            code,
            low,
            high,
        } => (system.clone(), code.clone(), *low, *high),
        V::Number { low, high } => (String::new(), String::new(), *low, *high),
        V::Date { low, high } => (String::new(), String::new(), *low as f64, *high as f64),
        V::Reference {
            target_type,
            target_id,
            ..
        } => (target_type.clone(), target_id.clone(), 0.0, 0.0),
        V::Uri(uri) => (String::new(), uri.clone(), 0.0, 0.0),
        V::Composite { .. } | V::Present => return None,
    };
    Some(V::Composite {
        system: system.to_owned(),
        code: code.to_owned(),
        second_system,
        second_code,
        low,
        high,
    })
}

/// Compiles `definition` for resource type `ty`.
fn compile(
    definition: &SearchParam,
    kind: Kind,
    ty: &str,
    by_url: &HashMap<String, SearchParam>,
) -> Result<Param, String> {
    let expression = match &definition.expression {
        Some(text) => {
            let terms = terms_for(text, ty);
            if terms.is_empty() {
                None
            } else {
                Some(Expression::parse(&terms.join(" | ")).map_err(|e| e.to_string())?)
            }
        }
        None => None,
    };
    let mut components = Vec::new();
    for (url, text) in &definition.components {
        let component = by_url
            .get(url.as_str())
            .ok_or_else(|| format!("component {url} is not a known search parameter"))?;
        components.push(Component {
            kind: Kind::parse(&component.kind)
                .ok_or_else(|| format!("component {url} has no known type"))?,
            expression: Expression::parse(&format!("%composite.select({text})"))
                .map_err(|e| e.to_string())?,
        });
    }
    Ok(Param {
        code: definition.code.clone(),
        url: definition.url.clone(),
        kind,
        targets: definition.target.clone(),
        expression,
        components,
    })
}

/// The top-level union terms of `expression` that can select anything from a
/// resource of type `ty`: those that start with `ty`, with `Resource` or
/// `DomainResource`, or with no type name at all.
pub fn terms_for(expression: &str, ty: &str) -> Vec<String> {
    split_union(expression)
        .into_iter()
        .filter(|term| match leading_type(term) {
            Some(first) => first == ty || first == "Resource" || first == "DomainResource",
            None => true,
        })
        .map(|term| term.trim().to_owned())
        .collect()
}

/// The identifier a term starts with, if it names a type (starts upper case).
fn leading_type(term: &str) -> Option<&str> {
    let trimmed = term.trim_start_matches(|c: char| c == '(' || c.is_whitespace());
    let end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    let word = &trimmed[..end];
    word.starts_with(|c: char| c.is_ascii_uppercase())
        .then_some(word)
}

/// Splits at `|` outside parentheses, brackets and string literals.
fn split_union(expression: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut chars = expression.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quoted => {
                chars.next();
            }
            '\'' => quoted = !quoted,
            '(' | '[' | '{' if !quoted => depth += 1,
            ')' | ']' | '}' if !quoted => depth -= 1,
            '|' if !quoted && depth == 0 => {
                terms.push(&expression[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&expression[start..]);
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_terms_are_cut_to_the_type() {
        let expression = "AllergyIntolerance.patient | CarePlan.subject.where(resolve() is Patient) | (Observation.value as Quantity) | Observation.code";
        assert_eq!(
            terms_for(expression, "Observation"),
            vec!["(Observation.value as Quantity)", "Observation.code"]
        );
        assert_eq!(
            terms_for(expression, "CarePlan"),
            vec!["CarePlan.subject.where(resolve() is Patient)"]
        );
        assert_eq!(
            terms_for("Resource.meta.tag", "Patient"),
            vec!["Resource.meta.tag"]
        );
        assert_eq!(
            split_union("a.where(x = '|') | b"),
            vec!["a.where(x = '|') ", " b"]
        );
    }
}
