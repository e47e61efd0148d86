//! Conformance resources as pages for people: a StructureDefinition, ValueSet or
//! CodeSystem read with `Accept: text/html` (what a browser sends) is answered
//! with a readable page — a profile's element tree with cardinality, types,
//! bindings, constraints and slices; a value set's rules; a code system's codes —
//! while machines get FHIR JSON from the same URL. Every text from the resource
//! is escaped. (Seed 000 §5.8: definitions resolvable at their canonical URL.)

use std::fmt::Write;

use serde_json::Value;

/// Whether a resource of this type has a page.
pub fn has_page(resource_type: &str) -> bool {
    matches!(
        resource_type,
        "StructureDefinition" | "ValueSet" | "CodeSystem"
    )
}

/// How many codes of a value set's expansion its page lists.
pub const EXPANSION_ROWS: usize = 1_000;

/// The page of `resource`, a StructureDefinition, ValueSet or CodeSystem; a
/// value set's page shows `expansion` (the ValueSet expanded, or why it cannot be).
pub fn render(resource: &Value, expansion: Option<&Result<Value, String>>) -> String {
    let text = |key: &str| {
        resource
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let title = match text("title") {
        "" => text("name"),
        title => title,
    };
    let mut page = String::with_capacity(64 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\
         <h1>{}</h1><dl><dt>Canonical URL</dt><dd><code>{}</code></dd><dt>Version</dt><dd>{}</dd><dt>Status</dt><dd>{}</dd></dl><p>{}</p>",
        escape(title),
        escape(title),
        escape(text("url")),
        escape(text("version")),
        escape(text("status")),
        escape(text("description")),
    );
    match text("resourceType") {
        "StructureDefinition" => structure(resource, &mut page),
        "ValueSet" => {
            value_set(resource, &mut page);
            if let Some(expansion) = expansion {
                expanded(expansion, &mut page);
            }
        }
        _ => code_system(resource, &mut page),
    }
    page.push_str("<p class=\"json\">The same URL answers <code>Accept: application/fhir+json</code> with the resource itself.</p></body></html>");
    page
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;width:100%}\
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}\
th{background:#f3f3f3}code{font-size:.85rem}.slice{color:#555;font-style:italic}.json{color:#666;margin-top:2rem}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}";

/// The element tree of a profile or type, from its snapshot.
fn structure(definition: &Value, page: &mut String) {
    let _ = write!(
        page,
        "<p>Constrains <code>{}</code> (base: <code>{}</code>).</p><table><thead><tr><th>Element</th><th>Card.</th><th>Type</th><th>Binding</th><th>Constraints and values</th><th>Description</th></tr></thead><tbody>",
        escape(definition.get("type").and_then(Value::as_str).unwrap_or_default()),
        escape(definition.get("baseDefinition").and_then(Value::as_str).unwrap_or("none")),
    );
    let elements = definition
        .pointer("/snapshot/element")
        .or_else(|| definition.pointer("/differential/element"))
        .and_then(Value::as_array);
    for element in elements.into_iter().flatten() {
        let text = |key: &str| element.get(key).and_then(Value::as_str).unwrap_or_default();
        let id = match text("id") {
            "" => text("path"),
            id => id,
        };
        let depth = id.matches('.').count();
        let last = id.rsplit('.').next().unwrap_or(id);
        let name = match last.split_once(':') {
            Some((name, slice)) => format!(
                "{} <span class=\"slice\">slice {}</span>",
                escape(name),
                escape(slice)
            ),
            None => escape(last),
        };
        let max = text("max");
        let card = match element.get("min").and_then(Value::as_u64) {
            Some(min) => format!("{min}..{}", escape(max)),
            None => String::new(),
        };
        let types: Vec<String> = element
            .get("type")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| {
                let code = t.get("code").and_then(Value::as_str).unwrap_or_default();
                let profiles: Vec<String> = ["profile", "targetProfile"]
                    .iter()
                    .flat_map(|k| {
                        t.get(*k)
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                    })
                    .filter_map(|p| {
                        p.as_str()
                            .map(|p| escape(p.rsplit('/').next().unwrap_or(p)))
                    })
                    .collect();
                if profiles.is_empty() {
                    escape(code)
                } else {
                    format!("{}({})", escape(code), profiles.join(" | "))
                }
            })
            .collect();
        let binding = element
            .get("binding")
            .map(|b| {
                format!(
                    "{} <code>{}</code>",
                    escape(
                        b.get("strength")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    ),
                    escape(
                        b.get("valueSet")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    )
                )
            })
            .unwrap_or_default();
        let mut rules: Vec<String> = element
            .get("constraint")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let key = c.get("key")?.as_str()?;
                let human = c.get("human").and_then(Value::as_str).unwrap_or_default();
                Some(format!(
                    "<abbr title=\"{}\">{}</abbr>",
                    escape(human),
                    escape(key)
                ))
            })
            .collect();
        if let Some(slicing) = element.get("slicing") {
            let by: Vec<String> = slicing
                .get("discriminator")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| {
                    format!(
                        "{} {}",
                        d.get("type").and_then(Value::as_str).unwrap_or_default(),
                        d.get("path").and_then(Value::as_str).unwrap_or_default()
                    )
                })
                .collect();
            rules.push(format!(
                "sliced by {} ({})",
                escape(&by.join(", ")),
                escape(
                    slicing
                        .get("rules")
                        .and_then(Value::as_str)
                        .unwrap_or("open")
                )
            ));
        }
        if let Some(object) = element.as_object() {
            for (key, value) in object {
                if key.starts_with("fixed") || key.starts_with("pattern") {
                    rules.push(format!(
                        "{} <code>{}</code>",
                        escape(key),
                        escape(&value.to_string())
                    ));
                }
            }
        }
        let _ = write!(
            page,
            "<tr><td style=\"padding-left:{}rem\">{name}</td><td>{card}</td><td>{}</td><td>{binding}</td><td>{}</td><td>{}</td></tr>",
            0.5 + depth as f32 * 1.2,
            types.join(", "),
            rules.join("; "),
            escape(text("short")),
        );
    }
    page.push_str("</tbody></table>");
}

