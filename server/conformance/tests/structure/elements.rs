//! Elements: unknown properties, JSON types, arrays, cardinality, choice
//! types, nulls, empty values and the `_name` extensions of primitives.

use serde_json::json;
use tillit_model::IssueType;

use crate::{assert_one, observation, patient, problems, validator};

#[test]
fn unknown_element_is_a_structure_error() {
    assert_one(
        patient(json!({"foo": 1})),
        "Patient.foo",
        IssueType::Structure,
    );
}

#[test]
fn unknown_element_in_a_data_type_is_located_inside_it() {
    let resource = patient(json!({"name": [{"family": "Doe"}, {"family": "Roe", "middle": "X"}]}));
    assert_one(resource, "Patient.name[1].middle", IssueType::Structure);
}

#[test]
fn unknown_element_message_names_the_element() {
    let issues = validator().validate(&patient(json!({"foo": 1})));
    assert!(
        issues[0].diagnostics.contains("Unknown element 'foo'"),
        "{issues:?}"
    );
}

#[test]
fn string_for_a_boolean_is_a_structure_error() {
    assert_one(
        patient(json!({"active": "yes"})),
        "Patient.active",
        IssueType::Structure,
    );
}

#[test]
fn number_for_a_string_is_a_structure_error() {
    let resource = patient(json!({"name": [{"given": ["Ann", 7]}]}));
    assert_one(resource, "Patient.name[0].given[1]", IssueType::Structure);
}

#[test]
fn string_for_a_complex_type_is_a_structure_error() {
    assert_one(
        patient(json!({"maritalStatus": "married"})),
        "Patient.maritalStatus",
        IssueType::Structure,
    );
}

#[test]
fn array_for_a_single_element_is_a_structure_error() {
    assert_one(
        patient(json!({"gender": ["male"]})),
        "Patient.gender",
        IssueType::Structure,
    );
}

#[test]
fn single_value_for_a_repeating_element_is_a_structure_error() {
    assert_one(
        patient(json!({"name": {"family": "Doe"}})),
        "Patient.name",
        IssueType::Structure,
    );
}

#[test]
fn missing_code_and_status_are_required_errors() {
    let resource = json!({"resourceType": "Observation", "valueString": "x"});
    let mut found = problems(&resource);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let expected = vec![
        ("Observation.code".to_owned(), IssueType::Required),
        ("Observation.status".to_owned(), IssueType::Required),
    ];
    assert_eq!(found, expected);
}

#[test]
fn extension_without_url_is_a_required_error() {
    let resource = patient(json!({"extension": [{"valueString": "x"}]}));
    assert_one(resource, "Patient.extension[0].url", IssueType::Required);
}

#[test]
fn unknown_choice_type_is_an_unknown_element() {
    assert_one(
        observation(json!({"valueFoo": "x"})),
        "Observation.valueFoo",
        IssueType::Structure,
    );
}

#[test]
fn choice_type_not_allowed_for_the_element_is_an_unknown_element() {
    assert_one(
        patient(json!({"deceasedString": "yes"})),
        "Patient.deceasedString",
        IssueType::Structure,
    );
}

#[test]
fn two_types_of_one_choice_element_are_a_structure_error() {
    let resource = observation(json!({"valueString": "a", "valueQuantity": {"value": 1}}));
    assert_one(
        resource,
        "Observation.value.ofType(Quantity)",
        IssueType::Structure,
    );
}

#[test]
fn error_inside_a_choice_value_is_located_through_its_type() {
    let resource = observation(json!({"valueQuantity": {"value": "1.5"}}));
    assert_one(
        resource,
        "Observation.value.ofType(Quantity).value",
        IssueType::Structure,
    );
}

#[test]
fn empty_object_is_a_structure_error() {
    assert_one(
        patient(json!({"name": [{}]})),
        "Patient.name[0]",
        IssueType::Structure,
    );
}

#[test]
fn empty_array_is_a_structure_error() {
    assert_one(
        patient(json!({"name": []})),
        "Patient.name",
        IssueType::Structure,
    );
}

#[test]
fn null_value_is_a_structure_error() {
    assert_one(
        patient(json!({"birthDate": null})),
        "Patient.birthDate",
        IssueType::Structure,
    );
}

#[test]
fn null_array_item_without_extension_is_a_structure_error() {
    let resource = patient(json!({"name": [{"given": ["Ann", null]}]}));
    assert_one(resource, "Patient.name[0].given[1]", IssueType::Structure);
}

#[test]
fn decimal_written_as_a_string_is_a_structure_error() {
    let resource = observation(json!({"valueQuantity": {"value": "12,5"}}));
    assert_one(
        resource,
        "Observation.value.ofType(Quantity).value",
        IssueType::Structure,
    );
}

#[test]
fn extension_of_a_complex_element_is_a_structure_error() {
    let resource = patient(json!({"name": [{"family": "Doe"}], "_name": [{"id": "n"}]}));
    assert_one(resource, "Patient.name", IssueType::Structure);
}

#[test]
fn extension_without_an_element_is_an_unknown_element() {
    assert_one(
        patient(json!({"_foo": {"id": "x"}})),
        "Patient._foo",
        IssueType::Structure,
    );
}

#[test]
fn unknown_element_inside_a_primitive_extension_is_located_at_the_primitive() {
    let resource = patient(json!({"birthDate": "1970", "_birthDate": {"value": "x"}}));
    assert_one(resource, "Patient.birthDate.value", IssueType::Structure);
}

#[test]
fn misaligned_extension_array_is_a_structure_error() {
    let resource = patient(json!({"name": [{"given": ["A", "B"], "_given": [{"id": "g"}]}]}));
    assert_one(resource, "Patient.name[0].given", IssueType::Structure);
}

#[test]
fn null_in_both_value_and_extension_arrays_is_a_structure_error() {
    let resource =
        patient(json!({"name": [{"given": ["A", null], "_given": [{"id": "g"}, null]}]}));
    assert_one(resource, "Patient.name[0].given[1]", IssueType::Structure);
}

#[test]
fn every_problem_of_a_resource_is_reported() {
    let resource = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "issued": "yesterday",
        "note": [{"text": ""}],
        "foo": true
    });
    let found: Vec<String> = problems(&resource).into_iter().map(|(at, _)| at).collect();
    assert_eq!(
        found,
        [
            "Observation.issued",
            "Observation.note[0].text",
            "Observation.foo"
        ]
    );
}
