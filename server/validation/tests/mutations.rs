//! Mutation test over the IPS examples: for each example, breakages are
//! generated from its own profile — a required element removed, a code outside
//! a required binding, a required slice emptied, a wrong type, a broken
//! invariant, an unknown element and, in documents, an unresolvable reference
//! — and each must be reported as an error at the right location.

mod common;

use serde_json::{json, Value};

const IPS_BUNDLE: &str = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips";

/// One breakage: what it is, the broken resource, and where the error must be.
struct Mutation {
    what: String,
    broken: Value,
    at: String,
}

/// The snapshot elements of `url` directly under the root.
fn top_elements(url: &str) -> Vec<Value> {
    let Some(definition) = common::validator().profiles.definition(url) else {
        return Vec::new();
    };
    let elements = definition["snapshot"]["element"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    elements
        .into_iter()
        .filter(|e| {
            e["id"]
                .as_str()
                .is_some_and(|id| id.matches('.').count() == 1 && !id.contains(':'))
        })
        .collect()
}

/// Breakages of `resource` (at location `at`, inside `root` at `pointer`) by its profile `url`.
fn mutations(root: &Value, pointer: &str, at: &str, url: &str) -> Vec<Mutation> {
    let resource = root.pointer(pointer).expect("the resource");
    let mut out = Vec::new();
    let mut add = |what: String, change: &dyn Fn(&mut Value), location: String| {
        let mut broken = root.clone();
        change(broken.pointer_mut(pointer).expect("the resource"));
        out.push(Mutation {
            what,
            broken,
            at: location,
        });
    };
    let elements = top_elements(url);
    let present = |name: &str| resource.get(name).is_some();
    let name_of = |e: &Value| -> String {
        e["path"]
            .as_str()
            .unwrap_or_default()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    if let Some(required) = elements.iter().find(|e| {
        e["min"].as_u64().unwrap_or(0) > 0
            && !name_of(e).ends_with("[x]")
            && present(&name_of(e))
            && name_of(e) != "resourceType"
    }) {
        let name = name_of(required);
        add(
            format!("required {name} removed"),
            &|r| {
                r.as_object_mut().expect("object").remove(&name);
            },
            at.to_owned(),
        );
    }
    if let Some(bound) = elements.iter().find(|e| {
        e["binding"]["strength"] == "required"
            && e["type"][0]["code"] == "code"
            && present(&name_of(e))
    }) {
        let name = name_of(bound);
        add(
            format!("{name} outside its required binding"),
            &|r| r[&name] = "banana".into(),
            format!("{at}.{name}"),
        );
    }
    let sliced = common::validator()
        .profiles
        .definition(url)
        .and_then(|d| d["snapshot"]["element"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .find(|e| {
            e["id"].as_str().is_some_and(|id| {
                id.matches('.').count() == 1 && id.contains(':') && !id.contains("extension")
            }) && e["min"].as_u64().unwrap_or(0) > 0
        });
    if let Some(slice) = sliced {
        let name = name_of(&slice);
        if present(&name) {
            add(
                format!("required slice {} emptied", slice["id"]),
                &|r| {
                    r.as_object_mut().expect("object").remove(&name);
                },
                at.to_owned(),
            );
        }
    }
    if let Some((name, _)) = resource
        .as_object()
        .expect("object")
        .iter()
        .find(|(k, v)| v.is_string() && !matches!(k.as_str(), "resourceType" | "id"))
    {
        let name = name.clone();
        // A choice is located by its stem (`onset.ofType(dateTime)`).
        let stem: String = name
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        add(
            format!("{name} given a number"),
            &|r| r[&name] = 12345.into(),
            format!("{at}.{stem}"),
        );
    }
    add(
        "an unreferenced contained resource (dom-3)".into(),
        &|r| {
            r["contained"] =
                json!([{"resourceType": "Basic", "id": "orphan", "code": {"text": "x"}}])
        },
        at.to_owned(),
    );
    add(
        "an unknown element".into(),
        &|r| r["bogusElement"] = true.into(),
        format!("{at}.bogusElement"),
    );
    out
}

#[test]
fn breakages_of_every_ips_example_are_reported_at_their_place() {
    let validator = common::validator();
    let package = common::resources(&common::shipped("hl7.fhir.uv.ips-2.0.0.tgz"));
    let mut all = Vec::new();
    for (file, example) in &package {
        let ty = example["resourceType"].as_str().unwrap_or_default();
        if matches!(
            ty,
            "StructureDefinition"
                | "ValueSet"
                | "CodeSystem"
                | "ImplementationGuide"
                | "CapabilityStatement"
                | "OperationDefinition"
                | "Basic"
        ) {
            continue;
        }
        let declared = example["meta"]["profile"][0].as_str();
        if ty == "Bundle" && example["type"] == "document" {
            let composition = example["entry"][0]["resource"]["meta"]["profile"][0]
                .as_str()
                .unwrap_or("http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips")
                .to_owned();
            for m in mutations(
                example,
                "/entry/0/resource",
                "Bundle.entry[0].resource",
                &composition,
            ) {
                all.push((file.clone(), Some(IPS_BUNDLE), m));
            }
            let mut broken = example.clone();
            broken["entry"][0]["resource"]["subject"]["reference"] =
                "urn:uuid:00000000-0000-0000-0000-000000000000".into();
            all.push((
                file.clone(),
                Some(IPS_BUNDLE),
                Mutation {
                    what: "an unresolvable reference in the document".into(),
                    broken,
                    at: "Bundle.entry[0].resource.subject".into(),
                },
            ));
        } else if let Some(url) = declared {
            for m in mutations(example, "", ty, url) {
                all.push((file.clone(), None, m));
            }
        }
    }
    let mut missed = Vec::new();
    for (file, profile, mutation) in &all {
        let profiles: Vec<&str> = profile.iter().copied().collect();
        let issues = validator.validate(&mutation.broken, &profiles);
        let found = issues.iter().filter(|i| i.is_error()).any(|i| {
            i.expression
                .as_deref()
                .is_some_and(|e| e.starts_with(&mutation.at))
        });
        if !found {
            missed.push(format!(
                "{file}: {} (expected at {})",
                mutation.what, mutation.at
            ));
        }
    }
    let detected = all.len() - missed.len();
    let rate = 100.0 * detected as f64 / all.len().max(1) as f64;
    println!(
        "{detected} of {} mutations detected ({rate:.1}%)",
        all.len()
    );
    assert!(all.len() > 150, "only {} mutations", all.len());
    assert!(
        rate >= 98.0,
        "{rate:.1}% detected; missed:\n{}",
        missed.join("\n")
    );
}