/// A value set's rules: what it includes and excludes.
fn value_set(value_set: &Value, page: &mut String) {
    for (key, label) in [("include", "Includes"), ("exclude", "Excludes")] {
        let parts = value_set
            .pointer(&format!("/compose/{key}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if parts.is_empty() {
            continue;
        }
        let _ = write!(page, "<h2>{label}</h2><ul>");
        for part in parts {
            let system = part.get("system").and_then(Value::as_str).unwrap_or("");
            let mut line = if system.is_empty() {
                String::from("codes of")
            } else {
                format!("codes from <code>{}</code>", escape(system))
            };
            let concepts: Vec<String> = part
                .get("concept")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "<code>{}</code> {}",
                        escape(c.get("code").and_then(Value::as_str).unwrap_or_default()),
                        escape(c.get("display").and_then(Value::as_str).unwrap_or_default())
                    )
                })
                .collect();
            if !concepts.is_empty() {
                let _ = write!(line, ": {}", concepts.join(", "));
            }
            for filter in part
                .get("filter")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let _ = write!(
                    line,
                    " where {} {} {}",
                    escape(
                        filter
                            .get("property")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    ),
                    escape(filter.get("op").and_then(Value::as_str).unwrap_or_default()),
                    escape(
                        filter
                            .get("value")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    )
                );
            }
            for imported in part
                .get("valueSet")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let _ = write!(
                    line,
                    " in value set <code>{}</code>",
                    escape(imported.as_str().unwrap_or_default())
                );
            }
            let _ = write!(page, "<li>{line}</li>");
        }
        page.push_str("</ul>");
    }
}

/// A value set's codes, as its expansion lists them (the first ones only of a long one).
fn expanded(expansion: &Result<Value, String>, page: &mut String) {
    let expanded = match expansion {
        Ok(expanded) => expanded,
        Err(why) => {
            let _ = write!(
                page,
                "<h2>Expansion</h2><p>Not expanded: {}</p>",
                escape(why)
            );
            return;
        }
    };
    let total = expanded
        .pointer("/expansion/total")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let rows = expanded
        .pointer("/expansion/contains")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let _ = write!(page, "<h2>Expansion</h2><p>{total} codes");
    if (rows.len() as u64) < total {
        let _ = write!(page, "; the first {} are listed", rows.len());
    }
    page.push_str(
        ".</p><table><thead><tr><th>Code</th><th>Display</th><th>System</th></tr></thead><tbody>",
    );
    for row in rows {
        let text = |key: &str| escape(row.get(key).and_then(Value::as_str).unwrap_or_default());
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
            text("code"),
            text("display"),
            text("system")
        );
    }
    page.push_str("</tbody></table>");
}

/// A code system's codes, nested concepts indented.
fn code_system(code_system: &Value, page: &mut String) {
    page.push_str(
        "<table><thead><tr><th>Code</th><th>Display</th><th>Definition</th></tr></thead><tbody>",
    );
    concepts(code_system.get("concept"), 0, page);
    page.push_str("</tbody></table>");
}

fn concepts(list: Option<&Value>, depth: usize, page: &mut String) {
    for concept in list.and_then(Value::as_array).into_iter().flatten() {
        let text = |key: &str| escape(concept.get(key).and_then(Value::as_str).unwrap_or_default());
        let _ = write!(
            page,
            "<tr><td style=\"padding-left:{}rem\"><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            0.5 + depth as f32 * 1.2,
            text("code"),
            text("display"),
            text("definition")
        );
        concepts(concept.get("concept"), depth + 1, page);
    }
}

/// `text` with HTML's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;
    use serde_json::json;

    #[test]
    fn pages_show_the_element_tree_and_escape_everything() {
        let definition = json!({"resourceType": "StructureDefinition", "name": "<script>x</script>",
            "url": "http://x/sd", "type": "Patient",
            "snapshot": {"element": [
                {"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
                {"id": "Patient.name", "path": "Patient.name", "min": 1, "max": "*", "type": [{"code": "HumanName"}],
                 "constraint": [{"key": "pat-1", "human": "a \"name\""}]},
                {"id": "Patient.identifier:fnr", "path": "Patient.identifier", "min": 0, "max": "1"}]}});
        let page = render(&definition, None);
        assert!(!page.contains("<script>x"), "escaped");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("1..*") && page.contains("HumanName") && page.contains("pat-1"));
        assert!(page.contains("slice fnr"));
    }

    #[test]
    fn value_set_pages_list_the_expansion_or_say_why_not() {
        let value_set = json!({"resourceType": "ValueSet", "name": "Colours", "url": "http://x/vs",
            "compose": {"include": [{"system": "http://x/cs"}]}});
        let expanded = json!({"expansion": {"total": 2, "contains": [
            {"system": "http://x/cs", "code": "red", "display": "Red <b>"}]}});
        let page = render(&value_set, Some(&Ok(expanded)));
        assert!(page.contains("2 codes; the first 1 are listed"));
        assert!(page.contains("<code>red</code>") && page.contains("Red &lt;b&gt;"));
        let page = render(&value_set, Some(&Err("unknown system".into())));
        assert!(page.contains("Not expanded: unknown system"));
    }
}
