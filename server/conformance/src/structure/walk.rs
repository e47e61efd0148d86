//! The walker: one pass over a resource's JSON that checks every property
//! against the element tables and collects the issues.
//! <https://hl7.org/fhir/R4/json.html>

use serde_json::{Map, Value};
use tillit_model::{Issue, IssueType};

use super::path::{Path, Step};
use super::primitive::describe;
use super::table::{Content, Element, ElementTable, ElementType};
use super::StructureValidator;

/// An element met in the object being walked, with the property that gave it
/// (without `_`) and how many values it had.
#[derive(Debug)]
struct Seen<'a> {
    element: usize,
    key: &'a str,
    count: usize,
}

/// The state of one validation: where it is, what it has met, what it found.
pub(super) struct Walk<'a> {
    validator: &'a StructureValidator,
    path: Path<'a>,
    /// The elements met in each object being walked, innermost last.
    seen: Vec<Seen<'a>>,
    issues: Vec<Issue>,
}

impl<'a> Walk<'a> {
    /// A walk with no issues yet.
    pub fn new(validator: &'a StructureValidator) -> Walk<'a> {
        Walk {
            validator,
            path: Path::default(),
            seen: Vec::new(),
            issues: Vec::new(),
        }
    }

    /// The issues found.
    pub fn finish(self) -> Vec<Issue> {
        self.issues
    }

    /// Checks a resource, outermost or nested, by its own `resourceType`.
    pub fn resource(&mut self, value: &'a Value) {
        let Some(map) = value.as_object() else {
            let found = describe(value);
            self.report(IssueType::Structure, None, |p| {
                format!("{p} must be a resource (a JSON object), found {found}")
            });
            return;
        };
        let resource_type = match map.get("resourceType") {
            Some(Value::String(name)) => name.as_str(),
            Some(other) => {
                let found = describe(other);
                self.report(IssueType::Structure, None, |p| {
                    format!("{p}: resourceType must be a JSON string naming a resource type, found {found}")
                });
                return;
            }
            None => {
                self.report(IssueType::Required, None, |p| {
                    format!("{p} has no resourceType; every resource names its type")
                });
                return;
            }
        };
        let Some(&table) = self.validator.resources.get(resource_type) else {
            self.report(IssueType::Invalid, None, |p| {
                format!("{p} has resourceType '{resource_type}', which is not a concrete R4 resource type")
            });
            return;
        };
        let outermost = self.path.is_empty();
        if outermost {
            self.path.push(Step::to(resource_type));
        }
        self.object(map, table, 0, true);
        if outermost {
            self.path.pop();
        }
    }

    /// Checks an object holding the children of `element` in table `table`.
    fn object(
        &mut self,
        map: &'a Map<String, Value>,
        table: usize,
        element: usize,
        is_resource: bool,
    ) {
        if map.is_empty() {
            self.report(IssueType::Structure, None, |p| {
                format!("{p} is an empty object; FHIR does not allow empty elements")
            });
            return;
        }
        let mark = self.seen.len();
        for (key, value) in map {
            if !(is_resource && key == "resourceType") {
                self.property(map, key, value, (table, element), mark);
            }
        }
        self.check_cardinality(table, element, mark);
        self.seen.truncate(mark);
    }

    /// Checks one property of an object: `name` or `_name`.
    fn property(
        &mut self,
        map: &'a Map<String, Value>,
        key: &'a str,
        value: &'a Value,
        (table, parent): (usize, usize),
        mark: usize,
    ) {
        let validator = self.validator;
        let table = &validator.tables[table];
        let (is_extension, name) = match key.strip_prefix('_') {
            Some(name) => (true, name),
            None => (false, key),
        };
        let Some((child, ty)) = table.child(parent, name) else {
            self.unknown(table, parent, key, name);
            return;
        };
        let element = table.element(child);
        let ty = &element.types[ty];
        let step = Step {
            name: &element.name,
            of_type: element.choice.then_some(&*ty.code),
            index: None,
        };
        let count = if is_extension {
            self.extensions(map, name, value, (element, ty), step)
        } else {
            self.values(map, name, value, element, ty.content, step)
        };
        self.record(mark, child, name, count, step);
    }

    /// Reports property `key` (`name` without `_`), which no child of `parent` matches.
    fn unknown(&mut self, table: &'a ElementTable, parent: usize, key: &'a str, name: &str) {
        let expected = match table.choice_prefixing(parent, name) {
            Some(choice) => {
                let codes: Vec<&str> = choice.types.iter().map(|t| &*t.code).collect();
                format!("{}[x] takes the types {}", choice.name, codes.join(", "))
            }
            None if parent == 0 => format!("{} has no such element", table.type_name),
            None => format!("{} has no such element", table.element(parent).path),
        };
        self.report(IssueType::Structure, Some(Step::to(key)), |p| {
            format!("Unknown element '{key}' at {p}: {expected}")
        });
    }

    /// Checks the value(s) of property `name`; returns how many there are.
    fn values(
        &mut self,
        map: &'a Map<String, Value>,
        name: &'a str,
        value: &'a Value,
        element: &'a Element,
        content: Content,
        mut step: Step<'a>,
    ) -> usize {
        match value {
            Value::Array(_) if !element.repeats() => {
                self.report(IssueType::Structure, Some(step), |p| {
                    format!("{p} has at most one value, so it must not be an array")
                });
                1
            }
            Value::Array(items) if items.is_empty() => {
                self.report(IssueType::Structure, Some(step), |p| {
                    format!("{p} is an empty array; FHIR leaves absent elements out")
                });
                0
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    step.index = Some(index);
                    self.path.push(step);
                    if !item.is_null() {
                        self.item(item, content);
                    } else if !has_extension_at(map, name, index) {
                        self.report(IssueType::Structure, None, |p| {
                            format!("{p} is null; null only stands for a value whose '_{name}' item has extensions")
                        });
                    }
                    self.path.pop();
                }
                items.len()
            }
            _ if element.repeats() => {
                let found = describe(value);
                self.report(IssueType::Structure, Some(step), |p| {
                    format!("{p} repeats, so it must be a JSON array, found {found}")
                });
                1
            }
            Value::Null => {
                self.report(IssueType::Structure, Some(step), |p| {
                    format!("{p} is null; FHIR JSON leaves absent elements out")
                });
                1
            }
            _ => {
                self.path.push(step);
                self.item(value, content);
                self.path.pop();
                1
            }
        }
    }

