//! FHIRPath Patch: a Parameters resource of `operation`s (`add`, `insert`,
//! `delete`, `replace`, `move`) whose `path`s are FHIRPath expressions.
//! <https://hl7.org/fhir/R4/fhirpatch.html>
//!
//! Each path is evaluated on the resource as it stands after the operations
//! before it; the nodes it selects are found again in the JSON by identity,
//! which gives their JSON Pointer for the change.

use serde_json::{Map, Value};
use tillit_fhirpath::{Environment, Expression};
use tillit_model::{Issue, IssueType};

use tillit_conformance::StructureValidator;

use crate::index::SearchIndex;
use crate::Error;

/// One operation of the patch.
#[derive(Debug, Default)]
struct Operation {
    kind: String,
    path: String,
    name: Option<String>,
    value: Option<Value>,
    index: Option<usize>,
    source: Option<usize>,
    destination: Option<usize>,
}

/// Applies the FHIRPath Patch `parameters` to `resource`.
pub fn apply(
    index: &SearchIndex,
    validator: &StructureValidator,
    mut resource: Value,
    parameters: &Value,
) -> Result<Value, Error> {
    if parameters.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(invalid("A FHIRPath Patch body is a Parameters resource"));
    }
    let operations = parameters
        .get("parameter")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (n, parameter) in operations.iter().enumerate() {
        if parameter.get("name").and_then(Value::as_str) != Some("operation") {
            return Err(invalid(&format!(
                "parameter {n} of the patch is not named 'operation'"
            )));
        }
        let operation = read_operation(parameter)
            .map_err(|problem| invalid(&format!("operation {n}: {problem}")))?;
        resource = run(index, validator, resource, &operation).map_err(|problem| {
            unprocessable(&format!("operation {n} ({}): {problem}", operation.kind))
        })?;
    }
    Ok(resource)
}

fn read_operation(parameter: &Value) -> Result<Operation, String> {
    let mut operation = Operation::default();
    for part in parameter
        .get("part")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = part.get("name").and_then(Value::as_str).unwrap_or_default();
        let text = || value_of(part).and_then(|v| v.as_str().map(str::to_owned));
        let number = || value_of(part).and_then(|v| v.as_u64()).map(|n| n as usize);
        match name {
            "type" => operation.kind = text().ok_or("type has no code")?,
            "path" => operation.path = text().ok_or("path has no string")?,
            "name" => operation.name = text(),
            "value" => operation.value = value_of(part),
            "index" => operation.index = number(),
            "source" => operation.source = number(),
            "destination" => operation.destination = number(),
            other => return Err(format!("unknown part '{other}'")),
        }
    }
    if operation.path.is_empty() {
        return Err("an operation needs a path".into());
    }
    Ok(operation)
}

/// The value a part carries: its `value[x]`, or an object built from its
/// own parts (complex values without a FHIR type of their own).
fn value_of(part: &Value) -> Option<Value> {
    if let Some(object) = part.as_object() {
        if let Some((_, value)) = object.iter().find(|(k, _)| k.starts_with("value")) {
            return Some(value.clone());
        }
        if let Some(parts) = object.get("part").and_then(Value::as_array) {
            let mut built = Map::new();
            for sub in parts {
                let Some(name) = sub.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let Some(value) = value_of(sub) else {
                    continue;
                };
                match built.get_mut(name) {
                    Some(Value::Array(items)) => items.push(value),
                    Some(existing) => *existing = Value::Array(vec![existing.clone(), value]),
                    None => {
                        built.insert(name.to_owned(), value);
                    }
                }
            }
            return Some(Value::Object(built));
        }
    }
    None
}

/// The JSON Pointer segments of the nodes `path` selects in `resource`.
fn locate(index: &SearchIndex, resource: &Value, path: &str) -> Result<Vec<Vec<Segment>>, String> {
    let expression = Expression::parse(path).map_err(|e| e.to_string())?;
    let env = Environment::new(index.model());
    let items = expression
        .evaluate(resource, &env)
        .map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    for item in items.iter() {
        let Some(node) = item.json() else {
            return Err(format!("'{path}' selects a value that is not an element"));
        };
        let mut trail = Vec::new();
        if find(resource, node, &mut trail) {
            found.push(trail);
        } else {
            return Err(format!("'{path}' selects a value that is not an element"));
        }
    }
    Ok(found)
}

/// One step of a JSON Pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Finds `target` inside `value` by identity, recording the way there.
fn find(value: &Value, target: &Value, trail: &mut Vec<Segment>) -> bool {
    if std::ptr::eq(value, target) {
        return true;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                trail.push(Segment::Key(key.clone()));
                if find(child, target, trail) {
                    return true;
                }
                trail.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                trail.push(Segment::Index(i));
                if find(child, target, trail) {
                    return true;
                }
                trail.pop();
            }
        }
        _ => {}
    }
    false
}

