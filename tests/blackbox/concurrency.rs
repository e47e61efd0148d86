//! Sixteen clients updating one resource with If-Match lose no update, and
//! its history is strictly sequential.

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::{unique, Server};

const CLIENTS: usize = 16;
const UPDATES_EACH: usize = 8;

async fn update_until_done(srv: &'static Server, id: String, client: usize) -> usize {
    let mut conflicts = 0;
    for round in 0..UPDATES_EACH {
        loop {
            let current = srv.get(&format!("Basic/{id}")).await;
            let etag = current.headers()["etag"].to_str().unwrap().to_owned();
            let body = json!({"resourceType": "Basic", "id": id, "code": {"text": format!("client {client} round {round}")}});
            let resp = srv
                .send_with(
                    Method::PUT,
                    &format!("Basic/{id}"),
                    &body,
                    &[("if-match", etag.as_str())],
                )
                .await;
            match resp.status().as_u16() {
                200 => break,
                409 | 412 => conflicts += 1,
                other => panic!("unexpected status {other}: {}", resp.text().await.unwrap()),
            }
        }
    }
    conflicts
}

db_test!(sixteen_clients_with_if_match_lose_no_update, |srv| {
    let id = unique("contended");
    srv.send(
        Method::PUT,
        &format!("Basic/{id}"),
        &json!({"resourceType": "Basic", "id": id, "code": {"text": "start"}}),
    )
    .await;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(update_until_done(srv, id.clone(), c)))
        .collect();
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    let expected_versions = 1 + CLIENTS * UPDATES_EACH;
    let current = srv.get_json(&format!("Basic/{id}")).await;
    assert_eq!(current["meta"]["versionId"], expected_versions.to_string());
    let history = srv
        .get_json(&format!("Basic/{id}/_history?_count=1000"))
        .await;
    let entries = history["entry"].as_array().unwrap();
    let versions: Vec<usize> = entries
        .iter()
        .map(|e| {
            e["resource"]["meta"]["versionId"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let sequential: Vec<usize> = (1..=expected_versions).rev().collect();
    assert_eq!(versions, sequential, "history must be strictly sequential");
    let mut texts: Vec<&str> = entries
        .iter()
        .map(|e| e["resource"]["code"]["text"].as_str().unwrap())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(
        texts.len(),
        expected_versions,
        "every acknowledged update is a version of its own"
    );
    assert!(conflicts > 0 || CLIENTS == 1, "the clients really raced");
    let _: &Value = &current;
});

db_test!(
    concurrent_updates_without_if_match_are_all_kept_in_sequence,
    |srv| {
        let id = unique("blind");
        srv.send(
            Method::PUT,
            &format!("Basic/{id}"),
            &json!({"resourceType": "Basic", "id": id, "code": {"text": "start"}}),
        )
        .await;
        let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let id = id.clone();
            tokio::spawn(async move {
                let body = json!({"resourceType": "Basic", "id": id, "code": {"text": format!("writer {c}")}});
                srv.send(Method::PUT, &format!("Basic/{id}"), &body).await.status().as_u16()
            })
        })
        .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), 200, "no update may be refused or lost");
        }
        let history = srv
            .get_json(&format!("Basic/{id}/_history?_count=1000"))
            .await;
        let versions: Vec<usize> = history["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["resource"]["meta"]["versionId"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(versions, (1..=CLIENTS + 1).rev().collect::<Vec<_>>());
    }
);

db_test!(concurrent_conditional_creates_make_one_resource, |srv| {
    let value = unique("once");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let value = value.clone();
            tokio::spawn(async move {
                let body = json!({"resourceType": "Patient", "identifier": [{"system": "urn:once", "value": value}]});
                srv.send_with(Method::POST, "Patient", &body, &[("if-none-exist", &format!("identifier=urn:once|{value}"))]).await.status().as_u16()
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            201 => created += 1,
            200 => {}
            other => panic!("status {other}"),
        }
    }
    assert_eq!(created, 1);
    let found = srv
        .get_json(&format!("Patient?identifier=urn:once|{value}"))
        .await;
    assert_eq!(found["total"], 1);
});

db_test!(of_sixteen_updates_of_one_version_exactly_one_wins, |srv| {
    let id = unique("race");
    srv.send(
        Method::PUT,
        &format!("Basic/{id}"),
        &json!({"resourceType": "Basic", "id": id, "code": {"text": "v1"}}),
    )
    .await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (id, barrier) = (id.clone(), barrier.clone());
            tokio::spawn(async move {
                let body = json!({"resourceType": "Basic", "id": id, "code": {"text": format!("client {c}")}});
                barrier.wait().await;
                srv.send_with(Method::PUT, &format!("Basic/{id}"), &body, &[("if-match", "W/\"1\"")]).await.status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 409 | 412)),
        "{statuses:?}"
    );
    assert_eq!(
        srv.get_json(&format!("Basic/{id}")).await["meta"]["versionId"],
        "2"
    );
});
