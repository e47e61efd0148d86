//! SNOMED CT imported from RF2 snapshot files (a small synthetic release):
//! displays from the preferred terms, designations, inactive concepts, the
//! `is a` hierarchy, and the operations on the imported code system.

mod common;

use serde_json::{json, Value};
use tillit_terminology::expand::{self, Options};
use tillit_terminology::validate::{self, Coding, Form, Request};
use tillit_terminology::{lookup, rf2, Terminology};

fn release() -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = common::Release {
        concepts: 300,
        branch_root: common::concept_id(299),
        branch: 4,
    };
    common::write(dir.path(), &spec).expect("write the release");
    (dir, spec.branch_root)
}

fn param<'a>(parameters: &'a Value, name: &str) -> &'a Value {
    parameters["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| {
            p.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("value"))
                .map(|(_, v)| v)
        })
        .unwrap_or(&Value::Null)
}

#[test]
fn an_rf2_release_becomes_a_code_system_with_its_hierarchy() {
    let (dir, branch_root) = release();
    let cs = rf2::import(dir.path()).expect("import");
    assert_eq!(cs.url, rf2::SNOMED);
    assert_eq!(
        cs.version.as_deref(),
        Some("http://snomed.info/sct/900000000000207008/version/20260731")
    );
    // Root, 300 concepts and a branch of 4 children with 3 leaves each.
    assert_eq!(cs.concepts.len(), 1 + 300 + 16);
    let concept = cs
        .concept(&common::concept_id(7).to_string())
        .expect("concept 7");
    assert_eq!(
        concept.display.as_deref(),
        Some("Concept 7"),
        "the preferred synonym"
    );
    assert_eq!(concept.designations.len(), 3);
    assert!(
        cs.concept(&common::concept_id(5).to_string())
            .unwrap()
            .inactive
    );
    let branch = cs.index(&branch_root.to_string()).unwrap();
    assert_eq!(cs.descendants(branch).len(), 16);
    let root = cs.index(&common::ROOT.to_string()).unwrap();
    assert!(cs.subsumes(root, branch));
}

#[test]
fn the_imported_code_system_answers_the_operations() {
    let (dir, branch_root) = release();
    let terminology = Terminology::new([]);
    terminology.add_code_system(rf2::import(dir.path()).expect("import"));
    let value_set = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/branch", "status": "active",
        "compose": {"include": [{"system": rf2::SNOMED, "filter": [
            {"property": "concept", "op": "descendent-of", "value": branch_root.to_string()}]}]}});
    let scope = terminology.scope(std::slice::from_ref(&value_set));
    let expansion = expand::expand(&scope, &value_set, &Options::default()).expect("expand");
    assert_eq!(expansion.entries.len(), 16);

    let leaf = expansion.entries.last().unwrap().code.clone();
    let request = Request {
        form: Form::Coding,
        codings: vec![Coding {
            system: Some(rf2::SNOMED.into()),
            code: Some(leaf.clone()),
            ..Coding::default()
        }],
        ..Request::default()
    };
    let answer = validate::validate_code(&scope, Some(&value_set), &request).expect("validate");
    assert_eq!(param(&answer, "result"), true, "{answer}");
    let outside = Request {
        codings: vec![Coding {
            system: Some(rf2::SNOMED.into()),
            code: Some(common::concept_id(7).to_string()),
            ..Coding::default()
        }],
        ..request
    };
    let answer = validate::validate_code(&scope, Some(&value_set), &outside).expect("validate");
    assert_eq!(param(&answer, "result"), false);

    let found = lookup::lookup(&scope, rf2::SNOMED, None, &leaf, &[]).expect("lookup");
    assert_eq!(param(&found, "name"), "SNOMED CT");
    assert!(
        found.to_string().contains("(finding)"),
        "the FSN is a designation"
    );
}
