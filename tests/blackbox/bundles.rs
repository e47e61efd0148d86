//! batch and transaction: atomicity, processing order, reference rewriting,
//! per-entry If-Match, and failures that name their entry.

use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::unique;

async fn post_bundle(srv: &crate::support::Server, bundle: &Value) -> (u16, Value) {
    let resp = srv.send(Method::POST, "", bundle).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

db_test!(
    transaction_resolves_urn_uuid_and_conditional_references,
    |srv| {
        let org_id = unique("org");
        let value = unique("fnr");
        srv.send(
            Method::PUT,
            &format!("Organization/{org_id}"),
            &json!({"resourceType": "Organization", "id": org_id,
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": org_id}]}),
        )
        .await;
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:6f1c0b0e-0000-4000-8000-000000000002", "resource": {"resourceType": "Observation", "status": "final",
                "code": {"text": "weight"}, "subject": {"reference": "urn:uuid:6f1c0b0e-0000-4000-8000-000000000001"}},
             "request": {"method": "POST", "url": "Observation"}},
            {"fullUrl": "urn:uuid:6f1c0b0e-0000-4000-8000-000000000001", "resource": {"resourceType": "Patient",
                "identifier": [{"system": "urn:test", "value": value}],
                "managingOrganization": {"reference": format!("Organization?identifier=urn:oid:2.16.578.1.12.4.1.4.101|{org_id}")}},
             "request": {"method": "POST", "url": "Patient"}}
        ]});
        let (status, response) = post_bundle(srv, &bundle).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["type"], "transaction-response");
        let obs_location = response["entry"][0]["response"]["location"]
            .as_str()
            .unwrap();
        let patient_location = response["entry"][1]["response"]["location"]
            .as_str()
            .unwrap();
        assert!(response["entry"][0]["response"]["status"]
            .as_str()
            .unwrap()
            .starts_with("201"));
        let patient_ref = patient_location.split("/_history").next().unwrap();
        let obs = srv.get_json(obs_location).await;
        assert_eq!(obs["subject"]["reference"], patient_ref);
        let patient = srv.get_json(patient_location).await;
        assert_eq!(
            patient["managingOrganization"]["reference"],
            format!("Organization/{org_id}")
        );
    }
);

db_test!(failed_transaction_rolls_back_and_names_the_entry, |srv| {
    let value = unique("rollback");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:test", "value": value}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final"},
         "request": {"method": "POST", "url": "Observation"}}
    ]});
    let (status, outcome) = post_bundle(srv, &bundle).await;
    assert_eq!(status, 422, "Observation.code is required: {outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let text = outcome["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(text.contains("entry 1"), "{text}");
    assert!(outcome["issue"][0]["expression"][0]
        .as_str()
        .unwrap()
        .starts_with("Bundle.entry[1]"));
    let search = srv
        .get_json(&format!("Patient?identifier=urn:test|{value}"))
        .await;
    assert_eq!(
        search["total"], 0,
        "the first entry must have been rolled back"
    );
});

db_test!(transaction_with_unresolvable_urn_uuid_is_refused, |srv| {
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-00000000dead"}},
         "request": {"method": "POST", "url": "Observation"}}
    ]});
    let (status, outcome) = post_bundle(srv, &bundle).await;
    assert_eq!(status, 400, "{outcome}");
});

db_test!(
    transaction_runs_deletes_before_creates_and_checks_if_match,
    |srv| {
        let id = unique("order");
        srv.send(
            Method::PUT,
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id}),
        )
        .await;
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient", "id": id, "active": true},
             "request": {"method": "PUT", "url": format!("Patient/{id}"), "ifMatch": "W/\"1\""}},
            {"request": {"method": "DELETE", "url": format!("Basic?_id={}", unique("none"))}}
        ]});
        let (status, response) = post_bundle(srv, &bundle).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["entry"][0]["response"]["etag"], "W/\"2\"");
        let stale = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient", "id": id}, "request": {"method": "PUT", "url": format!("Patient/{id}"), "ifMatch": "W/\"1\""}}
        ]});
        let (status, _) = post_bundle(srv, &stale).await;
        assert_eq!(status, 412);
    }
);

db_test!(batch_reports_each_entry_on_its_own, |srv| {
    let id = srv.create(json!({"resourceType": "Patient"})).await;
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{id}")}},
        {"resource": {"resourceType": "Patient", "bogus": 1}, "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/does-not-exist-at-all"}}
    ]});
    let (status, response) = post_bundle(srv, &bundle).await;
    assert_eq!(status, 200);
    assert_eq!(response["type"], "batch-response");
    let statuses: Vec<&str> = response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses[0], "200 OK");
    assert!(statuses[1].starts_with("422"));
    assert!(statuses[2].starts_with("201"));
    assert!(statuses[3].starts_with("404"));
    assert_eq!(
        response["entry"][1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(response["entry"][0]["resource"]["id"], id.as_str());
});

