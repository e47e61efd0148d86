//! Nested content: items by content reference, contained resources, Bundle
//! and Parameters resources, and the `resourceType` of each resource.

use serde_json::json;
use tillit_model::IssueType;

use crate::{assert_one, observation, patient};

#[test]
fn error_in_a_content_reference_item_is_located_in_the_nested_item() {
    let resource = json!({
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [{"linkId": "1", "type": "group", "item": [{"type": "string", "linkId": "1.1", "answer": "x"}]}]
    });
    assert_one(
        resource,
        "Questionnaire.item[0].item[0].answer",
        IssueType::Structure,
    );
}

#[test]
fn missing_link_id_in_a_nested_item_is_a_required_error() {
    let resource = json!({
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [{"linkId": "1", "type": "group", "item": [{"type": "display", "text": "Hi"}]}]
    });
    assert_one(
        resource,
        "Questionnaire.item[0].item[0].linkId",
        IssueType::Required,
    );
}

#[test]
fn error_in_a_contained_resource_is_located_in_it() {
    let resource = patient(json!({
        "contained": [{"resourceType": "Practitioner", "id": "pr", "name": [{"family": 1}]}]
    }));
    assert_one(
        resource,
        "Patient.contained[0].name[0].family",
        IssueType::Structure,
    );
}

#[test]
fn error_in_a_bundle_entry_resource_is_located_in_it() {
    let resource = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient(json!({}))}, {"resource": patient(json!({"gender": 1}))}]
    });
    assert_one(
        resource,
        "Bundle.entry[1].resource.gender",
        IssueType::Structure,
    );
}

#[test]
fn error_in_a_parameters_resource_is_located_in_it() {
    let resource = json!({
        "resourceType": "Parameters",
        "parameter": [{"name": "p", "resource": observation(json!({"status": ["final"]}))}]
    });
    assert_one(
        resource,
        "Parameters.parameter[0].resource.status",
        IssueType::Structure,
    );
}

#[test]
fn nested_resource_of_unknown_type_is_invalid() {
    let resource = patient(json!({"contained": [{"resourceType": "Patinet", "id": "x"}]}));
    assert_one(resource, "Patient.contained[0]", IssueType::Invalid);
}

#[test]
fn missing_resource_type_is_a_required_error() {
    assert_one(json!({"id": "x"}), "Resource", IssueType::Required);
}

#[test]
fn unknown_resource_type_is_invalid() {
    assert_one(
        json!({"resourceType": "Patinet"}),
        "Resource",
        IssueType::Invalid,
    );
}

#[test]
fn abstract_resource_type_is_invalid() {
    assert_one(
        json!({"resourceType": "DomainResource"}),
        "Resource",
        IssueType::Invalid,
    );
}

#[test]
fn resource_type_that_is_not_a_string_is_a_structure_error() {
    assert_one(json!({"resourceType": 5}), "Resource", IssueType::Structure);
}

#[test]
fn resource_that_is_not_an_object_is_a_structure_error() {
    assert_one(json!(["Patient"]), "Resource", IssueType::Structure);
}

#[test]
fn resource_type_inside_a_data_type_is_an_unknown_element() {
    let resource = patient(json!({"name": [{"resourceType": "HumanName", "family": "Doe"}]}));
    assert_one(
        resource,
        "Patient.name[0].resourceType",
        IssueType::Structure,
    );
}
