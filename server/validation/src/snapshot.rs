//! Snapshot generation: a profile that arrives with only a differential gets
//! its snapshot by laying the differential over its base's snapshot —
//! constraining elements, adding slices (copies of the sliced element and its
//! children) and unrolling data types where the differential reaches into them.
//! <https://hl7.org/fhir/R4/profiling.html#snapshot>

use serde_json::{Map, Value};

/// Where the definitions of bases and types come from.
pub(crate) trait Definitions {
    /// The snapshot elements of the definition with canonical URL `url`
    /// (generated first if it has none).
    fn snapshot_of(&self, url: &str) -> Option<Vec<Value>>;
}

/// A mistake in a differential: the index of its element and what is wrong.
#[derive(Debug)]
pub(crate) struct Problem {
    /// The index in `differential.element`.
    pub element: usize,
    /// What is wrong, for people.
    pub message: String,
}

/// The snapshot elements of `definition` from its differential and its base,
/// with the differential's mistakes: elements that match nothing in the base
/// (left out) and fixed values that contradict the base's. `None` when the
/// base is unknown.
pub(crate) fn generate(
    definition: &Value,
    definitions: &dyn Definitions,
) -> Option<(Vec<Value>, Vec<Problem>)> {
    let differential = definition.pointer("/differential/element")?.as_array()?;
    if definition.get("derivation").and_then(Value::as_str) == Some("specialization") {
        // A new type (a logical model): its differential defines every
        // element, with the cardinality an unconstrained element has.
        let mut elements = differential.clone();
        for element in &mut elements {
            if let Some(object) = element.as_object_mut() {
                object.entry("min").or_insert(0.into());
                object.entry("max").or_insert("*".into());
            }
        }
        return Some((elements, Vec::new()));
    }
    let base = definition.get("baseDefinition")?.as_str()?;
    let mut elements = definitions.snapshot_of(base)?;
    let original = elements.clone();
    let mut problems = Vec::new();
    for (n, diff) in differential.iter().enumerate() {
        let Some(path) = diff.get("path").and_then(Value::as_str) else {
            continue;
        };
        let id = diff
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(path)
            .to_owned();
        let index = match diff.get("sliceName").and_then(Value::as_str) {
            // A slice the base (or a copied subtree) has already is constrained further.
            Some(slice) if is_slice_id(&id, slice) => match position(&elements, &id) {
                Some(existing) => Some(existing),
                None => add_slice(&mut elements, &original, &id, slice, definitions),
            },
            _ => find_or_unroll(&mut elements, &id, definitions),
        };
        let unsliced: Vec<&str> = id
            .split('.')
            .map(|step| step.split_once(':').map_or(step, |(name, _)| name))
            .collect();
        if unsliced.join(".") != path {
            problems.push(Problem {
                element: n,
                message: format!(
                    "the differential element {id} has the path {path}, which its id does not name"
                ),
            });
        }
        let Some(index) = index else {
            problems.push(Problem {
                element: n,
                message: format!(
                    "the differential element {id} could not be placed on the base {base}: it names no element there, or one inside a choice of several types, which snapshots are not generated through"
                ),
            });
            continue;
        };
        if let Some(message) = contradicted_fixed_value(&elements[index], diff) {
            problems.push(Problem {
                element: n,
                message,
            });
        }
        merge(&mut elements[index], diff);
    }
    Some((elements, problems))
}

/// Why `diff` cannot constrain `base`: a fixed value other than the one the
/// base fixes already (a derived profile can narrow, never change, a value).
fn contradicted_fixed_value(base: &Value, diff: &Value) -> Option<String> {
    let fixed = |element: &Value| {
        element
            .as_object()?
            .iter()
            .find(|(k, _)| k.starts_with("fixed") && is_value_rule(k))
            .map(|(_, v)| v.clone())
    };
    let (old, new) = (fixed(base)?, fixed(diff)?);
    (old != new).then(|| {
        format!(
            "{} is fixed to {new} here, but to {old} in the base: a profile cannot change a fixed value",
            id_of(diff)
        )
    })
}

