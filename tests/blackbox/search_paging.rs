//! Sorting, paging links, totals and result parameters; paging that stays
//! consistent while others write; and what malformed searches get.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::{match_ids, Fixture};

/// The URL of the link with `relation`, if the Bundle has one.
fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"].as_array()?.iter().find_map(|l| {
        (l["relation"] == relation).then(|| l["url"].as_str().unwrap_or_default().to_owned())
    })
}

/// Five patients with birth dates, names and a shared family for ties.
async fn people(f: &Fixture<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for (family, given, birth) in [
        ("Berg", "Anne", "1980-05-01"),
        ("Aas", "Per", "1975-01-01"),
        ("Berg", "Kari", "1990-02-03"),
        ("Dahl", "Ola", "1960-12-24"),
        ("Berg", "Jon", "1985-07-07"),
    ] {
        ids.push(
            f.create(json!({"resourceType": "Patient", "birthDate": birth,
                "name": [{"family": family, "given": [given]}]}))
                .await,
        );
    }
    ids
}

db_test!(sorting_on_several_keys_both_ways, |srv| {
    let f = Fixture::new(srv);
    let ids = people(&f).await;
    let by_birth = f.search("Patient", "_sort=birthdate").await;
    assert_eq!(
        match_ids(&by_birth),
        vec![
            ids[3].clone(),
            ids[1].clone(),
            ids[0].clone(),
            ids[4].clone(),
            ids[2].clone()
        ]
    );
    let newest_first = f.search("Patient", "_sort=-birthdate").await;
    assert_eq!(match_ids(&newest_first)[0], ids[2]);
    let family_then_birth = f.search("Patient", "_sort=family,-birthdate").await;
    assert_eq!(
        match_ids(&family_then_birth),
        vec![
            ids[1].clone(),
            ids[2].clone(),
            ids[4].clone(),
            ids[0].clone(),
            ids[3].clone()
        ]
    );
    let by_id = f.search("Patient", "_sort=_id").await;
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(match_ids(&by_id), expected);
    let by_updated = f.search("Patient", "_sort=-_lastUpdated").await;
    assert_eq!(match_ids(&by_updated)[0], ids[4], "the last written first");
    let (status, _) = f.search_status("Patient", "_sort=banana").await;
    assert_eq!(status, 400);
});

db_test!(pages_link_forwards_and_back, |srv| {
    let f = Fixture::new(srv);
    people(&f).await;
    let first = f.search("Patient", "_sort=family,given&_count=2").await;
    assert_eq!(first["total"], 5);
    assert!(link(&first, "previous").is_none());
    let mut seen = match_ids(&first);
    let mut page = first.clone();
    let mut pages = vec![match_ids(&first)];
    while let Some(next) = link(&page, "next") {
        page = srv.get_json(&next).await;
        let ids = match_ids(&page);
        assert!(ids.len() <= 2);
        seen.extend(ids.clone());
        pages.push(ids);
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
    // Back from the last page to the first.
    let previous = link(&page, "previous").expect("a previous link");
    let back = srv.get_json(&previous).await;
    assert_eq!(match_ids(&back), pages[1]);
    let back_again = srv
        .get_json(&link(&back, "previous").expect("previous"))
        .await;
    assert_eq!(match_ids(&back_again), pages[0]);
    let self_link = link(&back, "self").expect("self");
    assert_eq!(match_ids(&srv.get_json(&self_link).await), pages[1]);
});

db_test!(totals_summary_count_and_elements, |srv| {
    let f = Fixture::new(srv);
    people(&f).await;
    let none = f.search("Patient", "_total=none").await;
    assert!(none.get("total").is_none());
    let accurate = f.search("Patient", "_total=accurate&_count=1").await;
    assert_eq!(accurate["total"], 5);
    let count = f.search("Patient", "_summary=count").await;
    assert_eq!(count["total"], 5);
    assert!(count.get("entry").is_none());
    let zero = f.search("Patient", "_count=0").await;
    assert_eq!(zero["total"], 5);
    let elements = f.search("Patient", "_elements=birthDate&_count=1").await;
    let resource = &elements["entry"][0]["resource"];
    assert!(resource.get("birthDate").is_some());
    assert!(resource.get("name").is_none());
    let full_url = elements["entry"][0]["fullUrl"].as_str().unwrap();
    assert!(
        full_url.starts_with(&srv.base) && full_url.contains("/Patient/"),
        "{full_url}"
    );
});

db_test!(
    bad_searches_get_400_and_unknown_parameters_a_warning,
    |srv| {
        let f = Fixture::new(srv);
        for (query, needle) in [
            ("birthdate=banana", "birthdate"),
            ("_count=-1", "_count"),
            ("subject.name=x", "subject"),
            ("_sort=-", ""),
            ("_cursor=garbage", "_cursor"),
            ("_total=sometimes", "_total"),
            ("name:banana=x", "name"),
            ("_has:Banana:x:y=1", "_has"),
            ("gender:missing=maybe", "missing"),
        ] {
            let (status, outcome) = f.search_status("Patient", query).await;
            if query == "_sort=-" {
                assert!(status == 200 || status == 400, "{query}: {status}");
                continue;
            }
            assert_eq!(status, 400, "{query}: {outcome}");
            assert_eq!(outcome["resourceType"], "OperationOutcome", "{query}");
            assert!(outcome.to_string().contains(needle), "{query}: {outcome}");
        }
        let lenient = f.search("Patient", "banana=1").await;
        let outcome = lenient["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["search"]["mode"] == "outcome")
            .expect("a warning entry");
        assert!(outcome.to_string().contains("banana"));
        let strict = srv
            .request(Method::GET, &format!("Patient?banana=1&{}", f.tag_param()))
            .header("prefer", "handling=strict")
            .send()
            .await
            .unwrap();
        assert_eq!(strict.status(), 400);
        let many = vec!["x"; 1001].join(",");
        let (status, _) = f.search_status("Patient", &format!("name={many}")).await;
        assert_eq!(status, 400, "more alternatives than the cap");
    }
);

db_test!(paging_stays_consistent_while_others_write, |srv| {
    let f = Fixture::new(srv);
    let mut stable = Vec::new();
    for i in 0..30 {
        stable.push(
            f.create(
                json!({"resourceType": "Patient", "name": [{"family": format!("Stable{i:02}")}]}),
            )
            .await,
        );
    }
    let mut doomed = Vec::new();
    for i in 0..10 {
        doomed.push(
            f.create(
                json!({"resourceType": "Patient", "name": [{"family": format!("Doomed{i:02}")}]}),
            )
            .await,
        );
    }
    for sort in ["", "_sort=family&", "_sort=-_lastUpdated&"] {
        let mut seen: Vec<String> = Vec::new();
        let mut page = f.search("Patient", &format!("{sort}_count=7")).await;
        let mut step = 0;
        loop {
            seen.extend(match_ids(&page));
            // Between pages: one new matching resource and one deletion.
            f.create(
                json!({"resourceType": "Patient", "name": [{"family": format!("New{step}")}]}),
            )
            .await;
            if let Some(victim) = doomed.pop() {
                assert_eq!(srv.delete(&format!("Patient/{victim}")).await.status(), 204);
            }
            step += 1;
            match link(&page, "next") {
                Some(next) => page = srv.get_json(&next).await,
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a resource came twice");
        for id in &stable {
            assert!(
                seen.contains(id),
                "{sort}: skipped {id}, which existed throughout"
            );
        }
    }
});
