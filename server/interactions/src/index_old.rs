//! The index rows written with each version, for the search parameters this
//! release supports without FHIRPath: `identifier`, `url`, `version`, `name`,
//! `_tag`, `_profile` and `_security`.

use serde_json::Value;
use tillit_store::TokenRow;

/// The index rows of `resource`.
pub(crate) fn tokens(resource: &Value) -> Vec<TokenRow> {
    let mut rows = Vec::new();
    let Some(object) = resource.as_object() else {
        return rows;
    };
    if let Some(identifiers) = object.get("identifier") {
        for identifier in one_or_many(identifiers) {
            if let Some(value) = identifier.get("value").and_then(Value::as_str) {
                let system = identifier
                    .get("system")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                rows.push(row("identifier", system, value));
            }
        }
    }
    for param in ["url", "version"] {
        if let Some(value) = object.get(param).and_then(Value::as_str) {
            rows.push(row(param, "", value));
        }
    }
    if let Some(name) = object.get("name").and_then(Value::as_str) {
        rows.push(row("name", "", &normalize(name)));
    }
    if let Some(meta) = object.get("meta") {
        for (element, param) in [("tag", "_tag"), ("security", "_security")] {
            for coding in meta.get(element).map(one_or_many).into_iter().flatten() {
                if let Some(code) = coding.get("code").and_then(Value::as_str) {
                    let system = coding.get("system").and_then(Value::as_str).unwrap_or("");
                    rows.push(row(param, system, code));
                }
            }
        }
        for profile in meta.get("profile").map(one_or_many).into_iter().flatten() {
            if let Some(url) = profile.as_str() {
                rows.push(row("_profile", "", url));
            }
        }
    }
    rows
}

/// How string search values are compared: lower case, so `name=pat` finds `Patient`.
pub(crate) fn normalize(text: &str) -> String {
    text.to_lowercase()
}

fn one_or_many(value: &Value) -> impl Iterator<Item = &Value> {
    match value {
        Value::Array(items) => items.iter().collect::<Vec<_>>().into_iter(),
        other => vec![other].into_iter(),
    }
}

fn row(param: &str, system: &str, value: &str) -> TokenRow {
    TokenRow {
        param: param.to_owned(),
        system: system.to_owned(),
        value: value.to_owned(),
    }
}
