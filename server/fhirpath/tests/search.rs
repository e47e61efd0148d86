//! The R4 search parameters and invariants: every expression in the core package parses, the
//! search parameters evaluate, and a dozen of them extract what an index needs from examples.

use serde_json::{json, Value};
use tillit_fhirpath::{Environment, Expression, Item};

use crate::package::{core, input};

#[test]
fn every_r4_search_parameter_expression_parses() {
    let parameters = &core().search_parameters;
    assert!(
        parameters.len() > 1000,
        "found only {} search parameters",
        parameters.len()
    );
    let failures: Vec<String> = parameters
        .iter()
        .filter_map(|(id, expression)| {
            Expression::parse(expression)
                .err()
                .map(|e| format!("{id}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "search parameters that do not parse:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_r4_invariant_parses() {
    let invariants = &core().invariants;
    assert!(
        invariants.len() > 150,
        "found only {} invariants",
        invariants.len()
    );
    let failures: Vec<String> = invariants
        .iter()
        .filter_map(|(key, expression)| {
            Expression::parse(expression)
                .err()
                .map(|e| format!("{key}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "invariants that do not parse:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_r4_search_parameter_evaluates_on_the_examples_without_error() {
    let model = &core().model;
    let env = Environment::new(model);
    let resources = [
        "patient-example.json",
        "observation-example.json",
        "questionnaire-example.json",
        "valueset-example-expansion.json",
    ]
    .map(input);
    let mut failures = Vec::new();
    for (id, text) in &core().search_parameters {
        let expression = Expression::parse(text).expect("parses");
        for resource in &resources {
            if let Err(error) = expression.evaluate(resource, &env) {
                failures.push(format!("{id} on {}: {error}", resource["resourceType"]));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "search parameters that fail:\n{}",
        failures.join("\n")
    );
}

/// Evaluates and renders each item as JSON, with its type.
fn extract(expression: &str, resource: &Value) -> Vec<(String, Value)> {
    let model = &core().model;
    let env = Environment::new(model);
    let expression = Expression::parse(expression).expect("parses");
    let items = expression.evaluate(resource, &env).expect("evaluates");
    items
        .iter()
        .map(|item: &Item<'_>| (item.type_name().to_owned(), item.to_json()))
        .collect()
}

fn types(extracted: &[(String, Value)]) -> Vec<&str> {
    extracted.iter().map(|(t, _)| t.as_str()).collect()
}

#[test]
fn patient_search_parameters_extract_names_dates_and_tokens() {
    let patient = input("patient-example.json");
    let names = extract("Patient.name", &patient);
    assert_eq!(types(&names), ["HumanName"; 3]);
    let family = extract("Patient.name.family", &patient);
    assert_eq!(
        family
            .iter()
            .map(|(_, v)| v.as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["Chalmers", "Windsor"]
    );
    assert_eq!(
        extract("Patient.birthDate", &patient),
        [("date".to_owned(), json!("1974-12-25"))]
    );
    assert_eq!(
        types(&extract("Patient.telecom.where(system='phone')", &patient)),
        ["ContactPoint"; 3]
    );
    assert_eq!(
        types(&extract("Patient.identifier", &patient)),
        ["Identifier"]
    );
    assert_eq!(types(&extract("Patient.gender", &patient)), ["code"]);
    let deceased = extract(
        "Patient.deceased.exists() and Patient.deceased != false",
        &patient,
    );
    assert_eq!(deceased, [("Boolean".to_owned(), json!(false))]);
    assert_eq!(
        types(&extract("Patient.managingOrganization", &patient)),
        ["Reference"]
    );
    assert_eq!(
        types(&extract(
            "Patient.address.city | Patient.address.country",
            &patient
        )),
        ["string"]
    );
    assert_eq!(
        types(&extract("Patient.link.other", &patient)),
        Vec::<&str>::new()
    );
}

#[test]
fn observation_search_parameters_extract_subject_value_and_effective() {
    let observation = input("observation-example.json");
    let subject = extract(
        "Observation.subject.where(resolve() is Patient)",
        &observation,
    );
    assert_eq!(
        subject,
        [(
            "Reference".to_owned(),
            json!({"reference": "Patient/example"})
        )]
    );
    assert!(extract(
        "Observation.subject.where(resolve() is Group)",
        &observation
    )
    .is_empty());
    let value = extract(
        "(Observation.value as Quantity) | (Observation.value as SampledData)",
        &observation,
    );
    assert_eq!(types(&value), ["Quantity"]);
    assert_eq!(value[0].1["code"], json!("[lb_av]"));
    let effective = extract("Observation.effective", &observation);
    assert_eq!(types(&effective), ["dateTime"]);
    let code = extract("Observation.code", &observation);
    assert_eq!(types(&code), ["CodeableConcept"]);
    let combo = extract(
        "(Observation.value as Quantity) | (Observation.value as SampledData) | (Observation.component.value as Quantity) | (Observation.component.value as SampledData)",
        &observation,
    );
    assert_eq!(types(&combo), ["Quantity"]);
    let category = extract("Observation.category", &observation);
    assert_eq!(types(&category), ["CodeableConcept"]);
    let clinical = extract(
        "AllergyIntolerance.code | Condition.code | Observation.code | Procedure.code",
        &observation,
    );
    assert_eq!(types(&clinical), ["CodeableConcept"]);
}

#[test]
fn condition_onset_choices_extract_by_type() {
    let condition = json!({"resourceType": "Condition", "id": "c",
        "onsetPeriod": {"start": "2012-01-01"}, "abatementAge": {"value": 4, "system": "http://unitsofmeasure.org", "code": "a"},
        "subject": {"reference": "http://example.org/fhir/Patient/p1/_history/2"}});
    let onset = extract(
        "Condition.onset.as(dateTime) | Condition.onset.as(Period)",
        &condition,
    );
    assert_eq!(types(&onset), ["Period"]);
    assert_eq!(
        types(&extract(
            "Condition.abatement.as(Age) | Condition.abatement.as(Range)",
            &condition
        )),
        ["Age"]
    );
    assert!(extract("Condition.abatement.as(string)", &condition).is_empty());
    assert_eq!(
        types(&extract(
            "Condition.subject.where(resolve() is Patient)",
            &condition
        )),
        ["Reference"]
    );
}

#[test]
fn use_context_values_are_filtered_leniently_over_several_items() {
    let plan = json!({"resourceType": "PlanDefinition", "status": "active", "useContext": [
        {"code": {"code": "age"}, "valueRange": {"low": {"value": 1}}},
        {"code": {"code": "focus"}, "valueCodeableConcept": {"text": "x"}},
        {"code": {"code": "gender"}, "valueQuantity": {"value": 3}}]});
    let concepts = extract(
        "(PlanDefinition.useContext.value as CodeableConcept)",
        &plan,
    );
    assert_eq!(types(&concepts), ["CodeableConcept"]);
    let quantities = extract("(PlanDefinition.useContext.value as Quantity) | (PlanDefinition.useContext.value as Range)", &plan);
    assert_eq!(types(&quantities), ["Quantity", "Range"]);
}

#[test]
fn bundle_and_contained_resources_are_typed_by_resource_type() {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "1", "active": true}},
        {"resource": {"resourceType": "Observation", "id": "2", "status": "final", "subject": {"reference": "urn:uuid:1"}}}]});
    assert_eq!(
        types(&extract("Bundle.entry.resource", &bundle)),
        ["Patient", "Observation"]
    );
    assert_eq!(
        types(&extract(
            "Bundle.entry.resource.ofType(Patient).active",
            &bundle
        )),
        ["boolean"]
    );
    let subject = extract(
        "Bundle.entry.resource.ofType(Observation).subject.resolve()",
        &bundle,
    );
    assert_eq!(
        subject,
        [(
            "Patient".to_owned(),
            json!({"resourceType": "Patient", "id": "1", "active": true})
        )]
    );
    let parameters = json!({"resourceType": "Parameters", "parameter": [{"name": "p", "resource": {"resourceType": "Patient", "id": "x"}}]});
    assert_eq!(
        types(&extract("Parameters.parameter.resource", &parameters)),
        ["Patient"]
    );
    assert_eq!(
        types(&extract(
            "Parameters.parameter.resource.is(DomainResource)",
            &parameters
        )),
        ["Boolean"]
    );
}
