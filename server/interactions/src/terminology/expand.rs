//! `ValueSet/$expand`: the value set with its expansion, filtered and paged
//! as asked. <https://hl7.org/fhir/R4/valueset-operation-expand.html>

use serde_json::{json, Value};
use tillit_terminology::expand::{self as engine, Options};
use tillit_terminology::TxError;

use super::{Context, Inputs};

/// The largest expansion returned without paging (`count`); larger ones are
/// refused as too costly rather than sent whole.
const MAX_UNPAGED: usize = 100_000;

/// Request parameters an expansion echoes in `expansion.parameter`, with the
/// type a query-string value of each takes.
const ECHOED: [(&str, &str); 10] = [
    ("designation", "valueString"),
    ("excludeNested", "valueBoolean"),
    ("includeDesignations", "valueBoolean"),
    ("activeOnly", "valueBoolean"),
    ("displayLanguage", "valueCode"),
    ("filter", "valueString"),
    ("count", "valueInteger"),
    ("offset", "valueInteger"),
    ("check-system-version", "valueUri"),
    ("force-system-version", "valueUri"),
];

/// Runs `$expand`.
pub(super) fn expand(context: &Context) -> Result<Value, TxError> {
    let scope = context.scope()?;
    let value_set = context.value_set(&scope)?;
    let inputs = &super::with_value_set_parameters(&context.inputs, &value_set);
    let count = inputs.number("count").map(|c| c.max(0) as usize);
    // A value set in a language shows its displays in it unless asked otherwise.
    let mut echo = echoed(inputs);
    let mut display_language = inputs.text("displayLanguage").map(str::to_owned);
    if display_language.is_none() {
        if let Some(language) = value_set.get("language").and_then(Value::as_str) {
            display_language = Some(language.to_owned());
            echo.push(json!({"name": "displayLanguage", "valueCode": language}));
        }
    }
    let offset = inputs.number("offset").map(|o| o.max(0) as usize);
    let options = Options {
        filter: inputs.text("filter").map(str::to_owned),
        offset: offset.unwrap_or(0),
        count,
        active_only: inputs.flag("activeOnly").unwrap_or(false),
        include_designations: inputs.flag("includeDesignations").unwrap_or(false),
        display_language,
        properties: inputs.texts("property").map(str::to_owned).collect(),
        include_definition: inputs.flag("includeDefinition").unwrap_or(false),
        designations: inputs.texts("designation").map(str::to_owned).collect(),
        versions: inputs.system_versions(),
        limit: Some(MAX_UNPAGED),
        echo,
    };
    let expansion = engine::expand(&scope, &value_set, &options)?;
    expansion.listable()?;
    let with_offset = offset.is_some();
    Ok(engine::to_value_set(
        &value_set,
        &expansion,
        &options,
        with_offset,
    ))
}

/// The request's parameters that the expansion repeats, typed as the
/// operation defines them.
fn echoed(inputs: &Inputs) -> Vec<Value> {
    let mut echo = Vec::new();
    for (name, value_type) in ECHOED {
        for parameter in inputs.raw(name) {
            let Some((key, value)) = parameter
                .as_object()
                .and_then(|p| p.iter().find(|(k, _)| k.starts_with("value")))
            else {
                continue;
            };
            let value = match (key.as_str(), value) {
                ("valueString", Value::String(text)) if value_type == "valueBoolean" => {
                    json!(text == "true")
                }
                ("valueString", Value::String(text)) if value_type == "valueInteger" => text
                    .parse::<i64>()
                    .map_or_else(|_| value.clone(), |n| json!(n)),
                _ => value.clone(),
            };
            // Canonicals are echoed as URIs, as other servers do.
            let key = if key == "valueString" || value_type == "valueUri" {
                value_type
            } else {
                key
            };
            echo.push(json!({"name": name, key: value}));
        }
    }
    echo
}