fn at_mut<'v>(value: &'v mut Value, trail: &[Segment]) -> Option<&'v mut Value> {
    trail.iter().try_fold(value, |v, segment| match segment {
        Segment::Key(k) => v.get_mut(k.as_str()),
        Segment::Index(i) => v.get_mut(*i),
    })
}

fn single(found: Vec<Vec<Segment>>, path: &str) -> Result<Vec<Segment>, String> {
    let mut found = found;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!("'{path}' selects nothing")),
        n => Err(format!("'{path}' selects {n} elements; one is needed")),
    }
}

fn run(
    index: &SearchIndex,
    validator: &StructureValidator,
    mut resource: Value,
    op: &Operation,
) -> Result<Value, String> {
    let found = locate(index, &resource, &op.path)?;
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match op.kind.as_str() {
        "add" => {
            let trail = single(found, &op.path)?;
            let name = op.name.as_deref().ok_or("add needs a name")?;
            let value = op.value.clone().ok_or("add needs a value")?;
            let target = at_mut(&mut resource, &trail).ok_or("the path vanished")?;
            let Some(object) = target.as_object_mut() else {
                return Err(format!("'{}' is not an element that has children", op.path));
            };
            match object.get_mut(name) {
                Some(Value::Array(items)) => items.push(value),
                Some(_) => return Err(format!("'{name}' is already present and does not repeat")),
                None => {
                    let mut path: Vec<&str> = trail
                        .iter()
                        .filter_map(|s| match s {
                            Segment::Key(k) => Some(k.as_str()),
                            Segment::Index(_) => None,
                        })
                        .collect();
                    path.push(name);
                    let repeats = validator.repeats(&resource_type, &path).unwrap_or(false);
                    object.insert(
                        name.to_owned(),
                        if repeats {
                            Value::Array(vec![value])
                        } else {
                            value
                        },
                    );
                }
            }
        }
        "insert" => {
            let list = list_element(found, &op.path)?;
            let at = op.index.ok_or("insert needs an index")?;
            let value = op.value.clone().ok_or("insert needs a value")?;
            let items = list_mut(&mut resource, &list)?;
            if at > items.len() {
                return Err(format!("index {at} is beyond the {} items", items.len()));
            }
            items.insert(at, value);
        }
        "delete" => {
            if found.is_empty() {
                return Ok(resource);
            }
            let trail = single(found, &op.path)?;
            remove(&mut resource, &trail)?;
        }
        "replace" => {
            let trail = single(found, &op.path)?;
            let value = op.value.clone().ok_or("replace needs a value")?;
            let target = at_mut(&mut resource, &trail).ok_or("the path vanished")?;
            *target = value;
        }
        "move" => {
            let list = list_element(found, &op.path)?;
            let (from, to) = (
                op.source.ok_or("move needs a source")?,
                op.destination.ok_or("move needs a destination")?,
            );
            let items = list_mut(&mut resource, &list)?;
            if from >= items.len() || to >= items.len() {
                return Err(format!(
                    "source or destination is beyond the {} items",
                    items.len()
                ));
            }
            let item = items.remove(from);
            items.insert(to, item);
        }
        other => return Err(format!("'{other}' is not a patch operation")),
    }
    Ok(resource)
}

/// The JSON array a list path (`Patient.identifier`) selects items of: the
/// trail of the array itself, taken from the first item.
fn list_element(found: Vec<Vec<Segment>>, path: &str) -> Result<Vec<Segment>, String> {
    let first = found
        .into_iter()
        .next()
        .ok_or_else(|| format!("'{path}' selects nothing"))?;
    match first.split_last() {
        Some((Segment::Index(_), list)) => Ok(list.to_vec()),
        _ => Err(format!("'{path}' is not a repeating element")),
    }
}

fn list_mut<'v>(resource: &'v mut Value, trail: &[Segment]) -> Result<&'v mut Vec<Value>, String> {
    at_mut(resource, trail)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| "the list vanished".to_owned())
}

/// Removes the element at `trail`, and its array or key when that empties it.
fn remove(resource: &mut Value, trail: &[Segment]) -> Result<(), String> {
    let Some((last, parent)) = trail.split_last() else {
        return Err("the whole resource cannot be deleted by a patch".into());
    };
    let container = at_mut(resource, parent).ok_or("the path vanished")?;
    match (last, container) {
        (Segment::Index(i), Value::Array(items)) => {
            items.remove(*i);
            if items.is_empty() {
                return remove(resource, parent);
            }
        }
        (Segment::Key(k), Value::Object(map)) => {
            map.remove(k);
        }
        _ => return Err("the path vanished".into()),
    }
    Ok(())
}

fn invalid(text: &str) -> Error {
    Error::invalid(Issue::error(IssueType::Invalid, text.to_owned()))
}

fn unprocessable(text: &str) -> Error {
    Error::Unprocessable(vec![Issue::error(IssueType::Processing, text.to_owned())])
}
