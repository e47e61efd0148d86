//! `kill -9` during a stream of acknowledged transactions: after a restart on
//! the same database, every acknowledged transaction is there.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Backend, Database, Server};

async fn acknowledged_before_crash(backend: Backend) {
    let db = Database::fresh(backend);
    let mut server = Server::start_on(&db);
    let mut acknowledged: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        n += 1;
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:crash", "value": format!("p{n}")}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": format!("o{n}")},
                "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}},
             "request": {"method": "POST", "url": "Observation"}}
        ]});
        let resp = server.send(Method::POST, "", &bundle).await;
        if resp.status() == 200 {
            let body: Value = resp.json().await.unwrap();
            for entry in body["entry"].as_array().unwrap() {
                acknowledged.push(entry["response"]["location"].as_str().unwrap().to_owned());
            }
        }
    }
    // Keep writing while the process dies, so the kill lands mid-stream; what
    // was acknowledged right up to the kill counts too.
    let base = server.base.clone();
    let writer = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut acknowledged = Vec::new();
        for n in 0..200 {
            let body = json!({"resourceType": "Basic", "code": {"text": format!("in flight {n}")}});
            let sent = client
                .post(format!("{base}/Basic"))
                .header("content-type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await;
            match sent {
                Ok(resp) if resp.status() == 201 => {
                    {
                        // The Location names this server's port; keep the path only.
                        let location = resp.headers()["location"].to_str().unwrap();
                        acknowledged.push(location.rsplit("/fhir/").next().unwrap().to_owned())
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        acknowledged
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.kill();
    let in_flight = writer.await.unwrap();
    assert!(
        !in_flight.is_empty(),
        "the kill should land while writes stream"
    );
    acknowledged.extend(in_flight);
    assert!(
        acknowledged.len() > 10,
        "only {} writes were acknowledged",
        acknowledged.len()
    );
    let restarted = Server::start_on(&db);
    for location in &acknowledged {
        let resp = restarted.get(location).await;
        assert_eq!(
            resp.status(),
            200,
            "acknowledged {location} lost after kill -9"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_transaction_on_sqlite() {
    acknowledged_before_crash(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_transaction_on_postgres() {
    acknowledged_before_crash(Backend::Postgres).await;
}
