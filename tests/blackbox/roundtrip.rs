//! Round trip: every resource of `hl7.fhir.r4.examples@4.0.1` (its 740
//! non-conformance examples and, beyond the bar, its 4,566 conformance
//! resources too) is stored with PUT and read back equal to what was sent
//! (ignoring `meta.versionId` and `meta.lastUpdated`). The few that the structural check
//! rightly rejects are listed, with reasons, in
//! `tests/fixtures/r4-examples-rejected.txt`; the test fails if that list is
//! wrong either way.

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;

use crate::db_test;
use crate::support::r4_examples;

/// The rejected examples and why, from the fixture file.
fn expected_rejections() -> BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/r4-examples-rejected.txt");
    std::fs::read_to_string(path)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, reason) = l.split_once(':').expect("'file: reason' lines");
            (file.trim().to_owned(), reason.trim().to_owned())
        })
        .collect()
}

/// The resource without the server-managed meta fields.
fn comparable(mut resource: Value) -> Value {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            resource.as_object_mut().expect("object").remove("meta");
        }
    }
    resource
}

/// JSON equality where numbers compare by value when their text differs:
/// PostgreSQL's `jsonb` writes `1E-22` as `0.0000000000000000000001`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.to_string() == y.to_string()
                || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y)
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

db_test!(every_r4_example_round_trips_through_put_and_read, |srv| {
    let examples = r4_examples();
    assert!(examples.len() > 5000, "found {} examples", examples.len());
    let mut rejected = BTreeMap::new();
    let mut mismatched = Vec::new();
    for (file, resource) in examples {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        let resp = srv.send(Method::PUT, &path, resource).await;
        let status = resp.status().as_u16();
        if status >= 300 {
            let outcome: Value = resp.json().await.unwrap_or(Value::Null);
            rejected.insert(
                file.clone(),
                outcome["issue"][0]["diagnostics"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
            continue;
        }
        let stored = srv.get_json(&path).await;
        if !same(&comparable(stored.clone()), &comparable(resource.clone())) {
            mismatched.push(file.clone());
        }
    }
    assert!(
        mismatched.is_empty(),
        "read back differently: {mismatched:?}"
    );
    let expected = expected_rejections();
    let unexpected: Vec<_> = rejected
        .iter()
        .filter(|(f, _)| !expected.contains_key(*f))
        .collect();
    let accepted_now: Vec<_> = expected
        .keys()
        .filter(|f| !rejected.contains_key(*f))
        .collect();
    assert!(
        unexpected.is_empty(),
        "rejected but not listed in the fixture: {unexpected:#?}"
    );
    assert!(
        accepted_now.is_empty(),
        "listed as rejected but now accepted: {accepted_now:?}"
    );
});
