//! `CodeSystem/$lookup`: what a code system says about one code — its
//! display, definition, designations and properties, with its parents and
//! children. <https://hl7.org/fhir/R4/codesystem-operation-lookup.html>

use serde_json::{json, Value};

use crate::{Scope, TxError};

/// Looks up `code` in code system `system` (at `version`, or its latest);
/// `properties` names the properties wanted (`*` or none: all).
pub fn lookup(
    scope: &Scope,
    system: &str,
    version: Option<&str>,
    code: &str,
    properties: &[String],
) -> Result<Value, TxError> {
    let Some(cs) = scope.code_system(system, version) else {
        let what = match version {
            Some(version) => format!("'{system}' version '{version}'"),
            None => format!("'{system}'"),
        };
        return Err(TxError::not_found(format!(
            "A definition for CodeSystem {what} could not be found, so the code cannot be looked up"
        )));
    };
    let Some(index) = cs.index(code) else {
        return Err(TxError::not_found(match &cs.version {
            Some(version) => format!(
                "Unknown code '{code}' in the CodeSystem '{}' version '{version}'",
                cs.url
            ),
            None => format!("Unknown code '{code}' in the CodeSystem '{}'", cs.url),
        }));
    };
    let concept = &cs.concepts[index];
    let wanted =
        |name: &str| properties.is_empty() || properties.iter().any(|p| p == "*" || p == name);
    let mut parameters = vec![
        json!({"name": "code", "valueCode": concept.code}),
        json!({"name": "system", "valueUri": cs.url}),
        json!({"name": "name", "valueString": cs.name.as_deref().unwrap_or(&cs.url)}),
        json!({"name": "abstract", "valueBoolean": concept.abstract_}),
    ];
    if let Some(version) = &cs.version {
        parameters.push(json!({"name": "version", "valueString": version}));
    }
    if let Some(display) = &concept.display {
        parameters.push(json!({"name": "display", "valueString": display}));
    }
    if let Some(definition) = concept.definition.as_ref().filter(|_| wanted("definition")) {
        parameters.push(json!({"name": "definition", "valueString": definition}));
    }
    if wanted("designation") {
        // The display is the designation preferred for the code system's language.
        if let (Some(display), Some(language)) = (&concept.display, &cs.language) {
            parameters.push(json!({"name": "designation", "part": [
                {"name": "language", "valueCode": language},
                {"name": "use", "valueCoding": {
                    "system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
                    "code": "preferredForLanguage",
                    "display": "Preferred For Language"
                }},
                {"name": "value", "valueString": display},
            ]}));
        }
        for designation in &concept.designations {
            let mut parts = Vec::new();
            if let Some(language) = &designation.language {
                parts.push(json!({"name": "language", "valueCode": language}));
            }
            if let Some(use_) = &designation.use_ {
                parts.push(json!({"name": "use", "valueCoding": use_}));
            }
            parts.push(json!({"name": "value", "valueString": designation.value}));
            parameters.push(json!({"name": "designation", "part": parts}));
        }
    }
    let property = |code: &str, value: Value, description: Option<&str>| {
        let mut parts = vec![json!({"name": "code", "valueCode": code})];
        let mut value_part = value;
        value_part["name"] = json!("value");
        parts.push(value_part);
        if let Some(description) = description {
            parts.push(json!({"name": "description", "valueString": description}));
        }
        json!({"name": "property", "part": parts})
    };
    for (code, value) in &concept.properties {
        if matches!(code.as_str(), "parent" | "child") || !wanted(code) {
            continue;
        }
        parameters.push(property(code, value.clone(), None));
    }
    if wanted("inactive") && concept.property("inactive").is_none() {
        parameters.push(property(
            "inactive",
            json!({"valueBoolean": concept.inactive}),
            None,
        ));
    }
    if wanted("parent") {
        for &parent in &concept.parents {
            let parent = &cs.concepts[parent];
            parameters.push(property(
                "parent",
                json!({"valueCode": parent.code}),
                parent.display.as_deref(),
            ));
        }
    }
    if wanted("child") {
        for &child in &concept.children {
            let child = &cs.concepts[child];
            parameters.push(property(
                "child",
                json!({"valueCode": child.code}),
                child.display.as_deref(),
            ));
        }
    }
    Ok(json!({"resourceType": "Parameters", "parameter": parameters}))
}