    /// Checks `_name`, the id and extensions of primitive `name`; returns how
    /// many values it stands for.
    fn extensions(
        &mut self,
        map: &'a Map<String, Value>,
        name: &'a str,
        value: &'a Value,
        (element, ty): (&'a Element, &'a ElementType),
        step: Step<'a>,
    ) -> usize {
        if !matches!(ty.content, Content::Primitive(_)) {
            let of_type = &ty.code;
            self.report(IssueType::Structure, Some(step), |p| {
                format!("'_{name}' is not allowed: {p} is of type {of_type}, and only primitive elements have '_' properties")
            });
            return 0;
        }
        let items = match value {
            Value::Array(_) if !element.repeats() => {
                self.report(IssueType::Structure, Some(step), |p| {
                    format!("'_{name}' must not be an array: {p} has at most one value")
                });
                return 1;
            }
            Value::Array(items) if items.is_empty() => {
                self.report(IssueType::Structure, Some(step), |p| {
                    format!("'_{name}' at {p} is an empty array; FHIR leaves absent elements out")
                });
                return 0;
            }
            Value::Array(items) => items,
            _ if element.repeats() => {
                self.report(IssueType::Structure, Some(step), |p| {
                    format!(
                        "'_{name}' must be a JSON array aligned with '{name}', since {p} repeats"
                    )
                });
                return 1;
            }
            single => {
                self.path.push(step);
                self.element_extensions(name, single);
                self.path.pop();
                return 1;
            }
        };
        self.extension_items(map.get(name).and_then(Value::as_array), name, items, step);
        items.len()
    }

    /// Checks the items of a `_name` array against `paired`, the `name` array
    /// if there is one: the two align, and a null stands only beside a value.
    fn extension_items(
        &mut self,
        paired: Option<&'a Vec<Value>>,
        name: &'a str,
        items: &'a [Value],
        mut step: Step<'a>,
    ) {
        if let Some(paired) = paired.filter(|values| values.len() != items.len()) {
            let (ours, theirs) = (items.len(), paired.len());
            self.report(IssueType::Structure, Some(step), |p| {
                format!("'_{name}' has {ours} items but '{name}' has {theirs} at {p}; the arrays must align")
            });
        }
        for (index, item) in items.iter().enumerate() {
            step.index = Some(index);
            self.path.push(step);
            let has_value = paired.and_then(|values| values.get(index)).is_some();
            if !(item.is_null() && has_value) {
                self.element_extensions(name, item);
            }
            self.path.pop();
        }
    }

