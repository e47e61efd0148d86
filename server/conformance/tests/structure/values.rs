//! Primitive values: the regex of each R4 primitive type, integer ranges,
//! empty strings and narrative XHTML.

use serde_json::{json, Value};
use tillit_model::IssueType;

use crate::{assert_one, observation, patient, problems};

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
fn empty_string_is_a_value_error() {
    assert_one(
        patient(json!({"name": [{"family": ""}]})),
        "Patient.name[0].family",
        IssueType::Value,
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
fn narrative_that_is_not_a_div_is_a_value_error() {
    let resource = patient(json!({"text": {"status": "generated", "div": "<p>Peter</p>"}}));
    assert_one(resource, "Patient.text.div", IssueType::Value);
}
