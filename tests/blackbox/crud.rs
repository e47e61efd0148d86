//! read, vread, create, update, delete and patch, with their headers.

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::unique;

db_test!(create_assigns_an_id_and_returns_version_headers, |srv| {
    let resp = srv
        .send(
            Method::POST,
            "Patient",
            &json!({"resourceType": "Patient", "id": "ignored", "active": true}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["etag"], "W/\"1\"");
    assert!(resp.headers().contains_key("last-modified"));
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_ne!(id, "ignored");
    assert_eq!(location, format!("{}/Patient/{id}/_history/1", srv.base));
    assert_eq!(body["meta"]["versionId"], "1");
    assert!(body["meta"]["lastUpdated"].as_str().unwrap().ends_with('Z'));
});

db_test!(read_returns_the_current_version, |srv| {
    let id = srv
        .create(json!({"resourceType": "Patient", "gender": "female"}))
        .await;
    let resp = srv.get(&format!("Patient/{id}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/fhir+json; charset=utf-8"
    );
    assert_eq!(resp.headers()["etag"], "W/\"1\"");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["gender"], "female");
    assert_eq!(body["resourceType"], "Patient");
});

db_test!(plain_json_is_answered_as_plain_json, |srv| {
    let id = srv.create(json!({"resourceType": "Patient"})).await;
    let plain = srv
        .request(Method::GET, &format!("Patient/{id}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        plain.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let fhir = srv
        .request(Method::GET, &format!("Patient/{id}?_format=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fhir.headers()["content-type"],
        "application/fhir+json; charset=utf-8"
    );
});

db_test!(read_of_unknown_id_is_404_with_outcome, |srv| {
    let resp = srv.get(&format!("Patient/{}", unique("nobody"))).await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "not-found");
});

db_test!(update_creates_versions_and_vread_reads_each, |srv| {
    let id = unique("upd");
    let first = srv
        .send(
            Method::PUT,
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id, "gender": "male"}),
        )
        .await;
    assert_eq!(first.status(), 201, "update-as-create");
    let second = srv
        .send(
            Method::PUT,
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id, "gender": "other"}),
        )
        .await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["etag"], "W/\"2\"");
    let v1 = srv.get_json(&format!("Patient/{id}/_history/1")).await;
    assert_eq!(v1["gender"], "male");
    let v2 = srv.get_json(&format!("Patient/{id}/_history/2")).await;
    assert_eq!(v2["gender"], "other");
    assert_eq!(
        srv.get(&format!("Patient/{id}/_history/3")).await.status(),
        404
    );
});