    /// Checks one item of `_name`: an object holding `id` and `extension`.
    fn element_extensions(&mut self, name: &str, value: &'a Value) {
        let Some(map) = value.as_object() else {
            let found = describe(value);
            self.report(IssueType::Structure, None, |p| {
                format!("'_{name}' at {p} must be a JSON object holding id and extension, found {found}")
            });
            return;
        };
        if let Some(table) = self.validator.element {
            self.object(map, table, 0, false);
        }
    }

    /// Checks one value (not null) of an element.
    fn item(&mut self, value: &'a Value, content: Content) {
        let validator = self.validator;
        match content {
            Content::Primitive(rule) => {
                if let Err(problem) = validator.primitives[rule].check(value) {
                    self.report(problem.code, None, |p| format!("{p} {}", problem.text));
                }
            }
            Content::Complex { table, element } => match value {
                Value::Object(map) => self.object(map, table, element, false),
                other => {
                    let table = &validator.tables[table];
                    let label = if element == 0 {
                        &table.type_name
                    } else {
                        &table.element(element).path
                    };
                    let found = describe(other);
                    self.report(IssueType::Structure, None, |p| {
                        format!("{p} must be a JSON object ({label}), found {found}")
                    });
                }
            },
            Content::Resource => self.resource(value),
        }
    }

    /// Notes that `element` was met through property `key` (without `_`) with
    /// `count` values; a second type of the same choice element is an error.
    fn record(&mut self, mark: usize, element: usize, key: &'a str, count: usize, step: Step<'a>) {
        let Some(at) = self.seen[mark..].iter().position(|s| s.element == element) else {
            self.seen.push(Seen {
                element,
                key,
                count,
            });
            return;
        };
        let seen = &mut self.seen[mark + at];
        if seen.key == key {
            seen.count = seen.count.max(count);
            return;
        }
        let first = seen.key;
        self.report(IssueType::Structure, Some(step), |p| {
            format!(
                "{p}: '{first}' and '{key}' are both present, but a choice element takes one type"
            )
        });
    }

    /// Checks min and max of every child of `parent` against what was met.
    fn check_cardinality(&mut self, table: usize, parent: usize, mark: usize) {
        let validator = self.validator;
        let table = &validator.tables[table];
        for &child in table.required(parent) {
            let element = table.element(child);
            let count = self.seen[mark..]
                .iter()
                .find(|s| s.element == child)
                .map(|s| s.count);
            let min = element.min as usize;
            match count {
                None => self.report(IssueType::Required, Some(Step::to(&element.name)), |p| {
                    format!("{p} is required (min {min}) but missing")
                }),
                Some(count) if count > 0 && count < min => {
                    self.report(IssueType::Required, Some(Step::to(&element.name)), |p| {
                        format!("{p} has {count} values but needs at least {min}")
                    });
                }
                Some(_) => {}
            }
        }
        for at in mark..self.seen.len() {
            let Seen { element, count, .. } = self.seen[at];
            let element = table.element(element);
            match element.max {
                Some(max) if element.repeats() && count > max as usize => {
                    self.report(IssueType::Structure, Some(Step::to(&element.name)), |p| {
                        format!("{p} has {count} values but allows at most {max}")
                    });
                }
                _ => {}
            }
        }
    }

    /// Adds an error located at the current path followed by `extra`; the text
    /// is built from the rendered path.
    fn report(
        &mut self,
        code: IssueType,
        extra: Option<Step<'_>>,
        text: impl FnOnce(&str) -> String,
    ) {
        let location = self.path.render(extra);
        let issue = Issue::error(code, text(&location)).at(location);
        self.issues.push(issue);
    }
}

/// Whether the `_name` array of `map` has a non-null item at `index`.
fn has_extension_at(map: &Map<String, Value>, name: &str, index: usize) -> bool {
    map.iter().any(|(key, value)| {
        key.strip_prefix('_') == Some(name) && value.get(index).is_some_and(|item| !item.is_null())
    })
}
