//! The structural validator against the shipped R4 core package: valid
//! resources pass without issues, and each kind of structural problem is
//! reported with its FHIRPath location and issue type.

mod elements;
mod nested;
mod valid;
mod values;

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};
use tillit_conformance::{Package, PackageSource, Registry, StructureValidator};
use tillit_model::IssueType;

/// The validator over the R4 core package, built once for all tests.
fn validator() -> &'static StructureValidator {
    static VALIDATOR: OnceLock<StructureValidator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../profiles/hl7.fhir.r4.core-4.0.1.tgz"
        );
        let source = PackageSource::Path(Path::new(path).to_owned());
        let loaded = Package::read(&source, &|t| t == "StructureDefinition")
            .expect("the R4 core package ships with the repository");
        StructureValidator::new(&Registry::new(vec![loaded]))
    })
}

/// The `(expression, code)` of every issue of `resource`.
fn problems(resource: &Value) -> Vec<(String, IssueType)> {
    validator()
        .validate(resource)
        .into_iter()
        .map(|issue| (issue.expression.unwrap_or_default(), issue.code))
        .collect()
}

/// Asserts that `resource` has exactly one issue, at `expression` with `code`.
fn assert_one(resource: Value, expression: &str, code: IssueType) {
    assert_eq!(
        problems(&resource),
        vec![(expression.to_owned(), code)],
        "{resource:#}"
    );
}

/// A minimal Patient with the properties of `extra` added.
fn patient(extra: Value) -> Value {
    let mut patient = json!({"resourceType": "Patient", "id": "p1"});
    if let (Some(target), Value::Object(extra)) = (patient.as_object_mut(), extra) {
        target.extend(extra);
    }
    patient
}

/// A minimal valid Observation with the properties of `extra` added.
fn observation(extra: Value) -> Value {
    let mut observation = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}
    });
    if let (Some(target), Value::Object(extra)) = (observation.as_object_mut(), extra) {
        target.extend(extra);
    }
    observation
}