db_test!(
    deletes_run_before_conditional_creates_in_a_transaction,
    |srv| {
        let value = unique("order");
        let old = srv.create(json!({"resourceType": "Patient", "identifier": [{"system": "urn:order", "value": value}]})).await;
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:order", "value": value}]},
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier=urn:order|{value}")}},
            {"request": {"method": "DELETE", "url": format!("Patient?identifier=urn:order|{value}")}}
        ]});
        let (status, response) = post_bundle(srv, &bundle).await;
        assert_eq!(status, 200, "{response}");
        assert!(
            response["entry"][0]["response"]["status"]
                .as_str()
                .unwrap()
                .starts_with("201"),
            "{response}"
        );
        assert_eq!(srv.get(&format!("Patient/{old}")).await.status(), 410);
        let found = srv
            .get_json(&format!("Patient?identifier=urn:order|{value}"))
            .await;
        assert_eq!(found["total"], 1);
    }
);

db_test!(a_failing_read_fails_the_whole_transaction, |srv| {
    let value = unique("readfail");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:test", "value": value}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/does-not-exist-anywhere"}}
    ]});
    let (status, outcome) = post_bundle(srv, &bundle).await;
    assert_eq!(status, 404, "{outcome}");
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[1]");
    assert_eq!(
        srv.get_json(&format!("Patient?identifier=urn:test|{value}"))
            .await["total"],
        0
    );
});

db_test!(reads_in_a_transaction_see_its_writes, |srv| {
    let id = unique("seen");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{id}")}},
        {"resource": {"resourceType": "Patient", "id": id}, "request": {"method": "PUT", "url": format!("Patient/{id}")}}
    ]});
    let (status, response) = post_bundle(srv, &bundle).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["entry"][0]["resource"]["id"], id.as_str());
});

db_test!(a_malformed_entry_is_located_at_its_index, |srv| {
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST"}}
    ]});
    let (status, outcome) = post_bundle(srv, &bundle).await;
    assert_eq!(status, 400);
    assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[0]");
});

db_test!(
    a_transaction_may_not_delete_and_write_the_same_resource,
    |srv| {
        let value = unique("overlap");
        let id = srv.create(json!({"resourceType": "Patient", "identifier": [{"system": "urn:overlap", "value": value}]})).await;
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "DELETE", "url": format!("Patient?identifier=urn:overlap|{value}")}},
            {"resource": {"resourceType": "Patient", "id": id, "active": true}, "request": {"method": "PUT", "url": format!("Patient/{id}")}}
        ]});
        let (status, outcome) = post_bundle(srv, &bundle).await;
        assert_eq!(status, 400, "{outcome}");
        assert_eq!(outcome["issue"][0]["code"], "duplicate");
        assert_eq!(
            srv.get(&format!("Patient/{id}")).await.status(),
            200,
            "the delete was rolled back"
        );
    }
);

db_test!(
    transactions_patch_update_conditionally_and_match_existing_resources,
    |srv| {
        let value = unique("tx");
        let existing = srv.create(json!({"resourceType": "Patient", "identifier": [{"system": "urn:tx", "value": value}]})).await;
        let org = srv
            .create(json!({"resourceType": "Organization", "name": "before"}))
            .await;
        // A JSON Patch travels base64-encoded in a Binary.
        let patch =
            serde_json::to_vec(&json!([{"op": "replace", "path": "/name", "value": "after"}]))
                .unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(&patch);
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:tx", "value": value}]},
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier=urn:tx|{value}")}},
            {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:tx2", "value": value}], "active": true},
             "request": {"method": "PUT", "url": format!("Patient?identifier=urn:tx2|{value}")}},
            {"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data},
             "request": {"method": "PATCH", "url": format!("Organization/{org}")}}
        ]});
        let (status, response) = post_bundle(srv, &bundle).await;
        assert_eq!(status, 200, "{response}");
        assert!(response["entry"][0]["response"]["status"]
            .as_str()
            .unwrap()
            .starts_with("200"));
        assert_eq!(
            response["entry"][0]["response"]["location"],
            format!("Patient/{existing}/_history/1")
        );
        assert!(response["entry"][1]["response"]["status"]
            .as_str()
            .unwrap()
            .starts_with("201"));
        assert_eq!(
            srv.get_json(&format!("Organization/{org}")).await["name"],
            "after"
        );
        let created = srv
            .get_json(&format!("Patient?identifier=urn:tx2|{value}"))
            .await;
        assert_eq!(created["total"], 1);
        let duplicate = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Organization", "id": org}, "request": {"method": "PUT", "url": format!("Organization/{org}")}},
            {"resource": {"resourceType": "Organization", "id": org}, "request": {"method": "PUT", "url": format!("Organization/{org}")}}
        ]});
        let (status, outcome) = post_bundle(srv, &duplicate).await;
        assert_eq!(status, 400, "{outcome}");
    }
);
