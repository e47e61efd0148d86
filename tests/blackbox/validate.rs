//! `$validate`, validate-on-write and `tillit validate` through the real
//! binary: every problem reported at once with its location, profiles from the
//! packages and from the API, on SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::{json, Value};
use std::process::Stdio;

use crate::db_test;
use crate::support::{free_port, tillit, unique, Backend, Database, Server};

const IPS_PATIENT: &str = "http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips";
const IPS_BUNDLE: &str = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips";

/// `(severity, expression)` of every issue of an OperationOutcome.
fn issues(outcome: &Value) -> Vec<(String, String)> {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["severity"].as_str().unwrap_or_default().to_owned(),
                i["expression"][0].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn has_error_at(outcome: &Value, expression: &str) -> bool {
    issues(outcome)
        .iter()
        .any(|(s, e)| s == "error" && e == expression)
}

/// The IPS all-sections document from the shipped IPS package.
fn ips_document() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../profiles/hl7.fhir.uv.ips-2.0.0.tgz");
    let file = std::fs::File::open(path).expect("IPS package");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        if name == "package/example/Bundle-bundle-ips-all-sections.json" {
            return serde_json::from_reader(&mut entry).expect("json");
        }
    }
    panic!("no all-sections example in the IPS package");
}

async fn validate(srv: &Server, path: &str, body: &str) -> (u16, Value) {
    let response = srv
        .request(Method::POST, path)
        .header("content-type", "application/fhir+json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("an OperationOutcome"))
}

db_test!(
    validate_reports_every_problem_with_200_and_positions,
    |srv| {
        let body = "{\n  \"resourceType\": \"Patient\",\n  \"birthDate\": 1980,\n  \"colour\": \"blue\",\n  \"gender\": \"female\"\n}";
        let (status, outcome) = validate(srv, "Patient/$validate", body).await;
        assert_eq!(status, 200, "{outcome}");
        assert!(has_error_at(&outcome, "Patient.birthDate"), "{outcome}");
        assert!(has_error_at(&outcome, "Patient.colour"), "{outcome}");
        let colour = outcome["issue"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["expression"][0] == "Patient.colour")
            .unwrap();
        assert_eq!(colour["extension"][0]["valueInteger"], 4, "line: {colour}");
        assert_eq!(
            colour["extension"][1]["valueInteger"], 13,
            "column: {colour}"
        );

        let valid = json!({"resourceType": "Patient", "gender": "female"}).to_string();
        let (status, outcome) = validate(srv, "Patient/$validate", &valid).await;
        assert_eq!(status, 200);
        assert!(
            !issues(&outcome).iter().any(|(s, _)| s == "error"),
            "{outcome}"
        );
        assert!(
            outcome.to_string().contains("dom-6"),
            "best practice: a resource without narrative gets dom-6's warning: {outcome}"
        );
    }
);

db_test!(
    validate_checks_a_profile_named_in_parameters_or_the_query,
    |srv| {
        let patient = json!({"resourceType": "Patient", "gender": "female"});
        let parameters = json!({"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": patient},
            {"name": "profile", "valueUri": IPS_PATIENT},
        ]});
        let (status, outcome) = validate(srv, "Patient/$validate", &parameters.to_string()).await;
        assert_eq!(status, 200);
        assert!(
            has_error_at(&outcome, "Patient"),
            "name and birthDate are required by IPS: {outcome}"
        );
        let text = outcome.to_string();
        assert!(
            text.contains("Patient.name: minimum required = 1"),
            "{text}"
        );
        assert!(
            text.contains("Patient.birthDate: minimum required = 1"),
            "{text}"
        );

        let document = ips_document().to_string();
        let (status, outcome) = validate(
            srv,
            &format!("Bundle/$validate?profile={IPS_BUNDLE}"),
            &document,
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            !issues(&outcome).iter().any(|(s, _)| s == "error"),
            "{outcome}"
        );

        let mut broken = ips_document();
        broken["entry"].as_array_mut().unwrap().remove(1);
        let (_, outcome) = validate(
            srv,
            &format!("Bundle/$validate?profile={IPS_BUNDLE}"),
            &broken.to_string(),
        )
        .await;
        assert!(
            outcome
                .to_string()
                .contains("slice 'patient' of Bundle.entry: minimum required = 1"),
            "{outcome}"
        );
    }
);

