//! The terminology operations over HTTP, on definitions written through the
//! API: `$expand` (paging, text filter, activeOnly, designations, instance
//! level), `$validate-code` on ValueSet and CodeSystem (codes, Codings,
//! CodeableConcepts, displays, inactive codes), `$lookup`, `$subsumes`,
//! `$translate`, `metadata?mode=terminology`, a changed CodeSystem seen at
//! once, and refusals with the terminology issue types clients key on.

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::{unique, Server};

/// The value of output parameter `name` (its `value[x]` or `resource`).
fn param<'a>(parameters: &'a Value, name: &str) -> &'a Value {
    parameters["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| {
            p.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("value") || *k == "resource" || *k == "part")
                .map(|(_, v)| v)
        })
        .unwrap_or(&Value::Null)
}

async fn post(srv: &Server, path: &str, parameters: Value) -> (u16, Value) {
    let body = json!({"resourceType": "Parameters", "parameter": parameters});
    let response = srv.send(Method::POST, path, &body).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

async fn get(srv: &Server, path: &str) -> (u16, Value) {
    let response = srv.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// A code system with a hierarchy, an inactive code and a German designation,
/// and a value set of all of it; their canonical URLs.
async fn definitions(srv: &Server) -> (String, String, String) {
    let tag = unique("tx");
    let system = format!("http://example.org/{tag}/CodeSystem/colours");
    let value_set = format!("http://example.org/{tag}/ValueSet/colours");
    srv.create(json!({
        "resourceType": "CodeSystem", "url": system, "version": "1.0", "name": "Colours",
        "status": "active", "content": "complete", "language": "en",
        "property": [{"code": "inactive", "type": "boolean"}],
        "concept": [
            {"code": "warm", "display": "Warm colour", "concept": [
                {"code": "red", "display": "Red", "designation": [{"language": "de", "value": "Rot"}]},
                {"code": "orange", "display": "Orange"}
            ]},
            {"code": "blue", "display": "Blue"},
            {"code": "mauve", "display": "Mauve", "property": [{"code": "inactive", "valueBoolean": true}]}
        ]
    }))
    .await;
    let id = srv
        .create(json!({
            "resourceType": "ValueSet", "url": value_set, "version": "1", "name": "Colours",
            "status": "active", "compose": {"include": [{"system": system}]}
        }))
        .await;
    (system, value_set, id)
}

db_test!(expansions_page_filter_and_answer_at_instance_level, |srv| {
    let (system, value_set, id) = definitions(srv).await;
    let (status, all) = get(srv, &format!("ValueSet/$expand?url={value_set}")).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["expansion"]["total"], 5);
    assert!(all["expansion"]["parameter"]
        .to_string()
        .contains(&format!("{system}|1.0")));

    let (_, page) = get(
        srv,
        &format!("ValueSet/$expand?url={value_set}&count=2&offset=1"),
    )
    .await;
    assert_eq!(page["expansion"]["total"], 5, "the total is of all codes");
    assert_eq!(page["expansion"]["offset"], 1);
    let codes: Vec<&str> = page["expansion"]["contains"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(codes, ["red", "orange"]);

    let (_, active) = get(
        srv,
        &format!("ValueSet/$expand?url={value_set}&activeOnly=true"),
    )
    .await;
    assert_eq!(active["expansion"]["total"], 4, "mauve is inactive");
    let (_, filtered) = get(srv, &format!("ValueSet/$expand?url={value_set}&filter=re")).await;
    assert_eq!(filtered["expansion"]["contains"][0]["code"], "red");
    assert_eq!(filtered["expansion"]["total"], 1);

    let (_, german) = post(
        srv,
        &format!("ValueSet/{id}/$expand"),
        json!([{"name": "displayLanguage", "valueCode": "de"}, {"name": "includeDesignations", "valueBoolean": true}]),
    )
    .await;
    let red = german["expansion"]["contains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "red")
        .cloned()
        .unwrap();
    assert_eq!(red["display"], "Rot");
    // Shown in German, the code system's own (English) display is a designation.
    assert_eq!(red["designation"][0]["value"], "Red");
    assert_eq!(red["designation"][0]["language"], "en");

    let filtered_vs = json!({"resourceType": "ValueSet", "status": "active", "compose": {"include": [
        {"system": system, "filter": [{"property": "concept", "op": "descendent-of", "value": "warm"}]}
    ]}});
    let (_, below) = post(
        srv,
        "ValueSet/$expand",
        json!([{"name": "valueSet", "resource": filtered_vs}]),
    )
    .await;
    assert_eq!(below["expansion"]["total"], 2, "{below}");
});

db_test!(
    codes_are_validated_against_value_sets_and_code_systems,
    |srv| {
        let (system, value_set, _) = definitions(srv).await;
        let (status, good) = post(
        srv,
        "ValueSet/$validate-code",
        json!([{"name": "url", "valueUri": value_set},
               {"name": "coding", "valueCoding": {"system": system, "code": "red", "display": "Red"}}]),
    )
    .await;
        assert_eq!(status, 200);
        assert_eq!(param(&good, "result"), true, "{good}");
        assert_eq!(param(&good, "version"), "1.0");

        let (_, wrong_display) = get(
            srv,
            &format!(
                "ValueSet/$validate-code?url={value_set}&system={system}&code=red&display=Green"
            ),
        )
        .await;
        assert_eq!(param(&wrong_display, "result"), false);
        assert_eq!(param(&wrong_display, "display"), "Red");
        let issue = &param(&wrong_display, "issues")["issue"][0];
        assert_eq!(
            issue["details"]["coding"][0]["code"], "invalid-display",
            "{wrong_display}"
        );

        let (_, unknown) = get(
            srv,
            &format!("ValueSet/$validate-code?url={value_set}&system={system}&code=green"),
        )
        .await;
        assert_eq!(param(&unknown, "result"), false);
        assert!(param(&unknown, "message")
            .as_str()
            .unwrap()
            .contains("Unknown code 'green'"));

        let (_, inactive) = get(
            srv,
            &format!("CodeSystem/$validate-code?url={system}&code=mauve"),
        )
        .await;
        assert_eq!(
            param(&inactive, "result"),
            true,
            "inactive codes are valid, with a warning"
        );
        assert_eq!(param(&inactive, "inactive"), true);
        let (_, active_only) = get(srv, &format!("ValueSet/$validate-code?url={value_set}&system={system}&code=mauve&activeOnly=true")).await;
        assert_eq!(param(&active_only, "result"), false);

        let (_, concept) = post(
            srv,
            "ValueSet/$validate-code",
            json!([{"name": "url", "valueUri": value_set},
               {"name": "codeableConcept", "valueCodeableConcept": {"coding": [
                   {"system": "http://example.org/other", "code": "x"},
                   {"system": system, "code": "blue"}]}}]),
        )
        .await;
        assert_eq!(
            param(&concept, "result"),
            true,
            "one coding is enough: {concept}"
        );
        assert_eq!(param(&concept, "code"), "blue");

        // Grammars: MIME types and language tags are valid when well formed.
        let mime = "ValueSet/$validate-code?url=http://hl7.org/fhir/ValueSet/mimetypes&system=urn:ietf:bcp:13";
        let (_, json) = get(srv, &format!("{mime}&code=application/fhir%2Bjson")).await;
        assert_eq!(param(&json, "result"), true, "{json}");
        let (_, banana) = get(srv, &format!("{mime}&code=banana")).await;
        assert_eq!(param(&banana, "result"), false);
        let (_, norwegian) = get(
            srv,
            "CodeSystem/$validate-code?url=urn:ietf:bcp:47&code=nb-NO",
        )
        .await;
        assert_eq!(param(&norwegian, "result"), true, "{norwegian}");
        let (status, _) = get(
            srv,
            "ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/mimetypes",
        )
        .await;
        assert_eq!(status, 422, "a grammar cannot be listed");
    }
);

db_test!(lookup_subsumes_and_translate, |srv| {
    let (system, _, _) = definitions(srv).await;
    let (status, lookup) = get(
        srv,
        &format!("CodeSystem/$lookup?system={system}&code=red&property=*"),
    )
    .await;
    assert_eq!(status, 200, "{lookup}");
    assert_eq!(param(&lookup, "display"), "Red");
    assert_eq!(param(&lookup, "name"), "Colours");
    let text = lookup.to_string();
    assert!(
        text.contains("\"parent\"") && text.contains("\"warm\""),
        "{text}"
    );
    assert!(text.contains("Rot"), "designations: {text}");

    let (_, subsumes) = get(
        srv,
        &format!("CodeSystem/$subsumes?system={system}&codeA=warm&codeB=orange"),
    )
    .await;
    assert_eq!(param(&subsumes, "outcome"), "subsumes");
    let (_, not) = get(
        srv,
        &format!("CodeSystem/$subsumes?system={system}&codeA=blue&codeB=orange"),
    )
    .await;
    assert_eq!(param(&not, "outcome"), "not-subsumed");

    let map_url = format!("{system}-to-rgb");
    srv.create(json!({
        "resourceType": "ConceptMap", "url": map_url, "status": "active",
        "group": [{"source": system, "target": "http://example.org/rgb", "element": [
            {"code": "red", "target": [{"code": "#ff0000", "equivalence": "equivalent"}]}
        ]}]
    }))
    .await;
    let (_, translated) = get(
        srv,
        &format!("ConceptMap/$translate?system={system}&code=red&url={map_url}"),
    )
    .await;
    assert_eq!(param(&translated, "result"), true, "{translated}");
    assert!(translated.to_string().contains("#ff0000"));
    let (_, reversed) = get(
        srv,
        &format!("ConceptMap/$translate?system=http://example.org/rgb&code=%23ff0000&reverse=true&url={map_url}"),
    )
    .await;
    assert!(reversed.to_string().contains("\"red\""), "{reversed}");

    let (_, capabilities) = get(srv, "metadata?mode=terminology").await;
    assert_eq!(capabilities["resourceType"], "TerminologyCapabilities");
    assert!(capabilities.to_string().contains(&system));
});

/// Adds the code `green` to code system `system` (an update through `srv`).
async fn add_green(srv: &Server, system: &str) {
    let found = srv.get_json(&format!("CodeSystem?url={system}")).await;
    let mut cs = found["entry"][0]["resource"].clone();
    let id = cs["id"].as_str().unwrap().to_owned();
    cs["concept"]
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "green", "display": "Green"}));
    let response = srv
        .send(Method::PUT, &format!("CodeSystem/{id}"), &cs)
        .await;
    assert_eq!(response.status(), 200);
}

