//! Element tables: the snapshot of one StructureDefinition as a flat list of
//! elements keyed by path, with each element's children and the JSON content
//! of each of its types resolved once, so the walker never parses a definition.
//!
//! A profile's snapshot fits the same table (its element paths are the base
//! paths), which is how profile validation will reuse the walker.

use std::collections::HashMap;

use serde_json::Value;

/// What a type code names; decided for every base type before any table is built,
/// so a table can resolve its element types in one pass.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// A primitive type, checked by the rule at this index.
    Primitive(usize),
    /// A complex data type, described by the table at this index.
    Complex(usize),
    /// A resource type (abstract or concrete): the JSON value is a nested resource.
    Resource,
}

/// What the JSON value of an element of one type must be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Content {
    /// A primitive value, checked by the rule at this index.
    Primitive(usize),
    /// An object holding the children of `element` in the table at index `table`.
    Complex {
        /// The table holding the children.
        table: usize,
        /// The element of that table whose children the object holds.
        element: usize,
    },
    /// A nested resource, checked against the table of its own `resourceType`.
    Resource,
}

/// One type an element may have: its FHIR type code and the content it calls for.
#[derive(Debug)]
pub(crate) struct ElementType {
    /// The FHIR type code, such as `string` or `HumanName`.
    pub code: Box<str>,
    /// What the JSON value must be.
    pub content: Content,
}

/// One element of a snapshot.
#[derive(Debug)]
pub(crate) struct Element {
    /// The element path, such as `Patient.contact.name` or `Observation.value[x]`.
    pub path: Box<str>,
    /// The JSON property name: the last path segment without `[x]`.
    pub name: Box<str>,
    /// Whether this is a choice element (`value[x]`): the JSON name carries the type.
    pub choice: bool,
    /// The minimum number of values.
    pub min: u32,
    /// The maximum number of values; `None` for `*`.
    pub max: Option<u32>,
    /// The types the element may have (one unless it is a choice).
    pub types: Box<[ElementType]>,
    /// The direct children, sorted by name for binary search.
    children: Box<[usize]>,
    /// The children that are choice elements, matched by prefix.
    choices: Box<[usize]>,
    /// The children with `min > 0`.
    required: Box<[usize]>,
}

impl Element {
    /// The element described by `element`, with its resolved `types` and the
    /// indexes of its direct `children` among `raw`.
    fn new(
        element: &RawElement,
        types: Box<[ElementType]>,
        children: &[usize],
        raw: &[RawElement],
    ) -> Element {
        let mut children = children.to_vec();
        children.sort_by(|&a, &b| raw[a].name().cmp(raw[b].name()));
        let filtered = |keep: fn(&RawElement) -> bool| -> Box<[usize]> {
            children
                .iter()
                .copied()
                .filter(|&c| keep(&raw[c]))
                .collect()
        };
        Element {
            path: element.path.into(),
            name: element.name().into(),
            choice: element.is_choice(),
            min: element.min,
            max: element.max,
            types,
            choices: filtered(|child| child.is_choice()),
            required: filtered(|child| child.min > 0),
            children: children.into(),
        }
    }

    /// Whether the JSON value is an array: exactly when the element may repeat.
    pub fn repeats(&self) -> bool {
        self.max != Some(1)
    }
}

/// The elements of one StructureDefinition snapshot, in snapshot order and
/// keyed by path, each with the indexes of its children.
#[derive(Debug)]
pub(crate) struct ElementTable {
    /// The type the definition describes, such as `Patient` or `HumanName`.
    pub type_name: Box<str>,
    /// The snapshot's elements in snapshot order; children refer to them by index.
    elements: Vec<Element>,
    /// The index of each element path.
    by_path: HashMap<Box<str>, usize>,
}

