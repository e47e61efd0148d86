//! Search by parameter type: string, token, date, number, quantity, reference,
//! uri and composite, with their modifiers, prefixes, `:missing`, OR (commas),
//! AND (repetition) and escaping.

use serde_json::json;

use crate::db_test;
use crate::support::{sorted, Fixture};

db_test!(strings_match_prefixes_without_case_or_accents, |srv| {
    let f = Fixture::new(srv);
    let eriksen = f
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Eriksén", "given": ["Åse"]}]}),
        )
        .await;
    let erik = f
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Erikstad", "given": ["Ola"]}]}),
        )
        .await;
    assert_eq!(
        f.ids("Patient", "family=erik").await,
        sorted(&[&eriksen, &erik])
    );
    assert_eq!(
        f.ids("Patient", "family=ERIKSEN").await,
        vec![eriksen.clone()]
    );
    assert_eq!(f.ids("Patient", "name=ase").await, vec![eriksen.clone()]);
    assert_eq!(
        f.ids("Patient", "family:exact=Eriksén").await,
        vec![eriksen.clone()]
    );
    assert!(f.ids("Patient", "family:exact=eriksén").await.is_empty());
    assert_eq!(
        f.ids("Patient", "family:contains=kst").await,
        vec![erik.clone()]
    );
    // OR with commas, AND by repetition.
    assert_eq!(
        f.ids("Patient", "given=ola,ase").await,
        sorted(&[&eriksen, &erik])
    );
    assert_eq!(f.ids("Patient", "family=erik&given=ola").await, vec![erik]);
});

db_test!(string_values_escape_commas, |srv| {
    let f = Fixture::new(srv);
    let id = f
        .create(json!({"resourceType": "Organization", "name": "Hansen, Berg og Co"}))
        .await;
    f.create(json!({"resourceType": "Organization", "name": "Hansen"}))
        .await;
    assert_eq!(
        f.ids("Organization", r"name=hansen\,%20berg").await,
        vec![id]
    );
});

db_test!(tokens_match_system_and_code_forms, |srv| {
    let f = Fixture::new(srv);
    let loinc = f
        .create(json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}], "text": "Puls"}}))
        .await;
    let local = f
        .create(json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"code": "8867-4"}]}}))
        .await;
    let other = f
        .create(json!({"resourceType": "Observation", "status": "amended",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "364075005"}]}}))
        .await;
    assert_eq!(
        f.ids("Observation", "code=8867-4").await,
        sorted(&[&loinc, &local])
    );
    assert_eq!(
        f.ids("Observation", "code=http://loinc.org%7C8867-4").await,
        vec![loinc.clone()]
    );
    assert_eq!(
        f.ids("Observation", "code=%7C8867-4").await,
        vec![local.clone()]
    );
    assert_eq!(
        f.ids("Observation", "code=http://snomed.info/sct%7C").await,
        vec![other.clone()]
    );
    assert_eq!(
        f.ids("Observation", "code:text=heart").await,
        vec![loinc.clone()]
    );
    assert_eq!(
        f.ids("Observation", "code:text=puls").await,
        vec![loinc.clone()]
    );
    assert_eq!(
        f.ids("Observation", "status:not=final").await,
        vec![other.clone()]
    );
    assert_eq!(
        f.ids("Observation", "code=364075005,http://loinc.org%7C8867-4")
            .await,
        sorted(&[&loinc, &other])
    );
});

db_test!(identifiers_booleans_and_of_type, |srv| {
    let f = Fixture::new(srv);
    let fnr = "urn:oid:2.16.578.1.12.4.1.4.1";
    let id = f
        .create(json!({"resourceType": "Patient", "active": true,
            "identifier": [{"system": fnr, "value": "13031353453",
              "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NH"}]}}]}))
        .await;
    let inactive = f
        .create(json!({"resourceType": "Patient", "active": false}))
        .await;
    assert_eq!(
        f.ids("Patient", &format!("identifier={fnr}%7C13031353453"))
            .await,
        vec![id.clone()]
    );
    assert_eq!(f.ids("Patient", "active=true").await, vec![id.clone()]);
    assert_eq!(
        f.ids("Patient", "active=false").await,
        vec![inactive.clone()]
    );
    assert_eq!(
        f.ids(
            "Patient",
            "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203%7CNH%7C13031353453"
        )
        .await,
        vec![id.clone()]
    );
    assert_eq!(
        f.ids("Patient", "identifier:missing=true").await,
        vec![inactive]
    );
    assert_eq!(f.ids("Patient", "identifier:missing=false").await, vec![id]);
});