db_test!(
    a_changed_code_system_is_used_at_once_and_refusals_say_why,
    |srv| {
        let (system, value_set, _) = definitions(srv).await;
        let (_, before) = get(srv, &format!("ValueSet/$expand?url={value_set}")).await;
        assert_eq!(before["expansion"]["total"], 5);
        add_green(srv, &system).await;
        let (_, after) = get(srv, &format!("ValueSet/$expand?url={value_set}")).await;
        assert_eq!(
            after["expansion"]["total"], 6,
            "the cached expansion was dropped"
        );

        let (status, missing) = get(srv, "ValueSet/$expand?url=http://example.org/nowhere").await;
        assert_eq!(status, 404);
        assert_eq!(missing["resourceType"], "OperationOutcome");
        assert_eq!(
            missing["issue"][0]["details"]["coding"][0]["code"],
            "not-found"
        );
        let broken = json!({"resourceType": "ValueSet", "status": "active", "compose": {"include": [
        {"system": system, "filter": [{"property": "colour", "op": "=", "value": "x"}]}]}});
        let (status, refused) = post(
            srv,
            "ValueSet/$expand",
            json!([{"name": "valueSet", "resource": broken}]),
        )
        .await;
        assert_eq!(status, 400, "{refused}");
        let (status, _) = get(
            srv,
            "ValueSet/$validate-code?url=http://example.org/nowhere&code=x",
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = get(
            srv,
            &format!("CodeSystem/$lookup?system={system}&code=nonsense"),
        )
        .await;
        assert_eq!(status, 404);
    }
);

db_test!(token_search_modifiers_ask_the_terminology, |srv| {
    let (system, value_set, _) = definitions(srv).await;
    let f = crate::support::Fixture::new(srv);
    let observation = |code: &str| {
        json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": system, "code": code}]}})
    };
    let red = f.create(observation("red")).await;
    let orange = f.create(observation("orange")).await;
    let blue = f.create(observation("blue")).await;
    let warm_only = json!({"resourceType": "ValueSet", "url": format!("{value_set}-warm"), "status": "active",
        "compose": {"include": [{"system": system, "concept": [{"code": "red"}, {"code": "orange"}]}]}});
    srv.create(warm_only).await;

    let warm = crate::support::sorted(&[&red, &orange]);
    assert_eq!(
        f.ids("Observation", &format!("code:below={system}|warm"))
            .await,
        warm
    );
    assert_eq!(
        f.ids("Observation", &format!("code:above={system}|red"))
            .await,
        vec![red.clone()]
    );
    assert_eq!(
        f.ids("Observation", &format!("code:in={value_set}-warm"))
            .await,
        warm
    );
    assert_eq!(
        f.ids("Observation", &format!("code:not-in={value_set}-warm"))
            .await,
        vec![blue]
    );
    let (status, _) = f
        .search_status(
            "Observation",
            "code:in=http://example.org/no-such-value-set",
        )
        .await;
    assert_eq!(status, 400);
});

/// The synthetic RF2 release writer the terminology crate's tests use.
#[path = "../../server/terminology/tests/common/mod.rs"]
mod synthetic_rf2;

#[tokio::test]
async fn snomed_and_loinc_releases_are_imported_at_start_up() {
    let db = crate::support::Database::fresh(crate::support::Backend::Sqlite);
    let release = db.dir.join("snomed");
    let spec = synthetic_rf2::Release {
        concepts: 200,
        branch_root: synthetic_rf2::concept_id(199),
        branch: 3,
    };
    synthetic_rf2::write(&release, &spec).unwrap();
    let loinc = db.dir.join("Loinc_2.80/Loinc.csv");
    std::fs::create_dir_all(loinc.parent().unwrap()).unwrap();
    std::fs::write(
        &loinc,
        "\"LOINC_NUM\",\"COMPONENT\",\"STATUS\",\"SHORTNAME\",\"LONG_COMMON_NAME\"\n\"8310-5\",\"Body temperature\",\"ACTIVE\",\"Body temperature\",\"Body temperature\"\n",
    )
    .unwrap();
    let srv = Server::start_with(
        &db,
        &[
            "--snomed",
            release.to_str().unwrap(),
            "--loinc",
            loinc.to_str().unwrap(),
        ],
    );
    let concept = synthetic_rf2::concept_id(7);
    // The imports run in the background: wait for them.
    let lookup = eventually(
        &srv,
        &format!("CodeSystem/$lookup?system=http://snomed.info/sct&code={concept}"),
    )
    .await;
    assert_eq!(param(&lookup, "display"), "Concept 7", "{lookup}");
    let (_, below) = get(
        &srv,
        &format!(
            "ValueSet/$expand?url=http://snomed.info/sct?fhir_vs=isa/{}",
            spec.branch_root
        ),
    )
    .await;
    assert_eq!(
        below["expansion"]["total"],
        1 + 9,
        "the implicit is-a value set: the concept, 3 children and 6 leaves: {below}"
    );
    let (_, valid) = get(&srv, &format!("CodeSystem/$validate-code?url=http://snomed.info/sct&code={concept}&display=Concept%207")).await;
    assert_eq!(param(&valid, "result"), true, "{valid}");
    let temperature = eventually(
        &srv,
        "CodeSystem/$lookup?system=http://loinc.org&code=8310-5",
    )
    .await;
    assert_eq!(param(&temperature, "version"), "2.80");
}

/// The answer of GET `path` once it is 200 (within ten seconds).
async fn eventually(srv: &Server, path: &str) -> Value {
    for _ in 0..100 {
        let (status, body) = get(srv, path).await;
        if status == 200 {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("GET {path} never answered 200");
}

#[tokio::test]
async fn a_definition_written_through_one_replica_is_used_by_another() {
    let db = crate::support::Database::fresh(crate::support::Backend::Postgres);
    let first = Server::start_on(&db);
    // Another replica: the same database, its own data folder.
    let elsewhere = crate::support::Database::fresh(crate::support::Backend::Sqlite);
    let replica = crate::support::Database {
        url: db.url.clone(),
        dir: elsewhere.dir.clone(),
    };
    let second = Server::start_on(&replica);
    let (system, value_set, _) = definitions(&first).await;
    // The second replica reads the stored definitions once, at its first need.
    let (_, before) = get(&second, &format!("ValueSet/$expand?url={value_set}")).await;
    assert_eq!(before["expansion"]["total"], 5, "{before}");

    add_green(&first, &system).await;
    // The second replica sees it through the change feed, its cache dropped.
    let mut total = Value::Null;
    for _ in 0..100 {
        let (_, after) = get(&second, &format!("ValueSet/$expand?url={value_set}")).await;
        total = after["expansion"]["total"].clone();
        if total == 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(total, 6, "the change reached the other replica");
}
