//! A StructureDefinition snapshot compiled for validation: its elements as a
//! tree (children and slices by element id), with the rules of each element
//! parsed once — cardinality, types and their profiles, fixed and pattern
//! values, bounds, and invariants as compiled FHIRPath.
//! <https://hl7.org/fhir/R4/elementdefinition.html>

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tillit_fhirpath::Expression;

/// One StructureDefinition, compiled.
#[derive(Debug)]
pub struct Profile {
    /// The canonical URL.
    pub url: Box<str>,
    /// The type it constrains or defines, such as `Patient` or `Extension`.
    pub type_name: Box<str>,
    /// Whether it is a base definition (`derivation` = `specialization`): then
    /// the structural validator has checked its cardinalities and types already.
    pub is_base: bool,
    /// For an extension: where it may be used, as `(type, expression)` pairs
    /// (`element`, `Patient.name`); empty when anywhere.
    pub(crate) contexts: Vec<(Box<str>, Box<str>)>,
    /// The snapshot's elements; index 0 is the root.
    pub(crate) elements: Vec<ElementDef>,
}

/// One type an element may have.
#[derive(Debug)]
pub(crate) struct TypeRef {
    /// The type code, such as `Quantity` or `Reference`; FHIRPath system types
    /// (`http://hl7.org/fhirpath/System.String`) are given as `string`.
    pub code: Box<str>,
    /// Profiles the value must conform to (for `Extension`: the extension's URL).
    pub profiles: Vec<Box<str>>,
    /// For references and canonicals: profiles the target must conform to.
    pub target_profiles: Vec<Box<str>>,
}

/// An invariant of an element.
#[derive(Debug)]
pub(crate) struct Constraint {
    /// Its key, such as `dom-2` or `ips-comp-1`.
    pub key: Box<str>,
    /// Whether a failure is an error (otherwise a warning).
    pub error: bool,
    /// Whether it is a best-practice recommendation (such as `dom-6`), whose
    /// failures are reported at the validator's best-practice level.
    pub best_practice: bool,
    /// What it requires, in words.
    pub human: Box<str>,
    /// The compiled expression.
    pub expression: Arc<Expression>,
}

/// What a discriminator compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DiscriminatorKind {
    /// The value at the path equals the slice's fixed value (or pattern).
    Value,
    /// The value at the path matches the slice's pattern.
    Pattern,
    /// The element at the path is present or absent as the slice requires.
    Exists,
    /// The value at the path has the slice's type.
    Type,
    /// The value at the path conforms to the slice's profile.
    Profile,
}

/// One discriminator of a slicing.
#[derive(Debug)]
pub(crate) struct Discriminator {
    /// What it compares.
    pub kind: DiscriminatorKind,
    /// The path from the sliced element, as written (`code.coding`, `$this`…).
    pub path: Box<str>,
    /// The path compiled, evaluated on each value being sliced.
    pub expression: Option<Arc<Expression>>,
}

/// How an element's values are divided into slices.
#[derive(Debug)]
pub(crate) struct Slicing {
    /// How a value is told to be in a slice; none means by position only.
    pub discriminators: Vec<Discriminator>,
    /// Whether values must appear in the order of the slices.
    pub ordered: bool,
    /// `closed`, `open` or `openAtEnd`.
    pub rules: SlicingRules,
}

/// Whether values outside every slice are allowed, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlicingRules {
    /// Every value must be in a slice.
    Closed,
    /// Values outside the slices may appear anywhere.
    Open,
    /// Values outside the slices may appear only after all sliced values.
    OpenAtEnd,
}

