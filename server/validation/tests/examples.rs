//! The validator against the examples of the specification and of IPS: every
//! example validates with no error against its base type and declared
//! profiles, except those listed, with the reason, in
//! `tests/r4-examples-invalid.txt`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tillit_model::{Issue, IssueSeverity};

fn errors(issues: &[Issue]) -> Vec<&Issue> {
    issues
        .iter()
        .filter(|i| matches!(i.severity, IssueSeverity::Error | IssueSeverity::Fatal))
        .collect()
}

/// Validates `examples`; returns the files with errors and a summary of them.
fn failing(examples: &[(String, Value)], profiles: &[&str]) -> (BTreeSet<String>, String) {
    let validator = common::validator();
    let mut files = BTreeSet::new();
    let mut summary: BTreeMap<String, usize> = BTreeMap::new();
    let mut detail = String::new();
    for (file, example) in examples {
        let issues = validator.validate(example, profiles);
        let errors = errors(&issues);
        if errors.is_empty() {
            continue;
        }
        files.insert(file.clone());
        for e in &errors {
            detail.push_str(&format!(
                "{file}: {} — {}\n",
                e.expression.as_deref().unwrap_or(""),
                e.diagnostics
            ));
            let shape: String = e.diagnostics.chars().take(90).collect();
            *summary.entry(shape).or_default() += 1;
        }
    }
    let mut text = String::new();
    for (shape, n) in summary {
        text.push_str(&format!("{n:5} {shape}\n"));
    }
    text.push_str(&detail);
    (files, text)
}

/// The files listed in an expectations file (`file: reason` lines; `#` comments).
fn listed(name: &str) -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':').map(|(file, _)| file.trim().to_owned()))
        .collect()
}

#[test]
fn r4_examples_have_no_errors_except_the_listed_ones() {
    let examples: Vec<(String, Value)> = common::resources(&common::r4_examples_package())
        .into_iter()
        .filter(|(_, r)| {
            let ty = r
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            !common::DEFINITIONS.contains(&ty)
        })
        .collect();
    assert!(examples.len() > 700, "{} examples", examples.len());
    let (failing, summary) = failing(&examples, &[]);
    let expected = listed("r4-examples-invalid.txt");
    let unexpected: Vec<&String> = failing.difference(&expected).collect();
    let fixed: Vec<&String> = expected.difference(&failing).collect();
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{} of {} examples fail unexpectedly: {unexpected:?}\nlisted but valid now: {fixed:?}\n{summary}",
        unexpected.len(),
        examples.len()
    );
}

#[test]
fn ips_examples_have_no_errors_against_their_profiles() {
    let examples: Vec<(String, Value)> =
        common::resources(&common::shipped("hl7.fhir.uv.ips-2.0.0.tgz"))
            .into_iter()
            .filter(|(_, r)| {
                let ty = r
                    .get("resourceType")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                !common::DEFINITIONS.contains(&ty) && ty != "CapabilityStatement" && ty != "Basic"
            })
            .collect();
    let bundles: Vec<(String, Value)> = examples
        .iter()
        .filter(|(_, r)| r.get("type").and_then(Value::as_str) == Some("document"))
        .cloned()
        .collect();
    let (failing_own, summary) = failing(&examples, &[]);
    assert!(
        failing_own.is_empty(),
        "IPS examples with errors:\n{summary}"
    );
    let (failing_bundle, summary) = failing(
        &bundles,
        &["http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"],
    );
    assert!(
        failing_bundle.is_empty(),
        "IPS documents with errors against Bundle-uv-ips:\n{summary}"
    );
}

/// One breakage of the IPS all-sections document and where it must be reported.
struct Mutation {
    what: &'static str,
    apply: fn(&mut Value),
    /// The start of the expected error's location.
    at: &'static str,
}

#[test]
fn breakages_of_an_ips_document_are_reported_where_they_are() {
    let all = common::resources(&common::shipped("hl7.fhir.uv.ips-2.0.0.tgz"));
    let (_, original) = all
        .iter()
        .find(|(f, _)| f == "Bundle-bundle-ips-all-sections.json")
        .expect("the all-sections example");
    let ips = ["http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"];
    let validator = common::validator();
    assert!(errors(&validator.validate(original, &ips)).is_empty());
    let mutations = [
        Mutation {
            what: "the Patient entry removed",
            apply: |b| {
                b["entry"].as_array_mut().expect("entries").remove(1);
            },
            at: "Bundle",
        },
        Mutation {
            what: "the required problems section removed",
            apply: |b| {
                b["entry"][0]["resource"]["section"]
                    .as_array_mut()
                    .expect("sections")
                    .remove(1);
            },
            at: "Bundle.entry[0].resource",
        },
        Mutation {
            what: "a required element removed (Composition.title)",
            apply: |b| {
                b["entry"][0]["resource"]
                    .as_object_mut()
                    .expect("composition")
                    .remove("title");
            },
            at: "Bundle.entry[0].resource",
        },
        Mutation {
            what: "an unknown element",
            apply: |b| b["entry"][1]["resource"]["colour"] = "blue".into(),
            at: "Bundle.entry[1].resource.colour",
        },
        Mutation {
            what: "a wrong type",
            apply: |b| b["entry"][1]["resource"]["birthDate"] = 1980.into(),
            at: "Bundle.entry[1].resource.birthDate",
        },
        Mutation {
            what: "a broken invariant (a Period ending before it starts)",
            apply: |b| {
                b["entry"][0]["resource"]["event"] =
                    serde_json::json!([{"period": {"start": "2020-01-02", "end": "2020-01-01"}}]);
            },
            at: "Bundle.entry[0].resource.event[0].period",
        },
        Mutation {
            what: "an unresolvable reference inside the Bundle",
            apply: |b| {
                b["entry"][0]["resource"]["subject"]["reference"] =
                    "urn:uuid:00000000-0000-0000-0000-000000000000".into()
            },
            at: "Bundle.entry[0].resource.subject",
        },
        Mutation {
            what: "a reference to a type the element does not allow",
            apply: |b| {
                b["entry"][0]["resource"]["subject"]["reference"] =
                    "Organization/7a17027f-acc0-4d77-bf84-c0dad8f7c881".into()
            },
            at: "Bundle.entry[0].resource.subject",
        },
        Mutation {
            what: "a code outside a required binding",
            apply: |b| b["entry"][0]["resource"]["status"] = "banana".into(),
            at: "Bundle.entry[0].resource.status",
        },
        Mutation {
            what: "a code that does not exist in its code system",
            apply: |b| {
                b["entry"][1]["resource"]["maritalStatus"] = serde_json::json!({"coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "banana"}]});
            },
            at: "Bundle.entry[1].resource.maritalStatus.coding[0]",
        },
        Mutation {
            what: "a value outside its fixed value (Bundle.type)",
            apply: |b| b["type"] = "collection".into(),
            at: "Bundle",
        },
    ];
    let mut missed = Vec::new();
    for mutation in &mutations {
        let mut bundle = original.clone();
        (mutation.apply)(&mut bundle);
        let issues = validator.validate(&bundle, &ips);
        let found = errors(&issues).iter().any(|e| {
            e.expression
                .as_deref()
                .is_some_and(|x| x.starts_with(mutation.at))
        });
        if !found {
            let got: Vec<String> = errors(&issues)
                .iter()
                .map(|e| format!("{:?}: {}", e.expression, e.diagnostics))
                .collect();
            missed.push(format!(
                "{} (expected at {}), got {got:#?}",
                mutation.what, mutation.at
            ));
        }
    }
    assert!(missed.is_empty(), "not reported: {missed:#?}");
}
