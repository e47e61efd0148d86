//! Properties of the whole data set: determinism, valid numbers, resolvable references.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::Value;

use crate::bundle::MAX_ENTRIES;
use crate::ids::{D_NUMBER_SYSTEM, FNR_SYSTEM};
use crate::{fnr_is_valid, transaction_bundles, DemoSize};

fn entries(bundles: &[Value]) -> Vec<&Value> {
    bundles
        .iter()
        .flat_map(|bundle| bundle["entry"].as_array().into_iter().flatten())
        .collect()
}

fn resources(bundles: &[Value]) -> Vec<&Value> {
    entries(bundles)
        .into_iter()
        .map(|entry| &entry["resource"])
        .collect()
}

/// A set of 1,000 patients (several Bundles), generated once for all tests that need one.
fn large_set() -> &'static [Value] {
    static SET: OnceLock<Vec<Value>> = OnceLock::new();
    SET.get_or_init(|| transaction_bundles(&DemoSize { patients: 1_000 }))
}

fn text(value: &Value) -> &str {
    value.as_str().expect("a JSON string")
}

fn local_url(resource: &Value) -> String {
    format!(
        "{}/{}",
        text(&resource["resourceType"]),
        text(&resource["id"])
    )
}

/// Every string under a key named one of `keys`, anywhere in `bundles`.
fn strings_under<'a>(bundles: &'a [Value], keys: &[&str]) -> Vec<&'a str> {
    let mut found = Vec::new();
    bundles
        .iter()
        .for_each(|bundle| collect_strings(bundle, keys, &mut found));
    found
}

fn collect_strings<'a>(value: &'a Value, keys: &[&str], found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (name, child) in map {
                match child.as_str() {
                    Some(text) if keys.contains(&name.as_str()) => found.push(text),
                    _ => collect_strings(child, keys, found),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_strings(item, keys, found)),
        _ => {}
    }
}