/// Whether `id` names slice `slice` itself (`a.b:slice`), not one of its children.
fn is_slice_id(id: &str, slice: &str) -> bool {
    id.rsplit('.').next().is_some_and(|last| {
        last.rsplit_once(':')
            .is_some_and(|(_, name)| name == slice || name.ends_with(&format!("/{slice}")))
    })
}

fn id_of(element: &Value) -> &str {
    element
        .get("id")
        .and_then(Value::as_str)
        .or_else(|| element.get("path").and_then(Value::as_str))
        .unwrap_or_default()
}

fn position(elements: &[Value], id: &str) -> Option<usize> {
    elements.iter().position(|e| id_of(e) == id)
}

/// The index of element `id`, unrolling the data type of an ancestor when the
/// base lists no children for it, and mapping a typed choice name
/// (`valueQuantity`) to its choice element (`value[x]`).
fn find_or_unroll(
    elements: &mut Vec<Value>,
    id: &str,
    definitions: &dyn Definitions,
) -> Option<usize> {
    if let Some(found) = position(elements, id) {
        return Some(found);
    }
    let (parent, name) = id.rsplit_once('.')?;
    let parent_index = find_or_unroll(elements, parent, definitions)?;
    let prefix = format!("{parent}.");
    let has_children = elements.iter().any(|e| id_of(e).starts_with(&prefix));
    if !has_children {
        unroll(elements, parent_index, definitions)?;
        if let Some(found) = position(elements, id) {
            return Some(found);
        }
    }
    // `valueQuantity` in a differential stands for `value[x]`.
    let (name, slice) = match name.split_once(':') {
        Some((name, slice)) => (name, Some(slice)),
        None => (name, None),
    };
    let choice = elements.iter().position(|e| {
        id_of(e)
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix("[x]"))
            .is_some_and(|stem| {
                name.strip_prefix(stem)
                    .is_some_and(|suffix| allows_type(e, suffix))
            })
    })?;
    match slice {
        None => Some(choice),
        Some(_) => None,
    }
}

/// Whether choice element `choice` allows the type a typed name ends with
/// (`Quantity` of `valueQuantity`, `String` of `valueString`).
fn allows_type(choice: &Value, suffix: &str) -> bool {
    let mut letters = suffix.chars();
    let Some(first) = letters.next().filter(char::is_ascii_uppercase) else {
        return false;
    };
    let rest = letters.as_str();
    choice
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("code").and_then(Value::as_str))
        .any(|code| {
            let mut code_letters = code.chars();
            code_letters
                .next()
                .is_some_and(|c| c.eq_ignore_ascii_case(&first))
                && code_letters.as_str() == rest
        })
}

/// Inserts the children of element `index` after it, with ids and paths under
/// the element's own: those of its data type, or those the base definition
/// gives the element its `contentReference` names (`#Parameters.parameter`
/// for `parameter.part`).
fn unroll(elements: &mut Vec<Value>, index: usize, definitions: &dyn Definitions) -> Option<()> {
    let element = &elements[index];
    let id = id_of(element).to_owned();
    let path = element.get("path")?.as_str()?.to_owned();
    let (source, root_path, root_id) = match element.get("contentReference").and_then(Value::as_str)
    {
        Some(reference) => {
            // As the type's base definition has them: a profile's
            // constraints on the target are not meant for this element.
            let target = reference.strip_prefix('#')?;
            let type_name = target.split('.').next()?;
            let prefix = format!("{target}.");
            let children: Vec<Value> = definitions
                .snapshot_of(&format!(
                    "http://hl7.org/fhir/StructureDefinition/{type_name}"
                ))?
                .into_iter()
                .filter(|e| id_of(e).starts_with(&prefix))
                .collect();
            (children, target.to_owned(), target.to_owned())
        }
        None => {
            let types = element.get("type")?.as_array()?;
            let [ty] = types.as_slice() else {
                return None;
            };
            let url = match ty.pointer("/profile/0").and_then(Value::as_str) {
                Some(profile) => profile.to_owned(),
                None => format!(
                    "http://hl7.org/fhir/StructureDefinition/{}",
                    ty.get("code")?.as_str()?
                ),
            };
            let mut type_elements = definitions.snapshot_of(&url)?;
            let root = type_elements.remove(0);
            let root_path = root.get("path")?.as_str()?.to_owned();
            (type_elements, root_path, id_of(&root).to_owned())
        }
    };
    let children: Vec<Value> = source
        .into_iter()
        .map(|mut child| {
            let child_path = child
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let new_path = format!(
                "{path}{}",
                &child_path[root_path.len().min(child_path.len())..]
            );
            let child_id = id_of(&child).to_owned();
            let new_id = format!("{id}{}", &child_id[root_id.len().min(child_id.len())..]);
            child["path"] = new_path.into();
            child["id"] = new_id.into();
            child
        })
        .collect();
    let at = index + 1;
    elements.splice(at..at, children);
    Some(())
}