db_test!(update_with_a_different_body_id_is_400, |srv| {
    let resp = srv
        .send(
            Method::PUT,
            "Patient/abc",
            &json!({"resourceType": "Patient", "id": "xyz"}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = srv
        .send(
            Method::PUT,
            "Patient/abc",
            &json!({"resourceType": "Patient"}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = srv
        .send(
            Method::PUT,
            "Patient/abc",
            &json!({"resourceType": "Observation", "id": "abc"}),
        )
        .await;
    assert_eq!(resp.status(), 400);
});

db_test!(if_match_with_a_stale_version_is_412, |srv| {
    let id = srv.create(json!({"resourceType": "Patient"})).await;
    let body = json!({"resourceType": "Patient", "id": id, "active": true});
    let ok = srv
        .send_with(
            Method::PUT,
            &format!("Patient/{id}"),
            &body,
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(ok.status(), 200);
    let stale = srv
        .send_with(
            Method::PUT,
            &format!("Patient/{id}"),
            &body,
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(stale.status(), 412);
});

db_test!(read_after_delete_is_gone_and_history_is_kept, |srv| {
    let id = srv.create(json!({"resourceType": "Patient"})).await;
    let resp = srv.delete(&format!("Patient/{id}")).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(srv.get(&format!("Patient/{id}")).await.status(), 410);
    assert_eq!(
        srv.get(&format!("Patient/{id}/_history/1")).await.status(),
        200
    );
    assert_eq!(
        srv.get(&format!("Patient/{id}/_history/2")).await.status(),
        410
    );
    let history = srv.get_json(&format!("Patient/{id}/_history")).await;
    assert_eq!(history["entry"].as_array().unwrap().len(), 2);
    assert_eq!(history["entry"][0]["request"]["method"], "DELETE");
    // Deleting again changes nothing.
    let again = srv.delete(&format!("Patient/{id}")).await;
    assert_eq!(again.status(), 204);
    // Updating a deleted resource brings it back as a new version.
    let back = srv
        .send(
            Method::PUT,
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id}),
        )
        .await;
    assert_eq!(back.status(), 201);
    assert_eq!(back.headers()["etag"], "W/\"3\"");
});

db_test!(
    json_patch_changes_the_resource_and_bumps_the_version,
    |srv| {
        let id = srv
            .create(
                json!({"resourceType": "Patient", "active": true, "name": [{"family": "Hansen"}]}),
            )
            .await;
        let ops = json!([
            {"op": "replace", "path": "/active", "value": false},
            {"op": "add", "path": "/name/0/given", "value": ["Kari"]}
        ]);
        let resp = srv
            .request(Method::PATCH, &format!("Patient/{id}"))
            .header("content-type", "application/json-patch+json")
            .body(ops.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["active"], false);
        assert_eq!(body["name"][0]["given"][0], "Kari");
        assert_eq!(body["meta"]["versionId"], "2");
        let history = srv.get_json(&format!("Patient/{id}/_history")).await;
        assert_eq!(history["entry"][0]["request"]["method"], "PATCH");
        // A patch that breaks the structure is refused.
        let bad = json!([{"op": "add", "path": "/unknownElement", "value": 1}]);
        let resp = srv
            .request(Method::PATCH, &format!("Patient/{id}"))
            .header("content-type", "application/json-patch+json")
            .body(bad.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);
    }
);

db_test!(conditional_read_headers_give_304, |srv| {
    let id = srv.create(json!({"resourceType": "Patient"})).await;
    let resp = srv
        .request(Method::GET, &format!("Patient/{id}"))
        .header("if-none-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = srv
        .request(Method::GET, &format!("Patient/{id}"))
        .header("if-none-match", "W/\"7\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let modified = resp.headers()["last-modified"].to_str().unwrap().to_owned();
    let resp = srv
        .request(Method::GET, &format!("Patient/{id}"))
        .header("if-modified-since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = srv
        .request(Method::GET, &format!("Patient/{id}"))
        .header("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
});

db_test!(prefer_return_shapes_the_write_response, |srv| {
    let patient = json!({"resourceType": "Patient"});
    let minimal = srv
        .send_with(
            Method::POST,
            "Patient",
            &patient,
            &[("prefer", "return=minimal")],
        )
        .await;
    assert_eq!(minimal.status(), 201);
    assert!(minimal.headers().contains_key("location"));
    assert!(minimal.bytes().await.unwrap().is_empty());
    let outcome = srv
        .send_with(
            Method::POST,
            "Patient",
            &patient,
            &[("prefer", "return=OperationOutcome")],
        )
        .await;
    let body: Value = outcome.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome");
});

db_test!(summary_and_elements_subset_a_read, |srv| {
    let id = srv.create(json!({
        "resourceType": "Patient", "active": true, "gender": "female",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Kari</div>"},
        "photo": [{"contentType": "image/png"}]
    })).await;
    let elements = srv
        .get_json(&format!("Patient/{id}?_elements=gender"))
        .await;
    assert_eq!(elements["gender"], "female");
    assert!(elements.get("active").is_none());
    assert_eq!(elements["meta"]["tag"][0]["code"], "SUBSETTED");
    let summary = srv.get_json(&format!("Patient/{id}?_summary=true")).await;
    assert_eq!(summary["gender"], "female");
    assert!(
        summary.get("photo").is_none(),
        "photo is not a summary element"
    );
    let data = srv.get_json(&format!("Patient/{id}?_summary=data")).await;
    assert!(data.get("text").is_none());
    let pretty = srv
        .get(&format!("Patient/{id}?_pretty=true"))
        .await
        .text()
        .await
        .unwrap();
    assert!(pretty.contains("\n  \"resourceType\""));
});

db_test!(every_write_is_visible_to_the_next_read, |srv| {
    // Each step reads first, so a read cache that missed an invalidation would answer stale.
    let id = unique("ryw");
    let path = format!("Patient/{id}");
    srv.send(
        Method::PUT,
        &path,
        &json!({"resourceType": "Patient", "id": id, "gender": "male"}),
    )
    .await;
    assert_eq!(srv.get_json(&path).await["gender"], "male");
    srv.send(
        Method::PUT,
        &path,
        &json!({"resourceType": "Patient", "id": id, "gender": "female"}),
    )
    .await;
    assert_eq!(srv.get_json(&path).await["gender"], "female");
    let ops = json!([{"op": "replace", "path": "/gender", "value": "other"}]);
    srv.request(Method::PATCH, &path)
        .header("content-type", "application/json-patch+json")
        .body(ops.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(srv.get_json(&path).await["gender"], "other");
    let failing = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": id, "gender": "unknown"}, "request": {"method": "PUT", "url": path}},
        {"resource": {"resourceType": "Observation", "status": "final"}, "request": {"method": "POST", "url": "Observation"}}
    ]});
    assert_eq!(srv.send(Method::POST, "", &failing).await.status(), 422);
    assert_eq!(
        srv.get_json(&path).await["gender"],
        "other",
        "a rolled-back transaction changes nothing"
    );
    let ok = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": id, "gender": "unknown"}, "request": {"method": "PUT", "url": path}}
    ]});
    assert_eq!(srv.send(Method::POST, "", &ok).await.status(), 200);
    assert_eq!(srv.get_json(&path).await["gender"], "unknown");
    srv.delete(&path).await;
    assert_eq!(srv.get(&path).await.status(), 410);
    srv.send(
        Method::PUT,
        &path,
        &json!({"resourceType": "Patient", "id": id}),
    )
    .await;
    assert_eq!(srv.get_json(&path).await["meta"]["versionId"], "6");
});