db_test!(
    validate_on_an_instance_reads_it_and_checks_the_mode,
    |srv| {
        let id = srv
            .create(json!({"resourceType": "Patient", "gender": "male"}))
            .await;
        let (status, outcome) = validate(srv, &format!("Patient/{id}/$validate"), "").await;
        assert_eq!(status, 200, "{outcome}");
        assert!(
            !issues(&outcome).iter().any(|(s, _)| s == "error"),
            "{outcome}"
        );

        let other = json!({"resourceType": "Patient", "id": "someone-else"}).to_string();
        let (_, outcome) =
            validate(srv, &format!("Patient/{id}/$validate?mode=update"), &other).await;
        assert!(has_error_at(&outcome, "Patient.id"), "{outcome}");

        let (status, outcome) =
            validate(srv, &format!("Patient/{id}/$validate?mode=delete"), "").await;
        assert_eq!(status, 200, "{outcome}");
        let (status, _) = validate(srv, "Patient/$validate?mode=sideways", &other).await;
        assert_eq!(status, 400);
        let (status, _) = validate(srv, "Observation/$validate", &other).await;
        assert_eq!(status, 400, "a Patient is not an Observation");
        let (status, _) = validate(srv, "Patient/does-not-exist/$validate", "").await;
        assert_eq!(status, 404);
    }
);