db_test!(missing_means_the_element_is_absent, |srv| {
    // A code with only text and a reference with only a display give no
    // searchable value, yet the element is there: `:missing=false` lists them.
    let f = Fixture::new(srv);
    let text_only = f
        .create(json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "Pulse"}, "subject": {"display": "Kari Nordmann"}}))
        .await;
    let coded = f
        .create(json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}))
        .await;
    assert_eq!(
        f.ids("Observation", "code:missing=true").await,
        Vec::<String>::new()
    );
    assert_eq!(
        f.ids("Observation", "code:missing=false").await,
        sorted(&[&text_only, &coded])
    );
    assert_eq!(
        f.ids("Observation", "subject:missing=true").await,
        vec![coded.clone()]
    );
    assert_eq!(
        f.ids("Observation", "subject:missing=false").await,
        vec![text_only.clone()]
    );
    assert_eq!(
        f.ids("Observation", "code:text=pulse").await,
        vec![text_only]
    );
});

db_test!(dates_compare_as_ranges_with_prefixes, |srv| {
    let f = Fixture::new(srv);
    let y1980 = f
        .create(json!({"resourceType": "Patient", "birthDate": "1980"}))
        .await;
    let d1980 = f
        .create(json!({"resourceType": "Patient", "birthDate": "1980-06-15"}))
        .await;
    let d1990 = f
        .create(json!({"resourceType": "Patient", "birthDate": "1990-01-01"}))
        .await;
    assert_eq!(
        f.ids("Patient", "birthdate=1980").await,
        sorted(&[&y1980, &d1980])
    );
    assert_eq!(
        f.ids("Patient", "birthdate=1980-06").await,
        vec![d1980.clone()]
    );
    assert_eq!(
        f.ids("Patient", "birthdate=1980-06-15").await,
        vec![d1980.clone()]
    );
    assert_eq!(
        f.ids("Patient", "birthdate=gt1985").await,
        vec![d1990.clone()]
    );
    assert_eq!(
        f.ids("Patient", "birthdate=lt1990-01-01").await,
        sorted(&[&y1980, &d1980])
    );
    assert_eq!(f.ids("Patient", "birthdate=le1990-01-01").await.len(), 3);
    assert_eq!(
        f.ids("Patient", "birthdate=ge1990").await,
        vec![d1990.clone()]
    );
    assert_eq!(
        f.ids("Patient", "birthdate=ne1980").await,
        vec![d1990.clone()]
    );
    assert_eq!(
        f.ids("Patient", "birthdate=sa1985").await,
        vec![d1990.clone()]
    );
    assert_eq!(
        f.ids("Patient", "birthdate=eb1985").await,
        sorted(&[&y1980, &d1980])
    );
    assert_eq!(
        f.ids("Patient", "birthdate=ge1980-03-01&birthdate=lt1980-12-31")
            .await,
        sorted(&[&y1980, &d1980]),
        "1980 (a year) overlaps both bounds"
    );
    assert_eq!(
        f.ids("Patient", "birthdate=ap1990-01-02").await,
        vec![d1990]
    );
});

