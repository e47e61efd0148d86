//! The structural validator against the shipped R4 core package: valid
//! resources pass without issues, and each kind of structural problem is
//! reported with its FHIRPath location and issue type.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};
use tillit_conformance::{Package, Registry, StructureValidator};
use tillit_model::IssueType;

/// The validator over the R4 core package, built once for all tests.
fn validator() -> &'static StructureValidator {
    static VALIDATOR: OnceLock<StructureValidator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../profiles/hl7.fhir.r4.core-4.0.1.tgz"
        );
        let package =
            Package::load(Path::new(path)).expect("the R4 core package ships with the repository");
        StructureValidator::new(&Registry::new(vec![package]))
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
fn month_thirteen_is_an_invalid_date() {
    assert_one(
        patient(json!({"birthDate": "2020-13-01"})),
        "Patient.birthDate",
        IssueType::Value,
    );
}

#[test]
fn date_time_without_time_zone_is_invalid() {
    let resource = observation(json!({"effectiveDateTime": "2020-01-01T10:00:00"}));
    assert_one(
        resource,
        "Observation.effective.ofType(dateTime)",
        IssueType::Value,
    );
}

#[test]
fn id_with_a_space_is_invalid() {
    assert_one(
        patient(json!({"id": "bad id"})),
        "Patient.id",
        IssueType::Value,
    );
}

#[test]
fn id_longer_than_64_characters_is_invalid() {
    assert_one(
        patient(json!({"id": "a".repeat(65)})),
        "Patient.id",
        IssueType::Value,
    );
}

#[test]
fn code_with_double_space_is_invalid() {
    assert_one(
        patient(json!({"gender": "ma  le"})),
        "Patient.gender",
        IssueType::Value,
    );
}

#[test]
fn strings_may_hold_no_break_spaces() {
    let resource =
        patient(json!({"name": [{"text": "Dr.\u{a0}Ann\u{a0}", "family": "O\u{a0}Neil"}]}));
    assert_eq!(problems(&resource), vec![]);
}

#[test]
fn every_primitive_type_rejects_a_malformed_value() {
    let cases = [
        ("valueBase64Binary", json!("not base64!")),
        ("valueCanonical", json!("http://x y")),
        ("valueCode", json!(" leading")),
        ("valueDate", json!("2020-02-1")),
        ("valueDateTime", json!("2020-01-01T25:00:00Z")),
        ("valueId", json!("under_score")),
        ("valueInstant", json!("2020-01-01")),
        ("valueInteger", json!(1e3)),
        ("valueMarkdown", json!("")),
        ("valueOid", json!("1.2.3")),
        ("valuePositiveInt", json!(-1)),
        ("valueString", json!("")),
        ("valueTime", json!("12:00")),
        ("valueUnsignedInt", json!(-1)),
        ("valueUri", json!("a b")),
        ("valueUrl", json!("http://a b")),
        ("valueUuid", json!("urn:uuid:ABC")),
    ];
    for (property, value) in cases {
        let resource =
            patient(json!({"extension": [{"url": "http://example.org/x", property: value}]}));
        let of_type = property.trim_start_matches("value");
        let at = format!(
            "Patient.extension[0].value.ofType({}{})",
            of_type[..1].to_lowercase(),
            &of_type[1..]
        );
        assert_eq!(
            problems(&resource),
            vec![(at, IssueType::Value)],
            "{property}"
        );
    }
}

#[test]
fn every_primitive_type_accepts_a_well_formed_value() {
    let cases = [
        ("valueBase64Binary", json!("aGVsbG8=")),
        ("valueBoolean", json!(false)),
        (
            "valueCanonical",
            json!("http://hl7.org/fhir/ValueSet/x|4.0.1"),
        ),
        ("valueCode", json!("a b")),
        ("valueDate", json!("2020-02")),
        ("valueDateTime", json!("2020-01-01T23:59:60.123+14:00")),
        ("valueDecimal", json!(-0.5)),
        ("valueId", json!("a-1.B")),
        ("valueInstant", json!("2020-01-01T00:00:00Z")),
        ("valueInteger", json!(-2_147_483_648_i64)),
        ("valueMarkdown", json!("*hi*\n")),
        ("valueOid", json!("urn:oid:1.2.3")),
        ("valuePositiveInt", json!(2_147_483_647)),
        ("valueString", json!(" ")),
        ("valueTime", json!("12:00:00")),
        ("valueUnsignedInt", json!(0)),
        ("valueUri", json!("urn:x")),
        ("valueUrl", json!("http://a/b")),
        (
            "valueUuid",
            json!("urn:uuid:c757873d-ec9a-4326-a141-556f43239520"),
        ),
    ];
    for (property, value) in cases {
        let resource =
            patient(json!({"extension": [{"url": "http://example.org/x", property: value}]}));
        assert_eq!(problems(&resource), vec![], "{property}");
    }
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
fn empty_string_is_a_value_error() {
    assert_one(
        patient(json!({"name": [{"family": ""}]})),
        "Patient.name[0].family",
        IssueType::Value,
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
fn decimal_keeps_its_original_text() {
    let resource: Value = serde_json::from_str(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "valueQuantity": {"value": 0.100000000000000000000000000001}}"#,
    )
    .expect("valid JSON");
    assert_eq!(problems(&resource), vec![]);
}

#[test]
fn positive_int_zero_is_a_value_error() {
    let resource =
        patient(json!({"extension": [{"url": "http://example.org/n", "valuePositiveInt": 0}]}));
    assert_one(
        resource,
        "Patient.extension[0].value.ofType(positiveInt)",
        IssueType::Value,
    );
}

#[test]
fn integer_beyond_32_bits_is_a_value_error() {
    assert_one(
        patient(json!({"multipleBirthInteger": 2_147_483_648_i64})),
        "Patient.multipleBirth.ofType(integer)",
        IssueType::Value,
    );
}

#[test]
fn integer_with_a_fraction_is_a_value_error() {
    assert_one(
        patient(json!({"multipleBirthInteger": 1.5})),
        "Patient.multipleBirth.ofType(integer)",
        IssueType::Value,
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
fn narrative_that_is_not_a_div_is_a_value_error() {
    let resource = patient(json!({"text": {"status": "generated", "div": "<p>Peter</p>"}}));
    assert_one(resource, "Patient.text.div", IssueType::Value);
}

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