/// One element of a snapshot.
#[derive(Debug)]
pub(crate) struct ElementDef {
    /// The element id, such as `Observation.code.coding:loinc.system`.
    pub id: Box<str>,
    /// The element path, such as `Observation.code.coding.system`.
    pub path: Box<str>,
    /// The JSON property name: the last path segment without `[x]`.
    pub name: Box<str>,
    /// Whether the element is a choice (`value[x]`).
    pub choice: bool,
    /// The slice name, for a slice.
    pub slice_name: Option<Box<str>>,
    /// Minimum number of values.
    pub min: u32,
    /// Maximum number of values; `None` for `*`.
    pub max: Option<u32>,
    /// The base definition's minimum and maximum, to tell a profile's own rule
    /// from one the structural validator checks already.
    pub base_min: u32,
    /// See `base_min`.
    pub base_max: Option<u32>,
    /// The allowed types.
    pub types: Vec<TypeRef>,
    /// `fixed[x]`: the value must be exactly this.
    pub fixed: Option<Value>,
    /// `pattern[x]`: the value must contain this.
    pub pattern: Option<Value>,
    /// `minValue[x]` and `maxValue[x]`.
    pub min_value: Option<Value>,
    /// See `min_value`.
    pub max_value: Option<Value>,
    /// `maxLength`.
    pub max_length: Option<usize>,
    /// The terminology binding: its strength and value set.
    pub binding: Option<(Strength, Box<str>)>,
    /// The invariants.
    pub constraints: Vec<Constraint>,
    /// How the element is sliced, if it is.
    pub slicing: Option<Slicing>,
    /// The children (not slices), in snapshot order.
    pub children: Vec<usize>,
    /// The slices of this element, in snapshot order.
    pub slices: Vec<usize>,
    /// The children's JSON names (choice stems for choices) with their
    /// positions in `children`, sorted by name.
    names: Vec<(Box<str>, usize)>,
    /// The positions in `children` of the choice elements.
    choices: Vec<usize>,
    /// For `contentReference` elements: the element whose children apply.
    pub content_reference: Option<usize>,
}

impl ElementDef {
    /// Whether the element's JSON is an array: when its base definition repeats
    /// (a profile narrowing `0..*` to `0..1` keeps the array).
    pub fn repeats(&self) -> bool {
        self.base_max != Some(1)
    }
}

/// How strongly a binding holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strength {
    /// The code must come from the value set.
    Required,
    /// It must, when one there fits.
    Extensible,
    /// It should.
    Preferred,
    /// The value set is an example.
    Example,
}

/// The invariants the validator checks natively, not by their expression:
/// `ele-1` (no empty elements) is part of the structural check.
const NATIVE_CONSTRAINTS: [&str; 1] = ["ele-1"];

/// The extension marking an invariant as a best-practice recommendation.
const BEST_PRACTICE: &str =
    "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice";

/// R4 core invariants whose published expression is wrong, with the corrected
/// expression used instead (as the HL7 validator corrects them too).
const CORRECTED_CONSTRAINTS: [(&str, &str, &str); 2] = [
    (
        // "more than one enableWhen" is written `> 2`: two conditions without
        // `enableBehavior` would pass.
        "que-12",
        "enableWhen.count() > 2 implies enableBehavior.exists()",
        "enableWhen.count() > 1 implies enableBehavior.exists()",
    ),
    (
        // `answer is Boolean` asks for the FHIRPath System type, which a FHIR
        // `boolean` is not: every `exists` condition would fail.
        "que-7",
        "operator = 'exists' implies (answer is Boolean)",
        "operator = 'exists' implies (answer is boolean)",
    ),
];

/// Extension contexts that R4 publishes wrongly, by extension URL: the
/// published context and the one its own definitions use.
const CORRECTED_CONTEXTS: [(&str, &str, &str); 1] = [(
    // R4's own snapshots put this extension on `ElementDefinition.type`, as
    // the extensions pack later corrected its context to.
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type",
    "ElementDefinition.type.code",
    "ElementDefinition.type",
)];