db_test!(
    a_structure_definition_created_over_the_api_is_a_profile_at_once,
    |srv| {
        // A profile of our own: the IPS Patient under a new URL, with gender required too.
        let url = format!(
            "http://example.org/fhir/StructureDefinition/{}",
            unique("patient")
        );
        let mut profile = srv
            .get_json(&format!("StructureDefinition?url={IPS_PATIENT}"))
            .await["entry"][0]["resource"]
            .clone();
        assert_eq!(profile["url"], IPS_PATIENT, "the IPS profile is installed");
        profile.as_object_mut().unwrap().remove("id");
        profile["url"] = url.clone().into();
        for element in profile["snapshot"]["element"].as_array_mut().unwrap() {
            if element["id"] == "Patient.gender" {
                element["min"] = 1.into();
            }
        }
        srv.create(profile).await;
        let patient = json!({"resourceType": "Patient", "meta": {"profile": [url]},
        "name": [{"family": "Nordmann"}], "birthDate": "1980-01-01"});
        let (_, outcome) = validate(srv, "Patient/$validate", &patient.to_string()).await;
        assert!(
            outcome
                .to_string()
                .contains("Patient.gender: minimum required = 1"),
            "{outcome}"
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_refused_with_422_when_a_required_profile_fails() {
    let db = Database::fresh(Backend::Sqlite);
    let flag = format!("Patient={IPS_PATIENT}");
    let srv = Server::start_with(&db, &["--require-profiles", &flag]);
    let response = srv
        .send(
            Method::POST,
            "Patient",
            &json!({"resourceType": "Patient", "gender": "female"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let outcome: Value = response.json().await.unwrap();
    assert!(
        outcome
            .to_string()
            .contains("Patient.name: minimum required = 1"),
        "{outcome}"
    );
    let good = json!({"resourceType": "Patient", "name": [{"family": "Nordmann"}], "birthDate": "1980-01-01"});
    assert_eq!(
        srv.send(Method::POST, "Patient", &good)
            .await
            .status()
            .as_u16(),
        201
    );
    let observation =
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}});
    assert_eq!(
        srv.send(Method::POST, "Observation", &observation)
            .await
            .status()
            .as_u16(),
        201,
        "other types are not held to the Patient profile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_profiles_are_enforced_on_write_when_configured() {
    let db = Database::fresh(Backend::Sqlite);
    let srv = Server::start_with(&db, &["--validate-writes", "declared-profiles"]);
    let declared =
        json!({"resourceType": "Patient", "meta": {"profile": [IPS_PATIENT]}, "gender": "female"});
    assert_eq!(
        srv.send(Method::POST, "Patient", &declared)
            .await
            .status()
            .as_u16(),
        422
    );
    let undeclared = json!({"resourceType": "Patient", "gender": "female"});
    assert_eq!(
        srv.send(Method::POST, "Patient", &undeclared)
            .await
            .status()
            .as_u16(),
        201
    );
}

#[test]
fn the_command_line_validates_files_folders_and_ndjson() {
    let db = Database::fresh(Backend::Sqlite);
    let folder = db.dir.join("resources");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("document.json"), ips_document().to_string()).unwrap();
    std::fs::write(
        folder.join("patients.ndjson"),
        [
            json!({"resourceType": "Patient", "gender": "female"}).to_string(),
            json!({"resourceType": "Patient", "gender": 7}).to_string(),
        ]
        .join("\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        tillit(&db.url, free_port(), &db.dir)
            .arg("validate")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&[
        "resources/document.json",
        "--profile",
        IPS_BUNDLE,
        "--output",
        "outcome.json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("document.json: valid (0 errors"),
        "{stdout}"
    );
    let outcome: Value =
        serde_json::from_str(&std::fs::read_to_string(db.dir.join("outcome.json")).unwrap())
            .unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");

    let out = run(&["resources"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error gives status 1: {stdout}"
    );
    assert!(stdout.contains("patients.ndjson:1: valid"), "{stdout}");
    assert!(stdout.contains("patients.ndjson:2: INVALID"), "{stdout}");
    assert!(stdout.contains("Patient.gender"), "{stdout}");
    assert!(
        stdout.contains("3 resources in 2 files: 1 errors"),
        "{stdout}"
    );

    // A patient without narrative fails dom-6, a best-practice invariant:
    // reported at the level asked for, or not checked.
    let out = run(&["resources/patients.ndjson", "--best-practice", "error"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("patients.ndjson:1: INVALID"), "{stdout}");
    assert!(stdout.contains("dom-6"), "{stdout}");
    let out = run(&["resources/patients.ndjson", "--best-practice", "ignore"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("patients.ndjson:1: valid"), "{stdout}");
    assert!(!stdout.contains("dom-6"), "{stdout}");
}

db_test!(
    a_profile_is_a_page_for_people_and_json_for_machines,
    |srv| {
        let bundle = srv
            .get_json(&format!("StructureDefinition?url={IPS_PATIENT}"))
            .await;
        let id = bundle["entry"][0]["resource"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let page = srv
            .request(Method::GET, &format!("StructureDefinition/{id}"))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = page.text().await.unwrap();
        assert!(
            html.contains("<table>") && html.contains("1..*"),
            "an element table"
        );
        assert!(
            html.contains("Patient-uv-ips") || html.contains("Patient (IPS)"),
            "{}",
            &html[..300]
        );
        assert!(
            html.contains("slice"),
            "IPS Patient slices its identifiers or names"
        );
        let json = srv.get_json(&format!("StructureDefinition/{id}")).await;
        assert_eq!(json["url"], IPS_PATIENT, "machines still get FHIR JSON");
    }
);

db_test!(
    a_definition_answers_at_its_canonical_url_under_our_base,
    |srv| {
        let ours = srv.get_json("metadata").await["implementation"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let name = unique("canonical-vs");
        let url = format!("{ours}/ValueSet/{name}");
        let id = srv
            .create(json!({
                "resourceType": "ValueSet",
                "url": url,
                "name": "CanonicalTest",
                "status": "active",
                "compose": {"include": [{"system": "http://example.org/cs", "concept": [{"code": "a"}]}]}
            }))
            .await;
        assert_ne!(id, name, "the server chose another id");
        let json = srv.get_json(&format!("ValueSet/{name}")).await;
        assert_eq!(
            json["id"],
            id.as_str(),
            "the resource with that canonical URL"
        );
        assert_eq!(json["url"], url.as_str());
        let page = srv
            .request(Method::GET, &format!("ValueSet/{name}"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("CanonicalTest"));
        assert!(
            html.contains("<h2>Expansion</h2><p>1 codes") && html.contains("<code>a</code>"),
            "the page lists the expansion: {html}"
        );
        // Types without canonical URLs, and URLs nothing has, still miss.
        assert_eq!(srv.get(&format!("ValueSet/{name}x")).await.status(), 404);
        assert_eq!(srv.get(&format!("Patient/{name}")).await.status(), 404);
    }
);
