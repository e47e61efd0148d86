//! `ConceptMap/$translate`: the codes that ConceptMaps map a code to (or,
//! reversed, from), in R4's shape with R5's names accepted on the way in.
//! ConceptMaps in R4 (`equivalence`) and R5 (`relationship`) form are read.
//! <https://hl7.org/fhir/R4/conceptmap-operation-translate.html>

use serde_json::{json, Value};

use crate::code_system::array;
use crate::expand::canonical_of;
use crate::{split_version, Scope, TxError};

/// A `$translate` request, parameters read.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Only this ConceptMap (`url`), if given.
    pub map: Option<String>,
    /// The system of the code to translate.
    pub system: Option<String>,
    /// The code to translate.
    pub code: String,
    /// Only mappings into this system (`targetsystem`; the source system when reversed).
    pub target_system: Option<String>,
    /// Translate from target to source (`reverse`, or R5's `targetCode`).
    pub reverse: bool,
}

/// Runs `$translate`.
pub fn translate(scope: &Scope, request: &Request) -> Result<Value, TxError> {
    let maps = scope.concept_maps(request.map.as_deref());
    if let (Some(url), true) = (&request.map, maps.is_empty()) {
        return Err(TxError::not_found(format!(
            "A definition for the ConceptMap '{url}' could not be found"
        )));
    }
    let mut matches = Vec::new();
    for map in &maps {
        let origin = canonical_of(map);
        for group in array(map, "group") {
            let text = |key: &str| {
                group
                    .get(key)
                    .and_then(Value::as_str)
                    .map(|s| split_version(s).0)
            };
            let (source, target) = (text("source"), text("target"));
            let (from, to) = if request.reverse {
                (target, source)
            } else {
                (source, target)
            };
            if request.system.is_some() && from != request.system.as_deref() {
                continue;
            }
            if request.target_system.is_some() && to != request.target_system.as_deref() {
                continue;
            }
            for element in array(group, "element") {
                for mapped in array(element, "target") {
                    let (element_code, target_code) = (
                        element.get("code").and_then(Value::as_str),
                        mapped.get("code").and_then(Value::as_str),
                    );
                    let (input, output) = if request.reverse {
                        (target_code, element_code)
                    } else {
                        (element_code, target_code)
                    };
                    if input != Some(request.code.as_str()) {
                        continue;
                    }
                    let equivalence = equivalence(mapped);
                    if equivalence == "unmatched" || equivalence == "disjoint" {
                        continue;
                    }
                    let mut parts = Vec::new();
                    if request.reverse {
                        parts.push(
                            json!({"name": "concept", "valueCoding": coding(from, &request.code)}),
                        );
                        parts.push(json!({"name": "source", "valueCoding": coding(to, output.unwrap_or_default())}));
                    } else {
                        let mut concept = coding(to, output.unwrap_or_default());
                        if let Some(display) = mapped.get("display") {
                            concept["display"] = display.clone();
                        }
                        parts.push(json!({"name": "concept", "valueCoding": concept}));
                    }
                    parts.push(json!({"name": "equivalence", "valueCode": equivalence}));
                    parts.push(json!({"name": "originMap", "valueCanonical": origin}));
                    matches.push(json!({"name": "match", "part": parts}));
                }
            }
        }
    }
    let mut parameters = vec![json!({"name": "result", "valueBoolean": !matches.is_empty()})];
    if matches.is_empty() {
        parameters.push(json!({"name": "message", "valueString": format!(
            "No translations found for {}#{}",
            request.system.as_deref().unwrap_or_default(),
            request.code
        )}));
    }
    parameters.extend(matches);
    Ok(json!({"resourceType": "Parameters", "parameter": parameters}))
}

fn coding(system: Option<&str>, code: &str) -> Value {
    match system {
        Some(system) => json!({"system": system, "code": code}),
        None => json!({"code": code}),
    }
}

/// A mapping's R4 equivalence, from R4's `equivalence` or R5's `relationship`.
fn equivalence(target: &Value) -> &str {
    if let Some(equivalence) = target.get("equivalence").and_then(Value::as_str) {
        return equivalence;
    }
    match target.get("relationship").and_then(Value::as_str) {
        Some("equivalent") => "equivalent",
        Some("source-is-narrower-than-target") => "wider",
        Some("source-is-broader-than-target") => "narrower",
        Some("not-related-to") => "unmatched",
        _ => "relatedto",
    }
}
