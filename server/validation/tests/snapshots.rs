//! Snapshot generation against the IPS package, which ships snapshots: each
//! IPS StructureDefinition's snapshot is regenerated from its differential and
//! its base, and compared with the shipped one element by element (ids in
//! order, cardinality, types and their profiles, bindings, slicing, fixed and
//! pattern values); every one must match.

mod common;

use serde_json::Value;

/// What is compared of one element.
fn shape(element: &Value) -> String {
    let keep = |key: &str| element.get(key).cloned().unwrap_or(Value::Null);
    let types: Vec<Value> = element["type"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| serde_json::json!([t["code"], t["profile"], t["targetProfile"]]))
        .collect();
    let values: Vec<String> = element
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("fixed") || k.starts_with("pattern"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    serde_json::json!({
        "min": keep("min"),
        "max": keep("max"),
        "types": types,
        "binding": [element["binding"]["strength"], element["binding"]["valueSet"]],
        "slicing": [element["slicing"]["discriminator"], element["slicing"]["rules"]],
        "values": values,
    })
    .to_string()
    // The IG publisher pins core canonicals to the core version; an R4-only
    // repository resolves them the same with or without it.
    .replace("|4.0.1", "")
}

/// The first difference between two snapshots, if any.
fn difference(shipped: &[Value], generated: &[Value]) -> Option<String> {
    let id = |e: &Value| e["id"].as_str().unwrap_or_default().to_owned();
    for (n, expected) in shipped.iter().enumerate() {
        let Some(found) = generated.get(n) else {
            return Some(format!(
                "{} elements generated, {} shipped; missing from {}",
                generated.len(),
                shipped.len(),
                id(expected)
            ));
        };
        if id(found) != id(expected) {
            return Some(format!(
                "element {n}: {} generated where {} is shipped",
                id(found),
                id(expected)
            ));
        }
        let (a, b) = (shape(expected), shape(found));
        if a != b {
            return Some(format!("{}: shipped {a}, generated {b}", id(expected)));
        }
    }
    (generated.len() > shipped.len()).then(|| {
        format!(
            "{} extra elements generated, from {}",
            generated.len() - shipped.len(),
            id(&generated[shipped.len()])
        )
    })
}

#[test]
fn ips_snapshots_are_regenerated_from_their_differentials() {
    let validator = common::validator();
    let package = common::resources(&common::shipped("hl7.fhir.uv.ips-2.0.0.tgz"));
    let mut report = Vec::new();
    let (mut profiles, mut elements, mut matched_profiles) = (0, 0, 0);
    for (file, definition) in &package {
        if definition["resourceType"] != "StructureDefinition"
            || definition.get("differential").is_none()
        {
            continue;
        }
        let shipped = definition["snapshot"]["element"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let layer = validator.profiles.layer();
        let mut bare = definition.clone();
        bare.as_object_mut().expect("object").remove("snapshot");
        layer.add(&bare);
        let url = definition["url"].as_str().unwrap_or_default();
        let generated = layer
            .definition(url)
            .and_then(|d| d["snapshot"]["element"].as_array().cloned())
            .unwrap_or_default();
        profiles += 1;
        elements += shipped.len();
        match difference(&shipped, &generated) {
            None => matched_profiles += 1,
            Some(why) => report.push(format!(
                "{file}: {}",
                why.chars().take(1200).collect::<String>()
            )),
        }
    }
    println!("{profiles} IPS profiles ({elements} snapshot elements): {matched_profiles} regenerated exactly");
    assert!(profiles > 25, "only {profiles} profiles");
    assert!(
        report.is_empty(),
        "snapshots that differ:\n{}",
        report.join("\n")
    );
}
