//! Valid resources of several shapes pass without a single issue.

use serde_json::json;
use tillit_conformance::StructureValidator;

use crate::{observation, patient, problems};

#[test]
fn validator_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<StructureValidator>();
}

#[test]
fn patient_with_names_telecom_extensions_and_contained_resource_is_valid() {
    let resource = patient(json!({
        "meta": {"versionId": "1", "lastUpdated": "2024-01-02T03:04:05.678+01:00"},
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter</div>"},
        "extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
            "valueAddress": {"city": "Oslo", "country": "NO"}
        }],
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13031353453"}],
        "active": true,
        "name": [
            {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
            {"given": ["Jim", null], "_given": [null, {"extension": [{
                "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier",
                "valueCode": "CL"
            }]}]}
        ],
        "telecom": [{"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1}],
        "gender": "male",
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
            "valueDateTime": "1974-12-25T14:35:45-05:00"
        }]},
        "deceasedBoolean": false,
        "multipleBirthInteger": 2,
        "contained": [{"resourceType": "Organization", "id": "org", "name": "Clinic"}],
        "managingOrganization": {"reference": "#org"}
    }));
    assert_eq!(problems(&resource), vec![]);
}

#[test]
fn observation_with_value_quantity_and_components_is_valid() {
    let resource = observation(json!({
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-05-01",
        "valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
        "component": [
            {"code": {"text": "systolic"}, "valueQuantity": {"value": 107, "unit": "mmHg"}},
            {"code": {"text": "note"}, "valueString": "seated", "interpretation": [{"text": "normal"}]}
        ],
        "referenceRange": [{"low": {"value": 1e2}, "text": "normal"}]
    }));
    assert_eq!(problems(&resource), vec![]);
}

#[test]
fn bundle_with_entries_is_valid() {
    let resource = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
                "resource": patient(json!({"name": [{"family": "Doe"}]})),
                "request": {"method": "POST", "url": "Patient"}
            },
            {
                "resource": observation(json!({"valueBoolean": true})),
                "request": {"method": "PUT", "url": "Observation/o1"}
            }
        ]
    });
    assert_eq!(problems(&resource), vec![]);
}

#[test]
fn questionnaire_with_nested_items_is_valid() {
    let resource = json!({
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [{
            "linkId": "1",
            "type": "group",
            "item": [
                {"linkId": "1.1", "type": "boolean", "text": "Smoker?"},
                {"linkId": "1.2", "type": "group", "item": [{
                    "linkId": "1.2.1",
                    "type": "integer",
                    "enableWhen": [{"question": "1.1", "operator": "=", "answerBoolean": true}]
                }]}
            ]
        }]
    });
    assert_eq!(problems(&resource), vec![]);
}

#[test]
fn parameters_with_a_resource_is_valid() {
    let resource = json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "count", "valueInteger": -3},
            {"name": "patient", "resource": patient(json!({}))},
            {"name": "nested", "part": [{"name": "inner", "valueDecimal": 1.50}]}
        ]
    });
    assert_eq!(problems(&resource), vec![]);
}
