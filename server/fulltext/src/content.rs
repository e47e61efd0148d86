//! All the text of a resource, for `_content`: the words a person could read in it.
//! <https://hl7.org/fhir/R4/search.html#content>
//!
//! Every string value counts (names, codes and their displays, free text, dates, the narrative
//! as words) except machine identifiers a person would not search for: ids, references, URLs,
//! URIs and canonicals, base64 data, and `meta`.

use serde_json::Value;

use crate::narrative::xhtml_text;

/// All text of a resource for `_content`: every string value (names, codes and displays, text,
/// the narrative without markup …), excluding ids, URLs, references, base64 binaries and
/// `meta`, joined with spaces in document order.
pub fn content(resource: &Value) -> String {
    let mut out = String::new();
    collect(resource, &mut out);
    out
}

/// Appends the searchable strings in `value` to `out`.
fn collect(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => push(out, text),
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        Value::Object(members) => {
            for (key, member) in members {
                if key == "div" {
                    if let Some(xhtml) = member.as_str() {
                        push(out, &xhtml_text(xhtml));
                    }
                } else if !is_skipped(key) {
                    collect(member, out);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Appends `text` to `out`, space-separated.
fn push(out: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(text);
}

/// Whether an element holds no words: identifiers, links and binary data.
fn is_skipped(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "resourceType",
        "id",
        "meta",
        "implicitRules",
        "reference",
        "url",
        "fullUrl",
        "system",
        "profile",
        "data",
        "hash",
    ];
    // Choice and typed elements name their FHIR type last: `valueUri`, `definitionCanonical`,
    // `valueBase64Binary`, `linkId`.
    const TYPE_SUFFIXES: &[&str] = &[
        "Id",
        "Uri",
        "Url",
        "Canonical",
        "Oid",
        "Uuid",
        "Base64Binary",
    ];
    KEYS.contains(&key) || TYPE_SUFFIXES.iter().any(|suffix| key.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_displays_and_text_are_kept() {
        let patient = json!({
            "resourceType": "Patient",
            "id": "pat-1",
            "meta": {"versionId": "3", "lastUpdated": "2024-01-01T00:00:00Z"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Kari &amp; Ola</p></div>"},
            "name": [{"family": "Nordmann", "given": ["Kari", "Marie"]}],
            "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Married"}], "text": "Gift"},
            "active": true,
            "multipleBirthInteger": 2,
        });
        assert_eq!(
            content(&patient),
            "generated Kari & Ola Nordmann Kari Marie M Married Gift"
        );
    }

    #[test]
    fn ids_references_urls_and_base64_are_skipped() {
        let resource = json!({
            "resourceType": "DocumentReference",
            "id": "doc-1",
            "subject": {"reference": "Patient/pat-1", "display": "Kari Nordmann"},
            "extension": [{"url": "http://example.org/ext", "valueString": "utvidelse"}, {"url": "http://example.org/u", "valueUri": "urn:x"}],
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "12345678901"}],
            "content": [{"attachment": {"contentType": "text/plain", "data": "SGVpIHDDpSBkZWc=", "url": "http://example.org/a", "title": "Epikrise"}}],
            "instantiatesCanonical": ["http://example.org/PlanDefinition/x"],
            "item": [{"linkId": "1.2", "text": "Spørsmål"}],
        });
        let text = content(&resource);
        assert_eq!(
            text,
            "Kari Nordmann utvidelse 12345678901 text/plain Epikrise Spørsmål"
        );
        for absent in [
            "doc-1",
            "Patient/pat-1",
            "http",
            "SGVp",
            "urn:",
            "1.2",
            "DocumentReference",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
    }

    #[test]
    fn empty_resource_has_no_content() {
        assert_eq!(content(&json!({"resourceType": "Basic", "id": "x"})), "");
    }
}