db_test!(periods_and_instants_are_ranges_too, |srv| {
    let f = Fixture::new(srv);
    let stay = f
        .create(json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "period": {"start": "2024-03-01T08:00:00Z", "end": "2024-03-05T12:00:00Z"}}))
        .await;
    let open = f
        .create(json!({"resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "period": {"start": "2024-06-01T08:00:00Z"}}))
        .await;
    assert_eq!(
        f.ids("Encounter", "date=2024-03-03").await,
        Vec::<String>::new(),
        "a day inside a longer stay is not eq"
    );
    assert_eq!(f.ids("Encounter", "date=2024-03").await, vec![stay.clone()]);
    assert_eq!(
        f.ids("Encounter", "date=ge2024-03-03&date=le2024-03-04")
            .await,
        vec![stay.clone()]
    );
    assert_eq!(
        f.ids("Encounter", "date=gt2030-01-01").await,
        vec![open.clone()],
        "an open end reaches on"
    );
    assert_eq!(f.ids("Encounter", "date=lt2024-03-02").await, vec![stay]);
    let (status, outcome) = f.search_status("Encounter", "date=banana").await;
    assert_eq!(status, 400);
    assert!(outcome.to_string().contains("date"), "{outcome}");
});

db_test!(numbers_use_implicit_precision, |srv| {
    let f = Fixture::new(srv);
    let four = f
        .create(json!({"resourceType": "RiskAssessment", "status": "final",
            "subject": {"reference": "Patient/x"},
            "prediction": [{"probabilityDecimal": 0.4}]}))
        .await;
    let high = f
        .create(json!({"resourceType": "RiskAssessment", "status": "final",
            "subject": {"reference": "Patient/x"},
            "prediction": [{"probabilityDecimal": 0.85}]}))
        .await;
    assert_eq!(
        f.ids("RiskAssessment", "probability=0.4").await,
        vec![four.clone()]
    );
    assert_eq!(
        f.ids("RiskAssessment", "probability=0.40").await,
        vec![four.clone()]
    );
    assert_eq!(
        f.ids("RiskAssessment", "probability=gt0.5").await,
        vec![high.clone()]
    );
    assert_eq!(
        f.ids("RiskAssessment", "probability=le0.4").await,
        vec![four.clone()]
    );
    assert_eq!(
        f.ids("RiskAssessment", "probability=ne0.4").await,
        vec![high]
    );
    let (status, _) = f.search_status("RiskAssessment", "probability=lots").await;
    assert_eq!(status, 400);
});

db_test!(quantities_compare_in_canonical_units, |srv| {
    let f = Fixture::new(srv);
    let grams = f
        .create(json!({"resourceType": "Observation", "status": "final", "code": {"text": "dose"},
            "valueQuantity": {"value": 0.0054, "unit": "g", "system": "http://unitsofmeasure.org", "code": "g"}}))
        .await;
    let mg = f
        .create(json!({"resourceType": "Observation", "status": "final", "code": {"text": "dose"},
            "valueQuantity": {"value": 12, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}))
        .await;
    assert_eq!(
        f.ids(
            "Observation",
            "value-quantity=5.4%7Chttp://unitsofmeasure.org%7Cmg"
        )
        .await,
        vec![grams.clone()]
    );
    assert_eq!(
        f.ids(
            "Observation",
            "value-quantity=gt0.01%7Chttp://unitsofmeasure.org%7Cg"
        )
        .await,
        vec![mg.clone()]
    );
    assert_eq!(
        f.ids("Observation", "value-quantity=12%7C%7Cmg").await,
        vec![mg.clone()]
    );
    assert_eq!(
        f.ids("Observation", "value-quantity=lt0.01").await,
        vec![grams]
    );
});

db_test!(references_by_id_type_url_and_identifier, |srv| {
    let f = Fixture::new(srv);
    let patient = f.create(json!({"resourceType": "Patient"})).await;
    let group = f
        .create(json!({"resourceType": "Group", "type": "person", "actual": true}))
        .await;
    let to_patient = f
        .create(
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": format!("Patient/{patient}")}}),
        )
        .await;
    let to_group = f
        .create(
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": format!("Group/{group}")}}),
        )
        .await;
    let by_identifier = f
        .create(
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"identifier": {"system": "urn:fnr", "value": "123"}}}),
        )
        .await;
    assert_eq!(
        f.ids("Observation", &format!("subject={patient}")).await,
        vec![to_patient.clone()]
    );
    assert_eq!(
        f.ids("Observation", &format!("subject=Patient/{patient}"))
            .await,
        vec![to_patient.clone()]
    );
    assert_eq!(
        f.ids(
            "Observation",
            &format!("subject={}/Patient/{patient}", srv.base)
        )
        .await,
        vec![to_patient.clone()]
    );
    assert_eq!(
        f.ids("Observation", &format!("patient={patient}")).await,
        vec![to_patient.clone()]
    );
    assert_eq!(
        f.ids("Observation", &format!("subject:Group={group}"))
            .await,
        vec![to_group.clone()]
    );
    assert!(f
        .ids("Observation", &format!("subject:Group={patient}"))
        .await
        .is_empty());
    assert_eq!(
        f.ids("Observation", "subject:identifier=urn:fnr%7C123")
            .await,
        vec![by_identifier]
    );
});