impl Profile {
    /// Compiles `definition`; `None` if it has no snapshot.
    pub fn compile(definition: &Value, expressions: &mut ExpressionCache) -> Option<Profile> {
        let raw = definition.pointer("/snapshot/element")?.as_array()?;
        let text = |key: &str| {
            definition
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let mut elements: Vec<ElementDef> = raw
            .iter()
            .map(|element| compile_element(element, expressions))
            .collect();
        let by_id: HashMap<Box<str>, usize> = elements
            .iter()
            .enumerate()
            .map(|(index, e)| (e.id.clone(), index))
            .collect();
        let by_path: HashMap<&str, usize> = raw
            .iter()
            .enumerate()
            .rev()
            .filter_map(|(index, e)| Some((e.get("path")?.as_str()?, index)))
            .collect();
        let mut links = Vec::new();
        for (index, element) in elements.iter().enumerate().skip(1) {
            if let Some(sliced) = sliced_element(&element.id) {
                if let Some(&parent) = by_id.get(sliced) {
                    links.push((parent, index, true));
                }
            } else if let Some((parent_id, _)) = element.id.rsplit_once('.') {
                if let Some(&parent) = by_id.get(parent_id) {
                    links.push((parent, index, false));
                }
            }
        }
        for (parent, child, slice) in links {
            if slice {
                elements[parent].slices.push(child);
            } else {
                elements[parent].children.push(child);
            }
        }
        for index in 0..elements.len() {
            let mut names: Vec<(Box<str>, usize)> = elements[index]
                .children
                .iter()
                .enumerate()
                .map(|(position, &c)| (elements[c].name.clone(), position))
                .collect();
            names.sort();
            let choices = elements[index]
                .children
                .iter()
                .enumerate()
                .filter(|(_, &c)| elements[c].choice)
                .map(|(position, _)| position)
                .collect();
            elements[index].names = names;
            elements[index].choices = choices;
        }
        for (index, element) in raw.iter().enumerate() {
            let reference = element
                .get("contentReference")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'));
            // Children of its own (a profile's slices of it) come first.
            let unrolled = !elements[index].children.is_empty();
            if let Some(target) = reference.and_then(|r| by_path.get(r)).filter(|_| !unrolled) {
                elements[index].content_reference = Some(*target);
            }
        }
        Some(Profile {
            url: text("url").into(),
            type_name: text("type").into(),
            is_base: matches!(text("derivation"), "specialization" | ""),
            contexts: definition
                .get("context")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    let expression = c.get("expression")?.as_str()?;
                    let expression = CORRECTED_CONTEXTS
                        .iter()
                        .find(|(url, published, _)| *url == text("url") && *published == expression)
                        .map_or(expression, |(_, _, corrected)| corrected);
                    Some((c.get("type")?.as_str()?.into(), expression.into()))
                })
                .collect(),
            elements,
        })
    }

    /// A quick test before a whole walk, for slicing by profile: `false` when
    /// a direct child of the resource with a fixed value or pattern in this
    /// profile (such as `Observation.code`) does not match, so the value cannot conform.
    pub(crate) fn may_match(&self, value: &Value) -> bool {
        let Some(object) = value.as_object() else {
            return true;
        };
        self.elements[0].children.iter().all(|&child| {
            let def = &self.elements[child];
            if def.choice || (def.fixed.is_none() && def.pattern.is_none()) {
                return true;
            }
            let Some(found) = object.get(&*def.name) else {
                return def.min == 0;
            };
            let values: &[Value] = match found {
                Value::Array(items) => items,
                single => std::slice::from_ref(single),
            };
            values.iter().all(|v| match (&def.fixed, &def.pattern) {
                (Some(fixed), _) => crate::compare::equals_fixed(v, fixed),
                (None, Some(pattern)) => crate::compare::matches_pattern(v, pattern),
                (None, None) => true,
            })
        })
    }

    /// The element at `index`.
    pub(crate) fn element(&self, index: usize) -> &ElementDef {
        &self.elements[index]
    }

    /// The position in `parent`'s children of the element a JSON property
    /// (without `_`) names: by name, or for a choice by its stem and a type suffix.
    pub(crate) fn child_position(&self, parent: usize, property: &str) -> Option<usize> {
        let def = &self.elements[parent];
        if let Ok(found) = def
            .names
            .binary_search_by(|(name, _)| (**name).cmp(property))
        {
            let position = def.names[found].1;
            if !self.elements[def.children[position]].choice {
                return Some(position);
            }
        }
        def.choices.iter().copied().find(|&position| {
            let stem = &*self.elements[def.children[position]].name;
            property
                .strip_prefix(stem)
                .is_some_and(|suffix| suffix.starts_with(|c: char| c.is_ascii_uppercase()))
        })
    }

    /// The index of the element with path `path`, if the profile has one.
    pub(crate) fn position_of_path(&self, path: &str) -> Option<usize> {
        self.elements.iter().position(|e| &*e.path == path)
    }

    /// The element whose children apply to `index`'s values (itself, or the
    /// target of its `contentReference`).
    pub(crate) fn content(&self, index: usize) -> usize {
        self.elements[index].content_reference.unwrap_or(index)
    }
}

