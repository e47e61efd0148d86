//! history at instance, type and system level, with _since, _at, _count and paging.

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::{unique, Backend, Database, Server};

/// Type and system history are server-wide, so these tests get servers of their own.
async fn type_history_pages(srv: &Server) {
    let tag = unique("hist");
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            srv.create(json!({"resourceType": "Basic", "code": {"text": tag}}))
                .await,
        );
    }
    let page1 = srv.get_json("Basic/_history?_count=2").await;
    assert_eq!(page1["type"], "history");
    assert_eq!(page1["entry"].as_array().unwrap().len(), 2);
    let next = page1["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // A write between pages must not shift the next page.
    srv.create(json!({"resourceType": "Basic", "code": {"text": tag}}))
        .await;
    let page2 = srv.get_json(&next).await;
    let first_ids: Vec<&str> = page1["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    let second_ids: Vec<&str> = page2["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(first_ids, vec![ids[4].as_str(), ids[3].as_str()]);
    assert_eq!(second_ids, vec![ids[2].as_str(), ids[1].as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_history_pages_with_next_links_that_hold_while_others_write_on_sqlite() {
    type_history_pages(&Server::start_on(&Database::fresh(Backend::Sqlite))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_history_pages_with_next_links_that_hold_while_others_write_on_postgres() {
    type_history_pages(&Server::start_on(&Database::fresh(Backend::Postgres))).await;
}

db_test!(since_and_at_filter_history_by_time, |srv| {
    let id = srv
        .create(json!({"resourceType": "Patient", "gender": "male"}))
        .await;
    let v1: Value = srv.get_json(&format!("Patient/{id}")).await;
    let t1 = v1["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let resp = srv
        .send(
            Method::PUT,
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id, "gender": "female"}),
        )
        .await;
    let v2: Value = resp.json().await.unwrap();
    let t2 = v2["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    let since = srv
        .get_json(&format!(
            "Patient/{id}/_history?_since={}",
            t2.replace('+', "%2B")
        ))
        .await;
    assert_eq!(since["entry"].as_array().unwrap().len(), 1);
    assert_eq!(since["entry"][0]["resource"]["meta"]["versionId"], "2");
    let at = srv
        .get_json(&format!("Patient/{id}/_history?_at={t1}"))
        .await;
    let versions: Vec<&str> = at["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap())
        .collect();
    assert_eq!(versions, vec!["1"]);
});

async fn system_history(srv: &Server) {
    let p = srv.create(json!({"resourceType": "Patient"})).await;
    let since = srv.get_json(&format!("Patient/{p}")).await["meta"]["lastUpdated"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = srv
        .create(json!({"resourceType": "Organization", "name": unique("org")}))
        .await;
    let all = srv
        .get_json(&format!("_history?_count=1000&_since={since}"))
        .await;
    let urls: Vec<String> = all["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap().to_owned())
        .collect();
    assert!(urls.iter().any(|u| u.ends_with(&format!("Patient/{p}"))));
    assert!(urls
        .iter()
        .any(|u| u.ends_with(&format!("Organization/{o}"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_history_lists_every_type_on_sqlite() {
    system_history(&Server::start_on(&Database::fresh(Backend::Sqlite))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_history_lists_every_type_on_postgres() {
    system_history(&Server::start_on(&Database::fresh(Backend::Postgres))).await;
}