db_test!(canonical_references_and_uris, |srv| {
    let f = Fixture::new(srv);
    let base = "http://example.org/fhir/ValueSet";
    let vs = f
        .create(json!({"resourceType": "ValueSet", "status": "active",
            "url": format!("{base}/colours"), "version": "2.0"}))
        .await;
    assert_eq!(
        f.ids("ValueSet", &format!("url={base}/colours")).await,
        vec![vs.clone()]
    );
    assert_eq!(
        f.ids("ValueSet", &format!("url:below={base}")).await,
        vec![vs.clone()]
    );
    assert_eq!(
        f.ids("ValueSet", &format!("url:above={base}/colours/extra"))
            .await,
        vec![vs.clone()]
    );
    assert!(f
        .ids("ValueSet", "url:below=http://elsewhere.org")
        .await
        .is_empty());
    let profile = f
        .create(json!({"resourceType": "StructureDefinition", "url": "http://example.org/fhir/StructureDefinition/p",
            "name": "P", "status": "draft", "kind": "resource", "abstract": false, "type": "Patient",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient", "derivation": "constraint"}))
        .await;
    assert_eq!(
        f.ids(
            "StructureDefinition",
            "base=http://hl7.org/fhir/StructureDefinition/Patient"
        )
        .await,
        vec![profile]
    );
});

db_test!(composite_parameters_pair_their_components, |srv| {
    let f = Fixture::new(srv);
    let systolic = |value: f64| {
        json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
             "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
             "valueQuantity": {"value": 80, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
        ]})
    };
    let high = f.create(systolic(150.0)).await;
    let normal = f.create(systolic(120.0)).await;
    assert_eq!(
        f.ids(
            "Observation",
            "component-code-value-quantity=http://loinc.org%7C8480-6$gt140"
        )
        .await,
        vec![high]
    );
    assert_eq!(
        f.ids(
            "Observation",
            "component-code-value-quantity=http://loinc.org%7C8480-6$lt130"
        )
        .await,
        vec![normal]
    );
    assert!(
        f.ids(
            "Observation",
            "component-code-value-quantity=http://loinc.org%7C8462-4$gt100"
        )
        .await
        .is_empty(),
        "components pair within one repetition only"
    );
});

db_test!(meta_parameters_tag_profile_security_source, |srv| {
    let f = Fixture::new(srv);
    let id = f
        .create(json!({"resourceType": "Patient", "meta": {
            "profile": ["http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips"],
            "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
            "source": "urn:system:ehr-1"}}))
        .await;
    f.create(json!({"resourceType": "Patient"})).await;
    assert_eq!(
        f.ids(
            "Patient",
            "_profile=http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips"
        )
        .await,
        vec![id.clone()]
    );
    assert_eq!(f.ids("Patient", "_security=R").await, vec![id.clone()]);
    assert_eq!(
        f.ids("Patient", "_source=urn:system:ehr-1").await,
        vec![id.clone()]
    );
    assert_eq!(f.ids("Patient", &format!("_id={id}")).await, vec![id]);
});

db_test!(full_text_searches_narrative_and_content, |srv| {
    let f = Fixture::new(srv);
    let diabetes = f
        .create(json!({"resourceType": "Condition",
            "subject": {"reference": "Patient/x"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Diabetes type 2, diagnosed in Ålesund</div>"},
            "code": {"text": "Sukkersyke"}}))
        .await;
    let asthma = f
        .create(json!({"resourceType": "Condition",
            "subject": {"reference": "Patient/x"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma"}]}}))
        .await;
    assert_eq!(
        f.ids("Condition", "_text=alesund").await,
        vec![diabetes.clone()]
    );
    assert_eq!(
        f.ids("Condition", "_text=diab*").await,
        vec![diabetes.clone()]
    );
    assert!(
        f.ids("Condition", "_text=sukkersyke").await.is_empty(),
        "_text is the narrative only"
    );
    assert_eq!(
        f.ids("Condition", "_content=sukkersyke").await,
        vec![diabetes.clone()]
    );
    assert_eq!(
        f.ids("Condition", "_content=asthma").await,
        vec![asthma.clone()]
    );
    assert_eq!(
        f.ids("Condition", "_content=asthma%20OR%20sukkersyke")
            .await,
        sorted(&[&diabetes, &asthma])
    );
    assert!(f
        .ids("Condition", "_content=%22type%202%20asthma%22")
        .await
        .is_empty());
});