/// Adds slice `slice` of the element `id` names without its `:slice` (or the
/// slice it re-slices): a copy of that element as the base defines it
/// (`original`, when the base lists it) with its children as this profile has
/// them, after the element's existing children and slices. Returns the new
/// slice's index.
fn add_slice(
    elements: &mut Vec<Value>,
    original: &[Value],
    id: &str,
    slice: &str,
    definitions: &dyn Definitions,
) -> Option<usize> {
    let sliced = &id[..id.len() - slice.len() - 1];
    let sliced_index = find_or_unroll(elements, sliced, definitions)?;
    let child_prefix = format!("{sliced}.");
    let slice_prefix = format!("{sliced}:");
    let subtree = |from: &[Value]| -> Vec<Value> {
        from.iter()
            .filter(|e| {
                let eid = id_of(e);
                eid == sliced || eid.starts_with(&child_prefix)
            })
            .cloned()
            .collect()
    };
    // The slice itself starts as the base has the sliced element; its
    // children as this profile has constrained them so far.
    let mut own = subtree(elements);
    if let Some(base) = original.iter().find(|e| id_of(e) == sliced) {
        own[0] = base.clone();
    }
    let end = elements
        .iter()
        .enumerate()
        .skip(sliced_index + 1)
        .take_while(|(_, e)| {
            let eid = id_of(e);
            eid.starts_with(&child_prefix) || eid.starts_with(&slice_prefix)
        })
        .last()
        .map_or(sliced_index + 1, |(i, _)| i + 1);
    let copies: Vec<Value> = own
        .into_iter()
        .enumerate()
        .map(|(n, mut e)| {
            let eid = id_of(&e).to_owned();
            e["id"] = format!("{id}{}", &eid[sliced.len()..]).into();
            if let Some(object) = e.as_object_mut() {
                if n == 0 {
                    object.remove("slicing");
                    object.insert("sliceName".into(), slice.into());
                }
            }
            e
        })
        .collect();
    elements.splice(end..end, copies);
    Some(end)
}

/// Lays a differential element over a snapshot element: constraints and
/// mappings add up, everything else the differential states replaces the base's.
fn merge(target: &mut Value, diff: &Value) {
    let (Some(target), Some(diff)) = (target.as_object_mut(), diff.as_object()) else {
        return;
    };
    for (key, value) in diff {
        match key.as_str() {
            "id" | "path" => {}
            "constraint" | "mapping" => append(target, key, value),
            _ if is_value_rule(key) => {
                let prefix = if key.starts_with("fixed") {
                    "fixed"
                } else {
                    "pattern"
                };
                target.retain(|k, _| !k.starts_with(prefix) || !is_value_rule(k));
                target.insert(key.clone(), value.clone());
            }
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// `fixed[x]` and `pattern[x]` properties (`fixedUri`, `patternCodeableConcept`).
fn is_value_rule(key: &str) -> bool {
    ["fixed", "pattern"].iter().any(|p| {
        key.strip_prefix(p)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

fn append(target: &mut Map<String, Value>, key: &str, value: &Value) {
    let Some(new) = value.as_array() else { return };
    let existing = target
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(items) = existing.as_array_mut() {
        for item in new {
            let same_key =
                item.get("key").is_some() && items.iter().any(|i| i.get("key") == item.get("key"));
            if !same_key && !items.contains(item) {
                items.push(item.clone());
            }
        }
    }
}
