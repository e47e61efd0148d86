//! Search parameters created on the server, `$reindex` and `tillit reindex`,
//! FHIRPath Patch, and `tillit fhirpath`.

use std::process::Stdio;

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::{free_port, match_ids, tillit, Backend, Database, Fixture, Server};

fn eye_colour_parameter() -> Value {
    json!({"resourceType": "SearchParameter", "url": "http://example.org/fhir/SearchParameter/eye-colour",
        "name": "EyeColour", "status": "active", "description": "A patient's eye colour",
        "code": "eye-colour", "base": ["Patient"], "type": "token",
        "expression": "Patient.extension('http://example.org/fhir/eye-colour').value"})
}

fn patient_with_eyes(colour: &str) -> Value {
    json!({"resourceType": "Patient", "extension": [
        {"url": "http://example.org/fhir/eye-colour", "valueCode": colour}]})
}

async fn reindex_until_done(server: &Server) -> Value {
    let started = server
        .request(Method::POST, "$reindex")
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    for _ in 0..600 {
        let status = server.get_json("$reindex").await;
        if status["parameter"][0]["valueString"] == "completed" {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the reindex did not finish");
}

async fn custom_parameters_become_active(backend: Backend) {
    let db = Database::fresh(backend);
    let server = Server::start_on(&db);
    let before = server.create(patient_with_eyes("blue")).await;
    let resp = server
        .send(Method::POST, "SearchParameter", &eye_colour_parameter())
        .await;
    assert_eq!(resp.status(), 201);
    let after = server.create(patient_with_eyes("blue")).await;
    server.create(patient_with_eyes("brown")).await;
    let found = server.get_json("Patient?eye-colour=blue").await;
    assert_eq!(
        match_ids(&found),
        vec![after.clone()],
        "written after: indexed at once"
    );
    let status = reindex_until_done(&server).await;
    assert!(status["parameter"][2]["valueInteger"].as_u64().unwrap() > 2);
    let mut found = match_ids(&server.get_json("Patient?eye-colour=blue").await);
    found.sort();
    let mut expected = vec![before, after];
    expected.sort();
    assert_eq!(found, expected, "written before: indexed by $reindex");
    let statement = server.get_json("metadata").await;
    assert!(statement.to_string().contains("eye-colour"));
    drop(server);
    // The parameter survives a restart, and `tillit reindex` rebuilds offline.
    let out = tillit(&db.url, free_port(), &db.dir)
        .arg("reindex")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("reindexed"), "{stderr}");
    let server = Server::start_on(&db);
    assert_eq!(
        match_ids(&server.get_json("Patient?eye-colour=blue").await).len(),
        2
    );
    assert_eq!(
        match_ids(&server.get_json("Patient?eye-colour=brown").await).len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_search_parameters_become_active_on_sqlite() {
    custom_parameters_become_active(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_search_parameters_become_active_on_postgres() {
    custom_parameters_become_active(Backend::Postgres).await;
}

db_test!(
    fhirpath_patch_adds_replaces_inserts_moves_and_deletes,
    |srv| {
        let f = Fixture::new(srv);
        let id = f
            .create(
                json!({"resourceType": "Patient", "active": true, "birthDate": "1970-01-01",
            "name": [{"family": "Berg", "given": ["Anne", "Marie"]}],
            "identifier": [{"system": "urn:a", "value": "1"}, {"system": "urn:b", "value": "2"}]}),
            )
            .await;
        let operation = |parts: Value| json!({"name": "operation", "part": parts});
        let patch = json!({"resourceType": "Parameters", "parameter": [
            operation(json!([{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.birthDate"},
                {"name": "value", "valueDate": "1971-02-03"}])),
            operation(json!([{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
                {"name": "name", "valueString": "gender"}, {"name": "value", "valueCode": "female"}])),
            operation(json!([{"name": "type", "valueCode": "insert"}, {"name": "path", "valueString": "Patient.name[0].given"},
                {"name": "index", "valueInteger": 0}, {"name": "value", "valueString": "Kari"}])),
            operation(json!([{"name": "type", "valueCode": "move"}, {"name": "path", "valueString": "Patient.identifier"},
                {"name": "source", "valueInteger": 1}, {"name": "destination", "valueInteger": 0}])),
            operation(json!([{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.active"}])),
            operation(json!([{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
                {"name": "name", "valueString": "telecom"},
                {"name": "value", "part": [{"name": "system", "valueCode": "phone"}, {"name": "value", "valueString": "+4712345678"}]}])),
        ]});
        let resp = srv
            .send(Method::PATCH, &format!("Patient/{id}"), &patch)
            .await;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["birthDate"], "1971-02-03");
        assert_eq!(body["gender"], "female");
        assert_eq!(body["name"][0]["given"], json!(["Kari", "Anne", "Marie"]));
        assert_eq!(body["identifier"][0]["system"], "urn:b");
        assert!(body.get("active").is_none());
        assert_eq!(body["telecom"][0]["value"], "+4712345678");
        // The patched version is indexed like any other.
        assert_eq!(
            f.ids("Patient", "birthdate=1971-02-03").await,
            vec![id.clone()]
        );
        let bad = json!({"resourceType": "Parameters", "parameter": [
        operation(json!([{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.name.given"},
            {"name": "value", "valueString": "x"}]))]});
        let resp = srv
            .send(Method::PATCH, &format!("Patient/{id}"), &bad)
            .await;
        assert_eq!(
            resp.status(),
            422,
            "a path with several matches cannot be replaced"
        );
        let broken = json!({"resourceType": "Parameters", "parameter": [
        operation(json!([{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.("}]))]});
        let resp = srv
            .send(Method::PATCH, &format!("Patient/{id}"), &broken)
            .await;
        assert!(resp.status() == 400 || resp.status() == 422);
    }
);

#[test]
fn fhirpath_command_prints_typed_results() {
    let db = Database::fresh(Backend::Sqlite);
    let file = db.dir.join("patient.json");
    std::fs::write(
        &file,
        json!({"resourceType": "Patient", "birthDate": "1970-01-01",
            "name": [{"use": "official", "family": "Berg", "given": ["Anne", "Marie"]}]})
        .to_string(),
    )
    .unwrap();
    let run = |expression: &str| {
        tillit(&db.url, free_port(), &db.dir)
            .args(["fhirpath", expression, "--resource"])
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run("Patient.name.given");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed,
        json!([{"type": "string", "value": "Anne"}, {"type": "string", "value": "Marie"}])
    );
    let out = run("Patient.birthDate + 1 year");
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed[0]["value"], "1971-01-01");
    let out = run("Patient.name.(");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FHIRPath"));
}
