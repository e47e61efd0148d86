//! From the FHIR values a search parameter's expression selects to the typed
//! index rows the store keeps, by parameter type and FHIR data type, as the
//! R4 search page describes: <https://hl7.org/fhir/R4/search.html#table>.

use serde_json::Value;
use tillit_model::DateRange;
use tillit_store::IndexValue;

use super::text::fold;
use super::units::{canonical, UCUM};
use super::Kind;

/// A row for parameter `param`: the code and the value.
pub type Row = (String, IndexValue);

/// The index values of one selected value of FHIR type `fhir_type` for a
/// parameter of `kind` named `code`; derived parameters (`code:text`,
/// `identifier:of-type`, `subject:identifier`) get their own rows.
pub fn rows(
    kind: Kind,
    code: &str,
    fhir_type: &str,
    value: &Value,
    base_url: &str,
    out: &mut Vec<Row>,
) {
    match kind {
        Kind::String => strings(code, fhir_type, value, out),
        Kind::Token => tokens(code, fhir_type, value, out),
        Kind::Date => {
            if let Some((low, high)) = date_range(fhir_type, value) {
                out.push((code.to_owned(), IndexValue::Date { low, high }));
            }
        }
        Kind::Number => {
            if let Some(n) = number(value) {
                out.push((code.to_owned(), IndexValue::Number { low: n, high: n }));
            }
        }
        Kind::Quantity => quantities(code, fhir_type, value, out),
        Kind::Reference => references(code, fhir_type, value, base_url, out),
        Kind::Uri => {
            if let Some(uri) = value.as_str() {
                out.push((code.to_owned(), IndexValue::Uri(clip(uri).to_owned())));
            }
        }
        Kind::Composite | Kind::Special => {}
    }
}

/// The longest text an index row keeps, in bytes: database index entries
/// have a size limit (PostgreSQL's is 2,704 bytes per row), and searches on
/// longer texts compare their first 256 bytes.
pub const MAX_INDEXED: usize = 256;

/// `text` cut to at most [`MAX_INDEXED`] bytes, at a character boundary.
pub fn clip(text: &str) -> &str {
    if text.len() <= MAX_INDEXED {
        return text;
    }
    let mut end = MAX_INDEXED;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn push_string(code: &str, text: &str, out: &mut Vec<Row>) {
    if !text.is_empty() {
        let text = clip(text);
        out.push((
            code.to_owned(),
            IndexValue::String {
                folded: clip(&fold(text)).to_owned(),
                exact: text.to_owned(),
            },
        ));
    }
}

fn strings(code: &str, fhir_type: &str, value: &Value, out: &mut Vec<Row>) {
    let parts: &[&str] = match fhir_type {
        "HumanName" => &["family", "given", "prefix", "suffix", "text"],
        "Address" => &[
            "line",
            "city",
            "district",
            "state",
            "postalCode",
            "country",
            "text",
        ],
        _ => {
            if let Some(text) = value.as_str() {
                push_string(code, text, out);
            }
            return;
        }
    };
    for part in parts {
        for text in each(value.get(*part)).filter_map(Value::as_str) {
            push_string(code, text, out);
        }
    }
}

fn tokens(code: &str, fhir_type: &str, value: &Value, out: &mut Vec<Row>) {
    let text_param = format!("{code}:text");
    match fhir_type {
        "CodeableConcept" => {
            for coding in each(value.get("coding")) {
                coding_rows(code, &text_param, coding, out);
            }
            if let Some(text) = value.get("text").and_then(Value::as_str) {
                push_string(&text_param, text, out);
            }
        }
        "Coding" => coding_rows(code, &text_param, value, out),
        "Identifier" => {
            if let Some(id) = value.get("value").and_then(Value::as_str) {
                let system = str_at(value, "system");
                out.push(token(code, system, id));
                for coding in each(value.pointer("/type/coding")) {
                    if let (Some(ts), Some(tc)) = (
                        coding.get("system").and_then(Value::as_str),
                        coding.get("code").and_then(Value::as_str),
                    ) {
                        out.push((
                            format!("{code}:of-type"),
                            IndexValue::Composite {
                                system: ts.to_owned(),
                                code: tc.to_owned(),
                                second_system: String::new(),
                                second_code: id.to_owned(),
                                low: 0.0,
                                high: 0.0,
                            },
                        ));
                    }
                }
            }
            if let Some(text) = value.pointer("/type/text").and_then(Value::as_str) {
                push_string(&text_param, text, out);
            }
        }
        "ContactPoint" => {
            if let Some(v) = value.get("value").and_then(Value::as_str) {
                out.push(token(code, str_at(value, "system"), v));
            }
        }
        "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "Money" => {
            if let Some(c) = value.get("code").and_then(Value::as_str) {
                out.push(token(code, str_at(value, "system"), c));
            }
        }
        "Reference" => {
            if let Some(identifier) = value.get("identifier") {
                tokens(code, "Identifier", identifier, out);
            }
        }
        _ => match value {
            Value::String(s) => out.push(token(code, "", s)),
            Value::Bool(b) => out.push(token(code, "", if *b { "true" } else { "false" })),
            Value::Number(n) => out.push(token(code, "", &n.to_string())),
            _ => {}
        },
    }
}

