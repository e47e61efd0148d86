//! The command line: `tillit import`, `tillit demo` and graceful shutdown.

use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::{free_port, tillit, Backend, Database, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_loads_ndjson_and_bundles_and_reports_bad_lines() {
    let db = Database::fresh(Backend::Sqlite);
    let ndjson = [
        json!({"resourceType": "Patient", "id": "imp-1", "gender": "female"}).to_string(),
        json!({"resourceType": "Patient", "id": "imp-2", "birthDate": "not a date"}).to_string(),
        json!({"resourceType": "Patient", "gender": "male"}).to_string(),
    ]
    .join("\n");
    std::fs::write(db.dir.join("patients.ndjson"), ndjson).unwrap();
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Organization", "id": "imp-org", "name": "Imported"}}
    ]});
    std::fs::write(db.dir.join("bundle.json"), bundle.to_string()).unwrap();
    let out = tillit(&db.url, free_port(), &db.dir)
        .args(["import", "patients.ndjson", "bundle.json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("imported 3 resources"), "{stdout}");
    assert!(stdout.contains("1 failed"), "{stdout}");
    assert!(stdout.contains("resources/s"), "{stdout}");
    assert!(
        stderr.contains("patients.ndjson: line 2"),
        "the bad line is named: {stderr}"
    );
    let server = Server::start_on(&db);
    assert_eq!(server.get_json("Patient/imp-1").await["gender"], "female");
    assert_eq!(server.get("Patient/imp-2").await.status(), 404);
    assert_eq!(
        server.get_json("Organization/imp-org").await["name"],
        "Imported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_norwegian_patients_with_valid_national_ids() {
    let db = Database::fresh(Backend::Sqlite);
    let patients = run_demo_until_seeded(&db).await;
    let entries = patients["entry"].as_array().expect("demo patients");
    assert!(entries.len() >= 3);
    for entry in entries {
        let identifiers = entry["resource"]["identifier"].as_array().unwrap();
        let national = identifiers
            .iter()
            .find(|i| {
                i["system"]
                    .as_str()
                    .unwrap()
                    .starts_with("urn:oid:2.16.578.1.12.4.1.4.")
            })
            .unwrap();
        assert!(
            tillit_demo::fnr_is_valid(national["value"].as_str().unwrap()),
            "{national}"
        );
    }
    // A restarted demo finds its data and leaves it at version 1.
    let again = run_demo_until_seeded(&db).await;
    for entry in again["entry"].as_array().unwrap() {
        assert_eq!(entry["resource"]["meta"]["versionId"], "1");
    }
}

/// Runs `tillit demo --patients 3` on `db` until its patients can be searched,
/// stops it, and returns that searchset.
async fn run_demo_until_seeded(db: &Database) -> Value {
    let port = free_port();
    let mut child = tillit(&db.url, port, &db.dir)
        .args(["demo", "--patients", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/fhir");
    let client = reqwest::Client::new();
    let mut patients = Value::Null;
    for _ in 0..600 {
        if let Ok(resp) = client
            .get(format!("{base}/Patient?_count=100"))
            .send()
            .await
        {
            if resp.status() == 200 {
                patients = resp.json().await.unwrap();
                if patients["total"].as_i64().unwrap_or(0) >= 3 {
                    break;
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    patients
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_cleanly() {
    let db = Database::fresh(Backend::Sqlite);
    let mut server = Server::start_on(&db);
    let entries: Vec<Value> = (0..3000)
        .map(|i| {
            json!({"resource": {"resourceType": "Basic", "code": {"text": format!("slow {i}")}},
                         "request": {"method": "POST", "url": "Basic"}})
        })
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let url = format!("{}/", server.base);
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("content-type", "application/fhir+json")
            .header("prefer", "return=minimal")
            .body(bundle.to_string())
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
    assert_eq!(
        in_flight
            .await
            .unwrap()
            .expect("the in-flight request gets its answer"),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_cache_sees_writes_by_another_process() {
    let db = Database::fresh(Backend::Sqlite);
    let server = Server::start_on(&db);
    let patient = json!({"resourceType": "Patient", "id": "shared-file", "gender": "female"});
    server
        .send(reqwest::Method::PUT, "Patient/shared-file", &patient)
        .await;
    assert_eq!(
        server.get_json("Patient/shared-file").await["gender"],
        "female"
    );
    // A second process writes the same SQLite file while the server runs.
    let changed = json!({"resourceType": "Patient", "id": "shared-file", "gender": "male"});
    std::fs::write(db.dir.join("change.ndjson"), changed.to_string()).unwrap();
    let out = tillit(&db.url, free_port(), &db.dir)
        .args(["import", "change.ndjson"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = server.get_json("Patient/shared-file").await;
        if seen["gender"] == "male" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen["gender"], "male", "the cached version must be dropped");
    assert_eq!(seen["meta"]["versionId"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_named_in_the_configuration_are_loaded_and_served() {
    let db = Database::fresh(Backend::Sqlite);
    let package = db.dir.join("local-package/package");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(
        package.join("package.json"),
        json!({"name": "no.tillit.test", "version": "0.1.0", "canonical": "http://tillit.test"})
            .to_string(),
    )
    .unwrap();
    let code_system = json!({"resourceType": "CodeSystem", "id": "test-colours", "url": "http://tillit.test/CodeSystem/colours",
        "version": "0.1.0", "name": "TestColours", "status": "draft", "content": "complete",
        "concept": [{"code": "red"}]});
    std::fs::write(
        package.join("CodeSystem-test-colours.json"),
        code_system.to_string(),
    )
    .unwrap();
    let config = db.dir.join("tillit.toml");
    std::fs::write(
        &config,
        format!(
            "packages = [\"{}\"]\n",
            db.dir.join("local-package").display()
        ),
    )
    .unwrap();
    let server = Server::start_with(&db, &["--config", &config.display().to_string()]);
    let found = server
        .get_json("CodeSystem?url=http://tillit.test/CodeSystem/colours")
        .await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["entry"][0]["resource"]["name"], "TestColours");
    let cs = server.get_json("metadata").await;
    let guides: Vec<&str> = cs["implementationGuide"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(
        guides.contains(&"http://tillit.test/ImplementationGuide/no.tillit.test|0.1.0"),
        "{guides:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_writing_while_another_process_imports() {
    let db = Database::fresh(Backend::Sqlite);
    let server = Server::start_on(&db);
    let lines: Vec<String> = (0..4000)
        .map(|i| {
            json!({"resourceType": "Basic", "id": format!("bulk-{i}"), "code": {"text": "bulk"}})
                .to_string()
        })
        .collect();
    std::fs::write(db.dir.join("bulk.ndjson"), lines.join("\n")).unwrap();
    let mut import = tillit(&db.url, free_port(), &db.dir)
        .args(["import", "bulk.ndjson"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Updates read before they write; with a deferred BEGIN they would fail
    // with SQLITE_BUSY whenever the importer holds the write lock. They go on
    // until the importer has finished, so the two really overlap.
    let mut writes = 0;
    while writes < 40 || import.try_wait().unwrap().is_none() {
        let gender = if writes % 2 == 0 { "male" } else { "female" };
        let body = json!({"resourceType": "Patient", "id": "beside-import", "gender": gender});
        let status = server
            .send(reqwest::Method::PUT, "Patient/beside-import", &body)
            .await
            .status();
        assert!(
            status.is_success(),
            "write {writes} during the import: {status}"
        );
        writes += 1;
    }
    assert!(import.wait().unwrap().success());
    assert_eq!(
        server.get_json("Patient/beside-import").await["meta"]["versionId"],
        writes.to_string()
    );
    assert_eq!(
        server.get_json("Basic/bulk-3999").await["code"]["text"],
        "bulk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_a_span_per_request() {
    let db = Database::fresh(Backend::Sqlite);
    let port = free_port();
    let log = db.dir.join("json.log");
    let mut child = tillit(&db.url, port, &db.dir)
        .env("TILLIT_LOG", "info")
        .args(["--log-format", "json", "serve"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/fhir/metadata");
    let mut ok = false;
    for _ in 0..600 {
        if let Ok(resp) = client
            .get(&url)
            .header("x-request-id", "trace-me-42")
            .send()
            .await
        {
            ok = resp.status() == 200 && resp.headers()["x-request-id"] == "trace-me-42";
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the request id is echoed");
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "request finished")
        .unwrap_or_else(|| panic!("no request log line in:\n{text}"));
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["duration_ms"].is_number());
    assert_eq!(line["span"]["id"], "trace-me-42");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["path"], "/fhir/metadata");
}
