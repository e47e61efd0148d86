//! Conditional create, update and delete with the spec's 0/1/many outcomes,
//! and the search parameters they rely on.

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::unique;

fn patient(system: &str, value: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": system, "value": value}]})
}

db_test!(conditional_create_returns_the_single_match, |srv| {
    let value = unique("fnr");
    let query = format!("identifier=urn:oid:2.16.578.1.12.4.1.4.1|{value}");
    let create = || {
        srv.request(Method::POST, "Patient")
            .header("content-type", "application/fhir+json")
            .header("if-none-exist", &query)
            .body(patient("urn:oid:2.16.578.1.12.4.1.4.1", &value).to_string())
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status(), 201);
    let first_id = first.json::<Value>().await.unwrap()["id"].clone();
    let second = create().await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(second.json::<Value>().await.unwrap()["id"], first_id);
});

db_test!(conditional_create_with_two_matches_is_412, |srv| {
    let value = unique("dup");
    srv.create(patient("urn:test", &value)).await;
    srv.create(patient("urn:test", &value)).await;
    let resp = srv
        .request(Method::POST, "Patient")
        .header("content-type", "application/fhir+json")
        .header("if-none-exist", format!("identifier={value}"))
        .body(patient("urn:test", &value).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 412);
});

db_test!(
    conditional_update_creates_then_updates_then_refuses_many,
    |srv| {
        let value = unique("cu");
        let url = format!("Patient?identifier=urn:test|{value}");
        let created = srv
            .send(Method::PUT, &url, &patient("urn:test", &value))
            .await;
        assert_eq!(created.status(), 201);
        let id = created.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut changed = patient("urn:test", &value);
        changed["active"] = json!(true);
        let updated = srv.send(Method::PUT, &url, &changed).await;
        assert_eq!(updated.status(), 200);
        let body: Value = updated.json().await.unwrap();
        assert_eq!(body["id"], id.as_str());
        assert_eq!(body["meta"]["versionId"], "2");
        srv.create(patient("urn:test", &value)).await;
        assert_eq!(srv.send(Method::PUT, &url, &changed).await.status(), 412);
    }
);

db_test!(conditional_delete_removes_every_match, |srv| {
    let value = unique("cd");
    let a = srv.create(patient("urn:test", &value)).await;
    let b = srv.create(patient("urn:test", &value)).await;
    let resp = srv.delete(&format!("Patient?identifier={value}")).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(srv.get(&format!("Patient/{a}")).await.status(), 410);
    assert_eq!(srv.get(&format!("Patient/{b}")).await.status(), 410);
    // No criteria is refused rather than deleting everything.
    let resp = srv.delete("Patient?unknownParam=1").await;
    assert_eq!(resp.status(), 400);
});

db_test!(search_by_id_identifier_and_last_updated, |srv| {
    let value = unique("s");
    let id = srv.create(patient("urn:test", &value)).await;
    let by_identifier = srv
        .get_json(&format!("Patient?identifier=urn:test|{value}"))
        .await;
    assert_eq!(by_identifier["type"], "searchset");
    assert_eq!(by_identifier["total"], 1);
    assert_eq!(by_identifier["entry"][0]["resource"]["id"], id.as_str());
    let by_id = srv
        .get_json(&format!("Patient?_id={id},does-not-exist"))
        .await;
    assert_eq!(by_id["total"], 1);
    let none = srv
        .get_json(&format!("Patient?_id={id}&_lastUpdated=lt2001-01-01"))
        .await;
    assert_eq!(none["total"], 0);
    let recent = srv
        .get_json(&format!("Patient?_id={id}&_lastUpdated=gt2001-01-01"))
        .await;
    assert_eq!(recent["total"], 1);
    let posted = srv
        .request(Method::POST, "Patient/_search")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_id={id}"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(posted["total"], 1);
});

db_test!(search_pages_with_a_keyset_cursor, |srv| {
    let value = unique("page");
    for _ in 0..5 {
        srv.create(patient("urn:page", &value)).await;
    }
    let first = srv
        .get_json(&format!("Patient?identifier=urn:page|{value}&_count=2"))
        .await;
    assert_eq!(first["total"], 5);
    let mut seen: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        seen.extend(
            page["entry"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned()),
        );
        let Some(next) = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
        else {
            break;
        };
        page = srv.get_json(next["url"].as_str().unwrap()).await;
    }
    assert_eq!(seen.len(), 5);
    let mut unique_ids = seen.clone();
    unique_ids.sort();
    unique_ids.dedup();
    assert_eq!(unique_ids.len(), 5);
});

db_test!(
    conformance_resources_are_searchable_by_url_version_and_name,
    |srv| {
        let by_url = srv.get_json("StructureDefinition?url=http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips").await;
        assert_eq!(by_url["total"], 1);
        assert_eq!(by_url["entry"][0]["resource"]["version"], "2.0.0");
        let by_version = srv.get_json("StructureDefinition?url=http://hl7.org/fhir/StructureDefinition/Patient&version=4.0.1").await;
        assert_eq!(by_version["total"], 1);
        let by_name = srv.get_json("ValueSet?name=AdministrativeGend").await;
        assert!(by_name["total"].as_i64().unwrap() >= 1);
        let read = srv.get_json("StructureDefinition/Patient").await;
        assert_eq!(read["type"], "Patient");
        let sp = srv
            .get_json(
                "SearchParameter?url=http://hl7.org/fhir/SearchParameter/individual-birthdate",
            )
            .await;
        assert_eq!(sp["total"], 1);
    }
);

db_test!(
    unknown_search_parameters_warn_or_fail_as_the_client_prefers,
    |srv| {
        let lenient = srv.get_json("Patient?_id=x&unknown-param=1").await;
        let outcome = lenient["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["search"]["mode"] == "outcome")
            .unwrap();
        assert!(outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("unknown-param"));
        let strict = srv
            .request(Method::GET, "Patient?_id=x&unknown-param=1")
            .header("prefer", "handling=strict")
            .send()
            .await
            .unwrap();
        assert_eq!(strict.status(), 400);
        for bad in [
            "Patient?_count=many",
            "Patient?_lastUpdated=yesterday",
            "Patient/_history?_since=soon",
            "Patient/_history?_count=x",
        ] {
            let resp = srv.get(bad).await;
            assert_eq!(resp.status(), 400, "{bad}");
            assert_eq!(
                resp.json::<Value>().await.unwrap()["resourceType"],
                "OperationOutcome"
            );
        }
        let resp = srv
            .send_with(
                Method::PUT,
                "Patient/x",
                &json!({"resourceType": "Patient", "id": "x"}),
                &[("if-match", "not-an-etag")],
            )
            .await;
        assert_eq!(resp.status(), 400);
        srv.create(json!({"resourceType": "Patient"})).await;
        let count = srv.get_json("Patient?_summary=count").await;
        assert!(count["total"].as_i64().unwrap() > 0);
        assert!(count.get("entry").is_none());
    }
);