fn count_by_type(bundles: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for resource in resources(bundles) {
        *counts
            .entry(text(&resource["resourceType"]).to_owned())
            .or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_same_size_gives_byte_identical_bundles() {
    let first = serde_json::to_string(&transaction_bundles(&DemoSize::default()))
        .expect("JSON values serialise");
    let second = serde_json::to_string(&transaction_bundles(&DemoSize::default()))
        .expect("JSON values serialise");
    assert_eq!(first, second);
}

#[test]
fn a_patient_is_the_same_in_a_small_and_a_large_set() {
    let small = transaction_bundles(&DemoSize { patients: 20 });
    let large = large_set();
    let patient = |bundles: &[Value]| {
        resources(bundles)
            .into_iter()
            .find(|resource| resource["id"] == "demo-patient-017")
            .cloned()
    };
    assert!(patient(&small).is_some());
    assert_eq!(patient(&small), patient(large));
}

#[test]
fn every_identity_number_has_valid_check_digits() {
    let bundles = large_set();
    let mut numbers = 0;
    for resource in resources(bundles) {
        for identifier in resource["identifier"].as_array().into_iter().flatten() {
            let system = text(&identifier["system"]);
            if system == FNR_SYSTEM || system == D_NUMBER_SYSTEM {
                let number = text(&identifier["value"]);
                assert!(fnr_is_valid(number), "{number}");
                assert!(
                    number[2..4] > *"80",
                    "not a synthetic (month + 80) number: {number}"
                );
                numbers += 1;
            }
        }
    }
    assert!(numbers >= 500);
}

#[test]
fn no_two_people_share_an_identity_number() {
    let bundles = large_set();
    let mut values = Vec::new();
    for resource in resources(bundles) {
        if matches!(
            resource["resourceType"].as_str(),
            Some("Patient" | "RelatedPerson")
        ) {
            values.push(text(&resource["identifier"][0]["value"]));
        }
    }
    let unique: BTreeSet<&str> = values.iter().copied().collect();
    assert_eq!(unique.len(), values.len());
}

#[test]
fn the_set_has_children_with_parents_and_patients_with_d_numbers() {
    let bundles = transaction_bundles(&DemoSize::default());
    let counts = count_by_type(&bundles);
    assert!(counts["RelatedPerson"] >= 4);
    let mut systems = Vec::new();
    for resource in resources(&bundles)
        .into_iter()
        .filter(|r| r["resourceType"] == "Patient")
    {
        systems.push(text(&resource["identifier"][0]["system"]));
    }
    assert!(systems.contains(&D_NUMBER_SYSTEM));
}

#[test]
fn every_reference_points_at_a_resource_in_the_set() {
    let bundles = large_set();
    let defined: BTreeSet<String> = resources(bundles).into_iter().map(local_url).collect();
    let references = strings_under(bundles, &["reference"]);
    assert!(!references.is_empty());
    for reference in references {
        assert!(
            defined.contains(reference),
            "dangling reference {reference}"
        );
    }
}

#[test]
fn patients_refer_only_to_the_first_bundle_and_their_own() {
    let bundles = large_set();
    let directory: BTreeSet<String> = resources(&bundles[..1])
        .into_iter()
        .map(local_url)
        .collect();
    for bundle in &bundles[1..] {
        let own: BTreeSet<String> = resources(std::slice::from_ref(bundle))
            .into_iter()
            .map(local_url)
            .collect();
        let references = strings_under(std::slice::from_ref(bundle), &["reference"]);
        assert!(references
            .iter()
            .all(|r| own.contains(*r) || directory.contains(*r)));
    }
}

#[test]
fn no_id_is_defined_twice_and_ids_are_well_formed() {
    let bundles = large_set();
    let mut urls = BTreeSet::new();
    let mut full_urls = BTreeSet::new();
    for entry in entries(bundles) {
        let id = text(&entry["resource"]["id"]);
        let well_formed = id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        assert!(well_formed && id.len() <= 64, "{id}");
        assert!(urls.insert(local_url(&entry["resource"])), "duplicate {id}");
        assert!(
            full_urls.insert(text(&entry["fullUrl"])),
            "duplicate fullUrl for {id}"
        );
    }
}

#[test]
fn every_entry_puts_its_resource_at_its_own_id() {
    for entry in entries(&transaction_bundles(&DemoSize::default())) {
        assert_eq!(entry["request"]["method"], "PUT");
        assert_eq!(
            text(&entry["request"]["url"]),
            local_url(&entry["resource"])
        );
        assert!(text(&entry["fullUrl"]).starts_with("urn:uuid:"));
    }
}

#[test]
fn every_bundle_is_a_transaction_of_at_most_500_entries() {
    let bundles = large_set();
    assert!(bundles.len() > 2);
    for bundle in bundles {
        assert_eq!(bundle["type"], "transaction");
        let size = bundle["entry"].as_array().map_or(0, Vec::len);
        assert!((1..=MAX_ENTRIES).contains(&size), "{size}");
    }
}

#[test]
fn the_first_bundle_holds_only_the_directory() {
    let bundles = transaction_bundles(&DemoSize { patients: 0 });
    assert_eq!(bundles.len(), 1);
    let types: BTreeSet<String> = count_by_type(&bundles).into_keys().collect();
    assert_eq!(
        types,
        BTreeSet::from(["Organization", "Practitioner", "PractitionerRole"].map(String::from))
    );
}

#[test]
fn no_date_lies_after_the_reference_date() {
    let bundles = large_set();
    let keys = [
        "birthDate",
        "onsetDateTime",
        "recordedDate",
        "start",
        "end",
        "effectiveDateTime",
    ];
    let mut dates = strings_under(bundles, &keys);
    dates.extend(strings_under(
        bundles,
        &["performedDateTime", "occurrenceDateTime", "dateAsserted"],
    ));
    assert!(dates.len() > 10_000);
    assert!(
        dates.iter().all(|date| *date < "2026-01-01"),
        "{:?}",
        dates.iter().max()
    );
}

#[test]
fn every_patient_has_a_gp_and_every_record_has_its_required_elements() {
    let bundles = large_set();
    let required: BTreeMap<&str, &[&str]> = BTreeMap::from([
        (
            "Patient",
            &[
                "identifier",
                "name",
                "gender",
                "birthDate",
                "generalPractitioner",
            ][..],
        ),
        ("Encounter", &["status", "class", "subject"][..]),
        ("Condition", &["code", "subject"][..]),
        ("Observation", &["status", "code", "subject"][..]),
        ("AllergyIntolerance", &["patient", "clinicalStatus"][..]),
        (
            "MedicationStatement",
            &["status", "medicationCodeableConcept", "subject"][..],
        ),
        (
            "Immunization",
            &["status", "vaccineCode", "patient", "occurrenceDateTime"][..],
        ),
        ("Procedure", &["status", "subject"][..]),
        ("RelatedPerson", &["patient"][..]),
    ]);
    for resource in resources(bundles) {
        let kind = text(&resource["resourceType"]);
        for element in required.get(kind).copied().unwrap_or_default() {
            assert!(
                resource.get(element).is_some(),
                "{} lacks {element}",
                local_url(resource)
            );
        }
    }
    let counts = count_by_type(bundles);
    assert!(
        required
            .keys()
            .all(|kind| counts.get(*kind).copied().unwrap_or(0) > 0),
        "{counts:?}"
    );
}

#[test]
fn no_element_is_null_or_empty() {
    fn check(value: &Value, path: &str) {
        let empty = match value {
            Value::Null => true,
            Value::String(text) => text.trim().is_empty(),
            Value::Array(items) => items.is_empty(),
            Value::Object(map) => map.is_empty(),
            _ => false,
        };
        assert!(!empty, "{path} is null or empty");
        match value {
            Value::Array(items) => items.iter().for_each(|item| check(item, path)),
            Value::Object(map) => map
                .iter()
                .for_each(|(name, child)| check(child, &format!("{path}.{name}"))),
            _ => {}
        }
    }
    for bundle in large_set() {
        check(bundle, "Bundle");
    }
}

#[test]
fn the_showcase_patient_has_every_kind_of_record() {
    let bundles = transaction_bundles(&DemoSize { patients: 1 });
    let record = &bundles[1..];
    let kinds: BTreeSet<&str> = resources(record)
        .into_iter()
        .map(|r| text(&r["resourceType"]))
        .collect();
    let expected = [
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "MedicationStatement",
        "Procedure",
        "Immunization",
    ];
    assert!(
        expected.iter().all(|kind| kinds.contains(kind)),
        "{kinds:?}"
    );
    assert!(
        strings_under(record, &["code"]).contains(&"laboratory"),
        "no laboratory result"
    );
}