/// The id of the element a slice id slices (`a.b:s` → `a.b`, `a.b:s/r` →
/// `a.b:s`); `None` if the id is not a slice's.
fn sliced_element(id: &str) -> Option<&str> {
    let last = id.rsplit('.').next().unwrap_or(id);
    if let Some((_, reslice)) = last.rsplit_once('/') {
        let cut = id.len() - reslice.len() - 1;
        return Some(&id[..cut]);
    }
    let colon = last.rfind(':')?;
    Some(&id[..id.len() - last.len() + colon])
}

/// FHIRPath expressions compiled once per text, shared by every profile.
#[derive(Clone, Debug, Default)]
pub struct ExpressionCache {
    compiled: HashMap<Box<str>, Option<Arc<Expression>>>,
}

impl ExpressionCache {
    /// The compiled expression of `text`; `None` (logged once) if it does not parse.
    pub fn get(&mut self, text: &str) -> Option<Arc<Expression>> {
        if let Some(found) = self.compiled.get(text) {
            return found.clone();
        }
        let compiled = match Expression::parse(text) {
            Ok(expression) => Some(Arc::new(expression)),
            Err(error) => {
                tracing::warn!(expression = text, %error, "profile expression does not parse; it is not checked");
                None
            }
        };
        self.compiled.insert(text.into(), compiled.clone());
        compiled
    }
}

fn compile_element(element: &Value, expressions: &mut ExpressionCache) -> ElementDef {
    let text = |key: &str| element.get(key).and_then(Value::as_str).unwrap_or_default();
    let path = text("path");
    let id = match text("id") {
        "" => path,
        id => id,
    };
    let last = path.rsplit('.').next().unwrap_or(path);
    let (name, choice) = match last.strip_suffix("[x]") {
        Some(stem) => (stem, true),
        None => (last, false),
    };
    let max = |value: Option<&Value>| match value.and_then(Value::as_str) {
        Some("*") | None => None,
        Some(n) => n.parse().ok(),
    };
    let min = element.get("min").and_then(Value::as_u64).unwrap_or(0) as u32;
    let base = element.get("base");
    ElementDef {
        id: id.into(),
        path: path.into(),
        name: name.into(),
        choice,
        slice_name: element
            .get("sliceName")
            .and_then(Value::as_str)
            .map(Into::into),
        min,
        max: max(element.get("max")),
        base_min: base
            .and_then(|b| b.get("min"))
            .and_then(Value::as_u64)
            .map_or(min, |m| m as u32),
        base_max: match base.and_then(|b| b.get("max")) {
            Some(m) => max(Some(m)),
            None => max(element.get("max")),
        },
        types: element
            .get("type")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(compile_type)
            .collect(),
        fixed: prefixed(element, "fixed"),
        pattern: prefixed(element, "pattern"),
        min_value: prefixed(element, "minValue"),
        max_value: prefixed(element, "maxValue"),
        max_length: element
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|n| n as usize),
        binding: element.get("binding").and_then(|b| {
            let strength = match b.get("strength")?.as_str()? {
                "required" => Strength::Required,
                "extensible" => Strength::Extensible,
                "preferred" => Strength::Preferred,
                _ => Strength::Example,
            };
            Some((strength, b.get("valueSet")?.as_str()?.into()))
        }),
        constraints: element
            .get("constraint")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| compile_constraint(c, expressions))
            .collect(),
        slicing: element
            .get("slicing")
            .map(|s| compile_slicing(s, expressions)),
        children: Vec::new(),
        slices: Vec::new(),
        names: Vec::new(),
        choices: Vec::new(),
        content_reference: None,
    }
}

