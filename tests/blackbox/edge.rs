//! Bad input and the operations surface: every refusal is a 4xx with an
//! OperationOutcome; metadata, health and metrics answer.

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;

async fn outcome(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().await.expect("an OperationOutcome body");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    body
}

db_test!(malformed_json_reports_line_and_column, |srv| {
    let resp = srv
        .request(Method::POST, "Patient")
        .header("content-type", "application/fhir+json")
        .body("{\n  \"resourceType\": \"Patient\",\n  \"active\": ,\n  \"gender\": \"male\"\n}")
        .send()
        .await
        .unwrap();
    let body = outcome(resp, 400).await;
    let ext = body["issue"][0]["extension"].as_array().unwrap();
    assert_eq!(ext[0]["valueInteger"], 3);
});

db_test!(structural_errors_are_422_with_fhirpath_locations, |srv| {
    let resp = srv.send(Method::POST, "Patient", &json!({"resourceType": "Patient", "name": [{"given": ["Kari", 7]}], "birthDate": "1980-13-01", "foo": 1})).await;
    let body = outcome(resp, 422).await;
    let places: Vec<&str> = body["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["expression"][0].as_str())
        .collect();
    assert!(places.contains(&"Patient.name[0].given[1]"), "{places:?}");
    assert!(places.contains(&"Patient.birthDate"), "{places:?}");
    assert!(places.contains(&"Patient.foo"), "{places:?}");
});

db_test!(wrong_formats_and_routes_get_their_status, |srv| {
    let xml = srv
        .request(Method::GET, "metadata")
        .header("accept", "application/fhir+xml")
        .send()
        .await
        .unwrap();
    outcome(xml, 406).await;
    let format = srv.get("metadata?_format=xml").await;
    outcome(format, 406).await;
    let body = srv
        .request(Method::POST, "Patient")
        .header("content-type", "application/fhir+xml")
        .body("<Patient/>")
        .send()
        .await
        .unwrap();
    outcome(body, 415).await;
    outcome(srv.get("NotAType/1").await, 404).await;
    outcome(srv.get("Patient/not_a_valid_id!").await, 400).await;
    outcome(
        srv.request(Method::POST, "Patient/123")
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
    outcome(srv.get(&srv.base.replace("/fhir", "/nowhere")).await, 404).await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_configured_limit_are_413() {
    let db = crate::support::Database::fresh(crate::support::Backend::Sqlite);
    let srv = crate::support::Server::start_with(&db, &["--body-limit", "2000"]);
    let small = json!({"resourceType": "Basic", "code": {"text": "x".repeat(100)}});
    assert_eq!(srv.send(Method::POST, "Basic", &small).await.status(), 201);
    let large = json!({"resourceType": "Basic", "code": {"text": "x".repeat(5000)}});
    let body = outcome(srv.send(Method::POST, "Basic", &large).await, 413).await;
    assert_eq!(body["issue"][0]["code"], "too-long");
}

db_test!(metadata_is_generated_from_the_implementation, |srv| {
    let cs = srv.get_json("metadata").await;
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    assert!(resources.len() > 140, "every R4 resource type");
    let patient = resources.iter().find(|r| r["type"] == "Patient").unwrap();
    let interactions: Vec<&str> = patient["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    for code in [
        "read",
        "vread",
        "update",
        "patch",
        "delete",
        "create",
        "history-instance",
        "history-type",
    ] {
        assert!(interactions.contains(&code), "{code}");
    }
    let params: Vec<&str> = patient["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        params.contains(&"identifier")
            && params.contains(&"_id")
            && params.contains(&"_lastUpdated")
    );
});

db_test!(health_readiness_and_metrics_answer, |srv| {
    let root = srv.base.replace("/fhir", "");
    assert_eq!(srv.get(&format!("{root}/healthz")).await.status(), 200);
    let ready: Value = srv
        .get(&format!("{root}/readyz"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], true);
    srv.get("metadata").await;
    let metrics = srv
        .get(&format!("{root}/metrics"))
        .await
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tillit_http_requests_total"), "{metrics}");
    assert!(metrics.contains("tillit_http_request_duration_seconds"));
    assert!(metrics.contains("tillit_db_pool_connections"));
    assert!(
        !metrics.contains("tillit_panics_total"),
        "no request may reach the panic handler"
    );
});

db_test!(control_characters_in_strings_are_422_not_500, |srv| {
    let resp = srv
        .send(
            Method::POST,
            "Patient",
            &json!({"resourceType": "Patient", "name": [{"family": "a\u{0}b"}]}),
        )
        .await;
    let body = outcome(resp, 422).await;
    assert_eq!(body["issue"][0]["expression"][0], "Patient.name[0].family");
});

db_test!(undecodable_paths_and_unknown_types_get_outcomes, |srv| {
    outcome(srv.get("Patient/%FF").await, 400).await;
    let body = json!({"resourceType": "Basic"});
    outcome(srv.send(Method::POST, "NotAType", &body).await, 404).await;
    outcome(srv.send(Method::PUT, "NotAType/1", &body).await, 404).await;
    outcome(srv.delete("NotAType/1").await, 404).await;
    outcome(srv.get("NotAType/_history").await, 404).await;
    outcome(srv.get("Patient/never-existed-at-all/_history").await, 404).await;
    outcome(
        srv.request(Method::PUT, "Patient/1/_history/1")
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
});

db_test!(oversized_parameter_lists_are_refused, |srv| {
    let ids = (0..1500)
        .map(|i| format!("id{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let resp = srv
        .request(Method::POST, "Patient/_search")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_id={ids}"))
        .send()
        .await
        .unwrap();
    outcome(resp, 400).await;
    let resp = srv
        .request(Method::POST, "Patient/_search")
        .header("content-type", "application/fhir+json")
        .body("{}")
        .send()
        .await
        .unwrap();
    outcome(resp, 415).await;
});

db_test!(unknown_types_never_become_metric_labels, |srv| {
    srv.get("Zzzunknowntype/1").await;
    let root = srv.base.replace("/fhir", "");
    let metrics = srv
        .get(&format!("{root}/metrics"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("Zzzunknowntype"));
});