fn coding_rows(code: &str, text_param: &str, coding: &Value, out: &mut Vec<Row>) {
    if let Some(c) = coding.get("code").and_then(Value::as_str) {
        out.push(token(code, str_at(coding, "system"), c));
    }
    if let Some(display) = coding.get("display").and_then(Value::as_str) {
        push_string(text_param, display, out);
    }
}

fn token(code: &str, system: &str, value: &str) -> Row {
    (
        code.to_owned(),
        IndexValue::Token {
            system: clip(system).to_owned(),
            code: clip(value).to_owned(),
        },
    )
}

/// The milliseconds `[low, high)` a date, dateTime, instant, Period or Timing covers.
pub fn date_range(fhir_type: &str, value: &Value) -> Option<(i64, i64)> {
    let parse = |v: Option<&Value>| v.and_then(Value::as_str).and_then(DateRange::parse);
    match fhir_type {
        "Period" => {
            let start = parse(value.get("start"));
            let end = parse(value.get("end"));
            if start.is_none() && end.is_none() {
                return None;
            }
            Some((
                start.map_or(i64::MIN, |r| r.start.0),
                end.map_or(i64::MAX, |r| r.end.0),
            ))
        }
        "Timing" => {
            let mut ranges: Vec<DateRange> = each(value.get("event"))
                .filter_map(|e| parse(Some(e)))
                .collect();
            if let Some(bounds) = value.pointer("/repeat/boundsPeriod") {
                if let Some((low, high)) = date_range("Period", bounds) {
                    return Some((
                        ranges.iter().map(|r| r.start.0).fold(low, i64::min),
                        ranges.iter().map(|r| r.end.0).fold(high, i64::max),
                    ));
                }
            }
            ranges.sort_by_key(|r| r.start.0);
            let low = ranges.first()?.start.0;
            let high = ranges.iter().map(|r| r.end.0).max()?;
            Some((low, high))
        }
        _ => {
            let range = parse(Some(value))?;
            Some((range.start.0, range.end.0))
        }
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn quantities(code: &str, fhir_type: &str, value: &Value, out: &mut Vec<Row>) {
    match fhir_type {
        "Range" => {
            let low = value
                .get("low")
                .and_then(|q| q.get("value"))
                .and_then(number);
            let high = value
                .get("high")
                .and_then(|q| q.get("value"))
                .and_then(number);
            if low.is_none() && high.is_none() {
                return;
            }
            let unit = value.get("low").or_else(|| value.get("high"));
            let (system, unit_code) =
                unit.map_or(("", ""), |q| (str_at(q, "system"), unit_code(q)));
            out.push((
                code.to_owned(),
                IndexValue::Quantity {
                    system: system.to_owned(),
                    code: unit_code.to_owned(),
                    low: low.unwrap_or(f64::MIN),
                    high: high.unwrap_or(f64::MAX),
                },
            ));
        }
        "Money" => {
            if let Some(n) = value.get("value").and_then(number) {
                out.push((
                    code.to_owned(),
                    IndexValue::Quantity {
                        system: "urn:iso:std:iso:4217".into(),
                        code: str_at(value, "currency").to_owned(),
                        low: n,
                        high: n,
                    },
                ));
            }
        }
        _ => {
            let Some(n) = value.get("value").and_then(number) else {
                return;
            };
            let system = clip(str_at(value, "system"));
            let unit = clip(unit_code(value));
            out.push((
                code.to_owned(),
                IndexValue::Quantity {
                    system: system.to_owned(),
                    code: unit.to_owned(),
                    low: n,
                    high: n,
                },
            ));
            // UCUM quantities are also indexed in base units, under a derived
            // parameter, so searches with a unit find them in any unit.
            if system == UCUM {
                if let Some(c) = canonical(unit) {
                    let v = n * c.factor;
                    out.push((
                        format!("{code}:canonical"),
                        IndexValue::Quantity {
                            system: UCUM.into(),
                            code: c.unit,
                            low: v,
                            high: v,
                        },
                    ));
                }
            }
        }
    }
}

/// A quantity's unit code, or its unit text when it has no code.
fn unit_code(quantity: &Value) -> &str {
    quantity
        .get("code")
        .and_then(Value::as_str)
        .or_else(|| quantity.get("unit").and_then(Value::as_str))
        .unwrap_or("")
}

fn references(code: &str, fhir_type: &str, value: &Value, base_url: &str, out: &mut Vec<Row>) {
    match fhir_type {
        "Reference" => {
            if let Some(reference) = value.get("reference").and_then(Value::as_str) {
                if let Some(row) = reference_value(reference, base_url) {
                    out.push((code.to_owned(), row));
                }
            }
            if let Some(identifier) = value.get("identifier") {
                tokens(&format!("{code}:identifier"), "Identifier", identifier, out);
            }
        }
        _ => {
            // canonical, uri, url: a URL, with `|version` for canonicals.
            if let Some(url) = value.as_str() {
                let (url, version) = url.split_once('|').unwrap_or((url, ""));
                let row = reference_value(url, base_url).map(|row| match row {
                    IndexValue::Reference {
                        target_type,
                        target_id,
                        version: v,
                    } => IndexValue::Reference {
                        target_type,
                        target_id,
                        version: if v.is_empty() { version.to_owned() } else { v },
                    },
                    other => other,
                });
                out.extend(row.map(|r| (code.to_owned(), r)));
            }
        }
    }
}

/// A reference string as an index value: `Type/id[/_history/v]` (relative, or
/// absolute under our base) by type and id; other URLs as URLs; `#id`
/// (contained) is not indexed.
pub fn reference_value(reference: &str, base_url: &str) -> Option<IndexValue> {
    if reference.starts_with('#') || reference.is_empty() {
        return None;
    }
    let local = reference
        .strip_prefix(base_url)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(reference);
    let absolute = local.contains("://") || local.starts_with("urn:");
    if !absolute {
        let mut parts = local.split('/');
        if let (Some(ty), Some(id)) = (parts.next(), parts.next()) {
            let version = match (parts.next(), parts.next()) {
                (Some("_history"), Some(v)) => v,
                _ => "",
            };
            if ty.starts_with(|c: char| c.is_ascii_uppercase()) && !id.is_empty() {
                return Some(IndexValue::Reference {
                    target_type: ty.to_owned(),
                    target_id: id.to_owned(),
                    version: version.to_owned(),
                });
            }
        }
    }
    Some(IndexValue::Reference {
        target_type: String::new(),
        target_id: clip(reference).to_owned(),
        version: String::new(),
    })
}

fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The items of a JSON value that may be one value or an array.
pub fn each(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    let slice: &[Value] = match value {
        Some(Value::Array(items)) => items,
        Some(one) => std::slice::from_ref(one),
        None => &[],
    };
    slice.iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_index_by_type_and_id_or_url() {
        let base = "http://x/fhir";
        assert_eq!(
            reference_value("Patient/1/_history/2", base),
            Some(IndexValue::Reference {
                target_type: "Patient".into(),
                target_id: "1".into(),
                version: "2".into()
            })
        );
        assert_eq!(
            reference_value("http://x/fhir/Patient/1", base),
            reference_value("Patient/1", base)
        );
        assert!(matches!(
            reference_value("http://elsewhere/fhir/Patient/1", base),
            Some(IndexValue::Reference { target_type, .. }) if target_type.is_empty()
        ));
        assert_eq!(reference_value("#c1", base), None);
    }

    #[test]
    fn periods_and_quantities_become_ranges() {
        let period = json!({"start": "2024-01-01", "end": "2024-01-31"});
        let (low, high) = date_range("Period", &period).expect("a period");
        assert!(high - low > 29 * 86_400_000);
        let mut out = Vec::new();
        quantities(
            "value-quantity",
            "Quantity",
            &json!({"value": 5.4, "system": UCUM, "code": "mg"}),
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].0, "value-quantity:canonical");
        assert!(
            matches!(&out[1].1, IndexValue::Quantity { code, low, .. } if code == "g" && (*low - 0.0054).abs() < 1e-12)
        );
    }
}