fn compile_type(ty: &Value) -> TypeRef {
    let code = ty.get("code").and_then(Value::as_str).unwrap_or_default();
    let code = match code.strip_prefix("http://hl7.org/fhirpath/System.") {
        Some(system) => system.to_ascii_lowercase(),
        None => code.to_owned(),
    };
    let urls = |key: &str| -> Vec<Box<str>> {
        ty.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(Into::into)
            .collect()
    };
    TypeRef {
        code: code.into(),
        profiles: urls("profile"),
        target_profiles: urls("targetProfile"),
    }
}

fn compile_constraint(constraint: &Value, expressions: &mut ExpressionCache) -> Option<Constraint> {
    let key = constraint.get("key")?.as_str()?;
    if NATIVE_CONSTRAINTS.contains(&key) {
        return None;
    }
    let mut text = constraint.get("expression")?.as_str()?;
    if let Some((_, _, corrected)) = CORRECTED_CONSTRAINTS
        .iter()
        .find(|(k, published, _)| *k == key && *published == text)
    {
        text = corrected;
    }
    let expression = expressions.get(text)?;
    Some(Constraint {
        key: key.into(),
        error: constraint.get("severity").and_then(Value::as_str) != Some("warning"),
        best_practice: constraint
            .get("extension")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|e| {
                e.get("url").and_then(Value::as_str) == Some(BEST_PRACTICE)
                    && e.get("valueBoolean") == Some(&Value::Bool(true))
            }),
        human: constraint
            .get("human")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into(),
        expression,
    })
}

fn compile_slicing(slicing: &Value, expressions: &mut ExpressionCache) -> Slicing {
    let discriminators = slicing
        .get("discriminator")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let kind = match d.get("type")?.as_str()? {
                "value" => DiscriminatorKind::Value,
                "pattern" => DiscriminatorKind::Pattern,
                "exists" => DiscriminatorKind::Exists,
                "type" => DiscriminatorKind::Type,
                "profile" => DiscriminatorKind::Profile,
                _ => return None,
            };
            let path = d.get("path")?.as_str()?;
            Some(Discriminator {
                kind,
                path: path.into(),
                expression: expressions.get(path),
            })
        })
        .collect();
    Slicing {
        discriminators,
        ordered: slicing.get("ordered").and_then(Value::as_bool) == Some(true),
        rules: match slicing.get("rules").and_then(Value::as_str) {
            Some("closed") => SlicingRules::Closed,
            Some("openAtEnd") => SlicingRules::OpenAtEnd,
            _ => SlicingRules::Open,
        },
    }
}

/// The value of the `prefix[x]` property of `element` (`fixedUri`, `patternCodeableConcept`…).
fn prefixed(element: &Value, prefix: &str) -> Option<Value> {
    element.as_object()?.iter().find_map(|(key, value)| {
        let rest = key.strip_prefix(prefix)?;
        rest.starts_with(|c: char| c.is_ascii_uppercase())
            .then(|| value.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::sliced_element;

    #[test]
    fn slice_ids_name_the_sliced_element() {
        assert_eq!(
            sliced_element("Observation.code.coding:loinc"),
            Some("Observation.code.coding")
        );
        assert_eq!(sliced_element("Bundle.entry:a/b"), Some("Bundle.entry:a"));
        assert_eq!(sliced_element("Observation.code.coding:loinc.system"), None);
        assert_eq!(sliced_element("Observation"), None);
    }
}