impl ElementTable {
    /// Builds the table of `definition`, which becomes table `index`; `targets`
    /// says what every base type code names.
    pub fn from_snapshot(
        index: usize,
        definition: &Value,
        targets: &HashMap<&str, Target>,
    ) -> ElementTable {
        let raw = RawElement::all(definition);
        let type_name = definition.get("type").and_then(Value::as_str);
        let mut table = ElementTable {
            type_name: type_name.unwrap_or_default().into(),
            elements: Vec::new(),
            by_path: raw
                .iter()
                .enumerate()
                .map(|(i, e)| (e.path.into(), i))
                .collect(),
        };
        let children = table.children(&raw);
        let is_resource = definition.get("kind").and_then(Value::as_str) == Some("resource");
        let elements = raw
            .iter()
            .enumerate()
            .map(|(i, element)| {
                let has_children = !children[i].is_empty();
                let content =
                    |code: &str| table.content((index, i), element, has_children, code, targets);
                let types =
                    element_types(element.path, &table.codes(element, is_resource), content);
                Element::new(element, types, &children[i], &raw)
            })
            .collect();
        table.elements = elements;
        table
    }

    /// The index of the element at `path`, such as `Questionnaire.item`.
    pub fn index_of(&self, path: &str) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// The indexes of the direct children of each of the `raw` elements.
    fn children(&self, raw: &[RawElement]) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); raw.len()];
        for (i, element) in raw.iter().enumerate() {
            if let Some(parent) = element.parent().and_then(|p| self.index_of(p)) {
                children[parent].push(i);
            }
        }
        children
    }

    /// The type codes of `element`. R4 types `Resource.id` as a plain FHIRPath
    /// string, but the specification (and every validator) holds it to `id`.
    fn codes<'d>(&self, element: &RawElement<'d>, is_resource: bool) -> Vec<&'d str> {
        match element.path.split_once('.') {
            Some((root, "id")) if is_resource && root == &*self.type_name => vec!["id"],
            _ => element.codes(),
        }
    }

    /// What a value of element `i` of table `table` with type `code` must be:
    /// an object of the element's own children when it has any, else of the
    /// children its content reference names, else a value of the type.
    fn content(
        &self,
        (table, i): (usize, usize),
        element: &RawElement,
        has_children: bool,
        code: &str,
        targets: &HashMap<&str, Target>,
    ) -> Option<Content> {
        if has_children {
            return Some(Content::Complex { table, element: i });
        }
        if let Some(reference) = element.content_reference {
            let target = self.index_of(reference.trim_start_matches('#'))?;
            return Some(Content::Complex {
                table,
                element: target,
            });
        }
        resolve(code, targets)
    }

    /// The element at `index`.
    pub fn element(&self, index: usize) -> &Element {
        &self.elements[index]
    }

    /// The child of `parent` that JSON property `name` (without `_`) stands
    /// for, with the index of its type: `valueQuantity` finds `value[x]` and
    /// its `Quantity` type.
    pub fn child(&self, parent: usize, name: &str) -> Option<(usize, usize)> {
        let element = &self.elements[parent];
        let exact = element
            .children
            .binary_search_by(|&c| (*self.elements[c].name).cmp(name))
            .ok()
            .map(|pos| element.children[pos])
            .filter(|&c| !self.elements[c].choice && !self.elements[c].types.is_empty());
        if let Some(child) = exact {
            return Some((child, 0));
        }
        element.choices.iter().find_map(|&c| {
            let choice = &self.elements[c];
            let suffix = name.strip_prefix(&*choice.name)?;
            let ty = choice
                .types
                .iter()
                .position(|t| is_type_suffix(suffix, &t.code))?;
            Some((c, ty))
        })
    }

    /// The choice child of `parent` that JSON property `name` starts with, to
    /// tell which types an unknown `valueFoo` could have had.
    pub fn choice_prefixing(&self, parent: usize, name: &str) -> Option<&Element> {
        self.elements[parent]
            .choices
            .iter()
            .map(|&c| &self.elements[c])
            .find(|choice| name.starts_with(&*choice.name))
    }

    /// The children of `parent` that must be present.
    pub fn required(&self, parent: usize) -> &[usize] {
        &self.elements[parent].required
    }
}

/// The fields of one snapshot element the table needs, borrowed from the JSON.
struct RawElement<'d> {
    path: &'d str,
    min: u32,
    max: Option<u32>,
    types: &'d [Value],
    content_reference: Option<&'d str>,
}

impl<'d> RawElement<'d> {
    /// The snapshot elements of `definition`.
    fn all(definition: &'d Value) -> Vec<RawElement<'d>> {
        definition
            .pointer("/snapshot/element")
            .and_then(Value::as_array)
            .map(|elements| elements.iter().filter_map(RawElement::parse).collect())
            .unwrap_or_default()
    }

    fn parse(element: &'d Value) -> Option<RawElement<'d>> {
        let max = element.get("max").and_then(Value::as_str);
        Some(RawElement {
            path: element.get("path")?.as_str()?,
            min: element
                .get("min")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(0),
            max: max.and_then(|m| m.parse().ok()),
            types: element
                .get("type")
                .and_then(Value::as_array)
                .map_or(&[], Vec::as_slice),
            content_reference: element.get("contentReference").and_then(Value::as_str),
        })
    }

    fn parent(&self) -> Option<&'d str> {
        self.path.rsplit_once('.').map(|(parent, _)| parent)
    }

    fn is_choice(&self) -> bool {
        self.path.ends_with("[x]")
    }

    fn name(&self) -> &'d str {
        let last = self.path.rsplit('.').next().unwrap_or(self.path);
        last.strip_suffix("[x]").unwrap_or(last)
    }

    /// The FHIR type codes, with FHIRPath system types mapped back to FHIR types.
    fn codes(&self) -> Vec<&'d str> {
        if self.types.is_empty() {
            // Inline children or a content reference decide the content.
            return vec!["BackboneElement"];
        }
        self.types.iter().filter_map(type_code).collect()
    }
}

/// The FHIR type code of one `ElementDefinition.type`.
fn type_code(ty: &Value) -> Option<&str> {
    let code = ty.get("code")?.as_str()?;
    let Some(system) = code.strip_prefix("http://hl7.org/fhirpath/System.") else {
        return Some(code);
    };
    let declared = ty
        .get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| {
            e.get("url").and_then(Value::as_str)
                == Some("http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type")
        })
        .and_then(|e| e.get("valueUrl").or_else(|| e.get("valueUri")))
        .and_then(Value::as_str);
    declared.or(match system {
        "Boolean" => Some("boolean"),
        "Integer" => Some("integer"),
        "Decimal" => Some("decimal"),
        "Date" => Some("date"),
        "DateTime" => Some("dateTime"),
        "Time" => Some("time"),
        "String" => Some("string"),
        _ => None,
    })
}

/// The resolved types of an element; an unknown type code is left out with a
/// warning, since the definition cannot be checked against it.
fn element_types<'c>(
    path: &str,
    codes: &[&'c str],
    content_of: impl Fn(&'c str) -> Option<Content>,
) -> Box<[ElementType]> {
    codes
        .iter()
        .filter_map(|&code| match content_of(code) {
            Some(content) => Some(ElementType {
                code: code.into(),
                content,
            }),
            None => {
                tracing::warn!(path, code, "element type has no base definition; ignored");
                None
            }
        })
        .collect()
}

/// The content a base type code calls for.
fn resolve(code: &str, targets: &HashMap<&str, Target>) -> Option<Content> {
    Some(match *targets.get(code)? {
        Target::Primitive(rule) => Content::Primitive(rule),
        Target::Complex(table) => Content::Complex { table, element: 0 },
        Target::Resource => Content::Resource,
    })
}

/// Whether `suffix` of a choice property names type `code`: `Quantity` for
/// `Quantity`, `String` for `string`.
fn is_type_suffix(suffix: &str, code: &str) -> bool {
    let (s, c) = (suffix.as_bytes(), code.as_bytes());
    s.len() == c.len() && !s.is_empty() && s[0] == c[0].to_ascii_uppercase() && s[1..] == c[1..]
}
