//! Search across references: chains over several levels, reverse chains
//! (`_has`, nested), `_include`/`_revinclude` with `:iterate` and `*`, `_list`,
//! system search with `_type`, compartment search and `Patient/$everything`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::db_test;
use crate::support::{entries_with_mode, match_ids, sorted, Fixture};

/// An organisation, a practitioner working there, two patients (one cared for
/// by the practitioner) and observations on both.
struct Clinic {
    org: String,
    practitioner: String,
    kari: String,
    ola: String,
    kari_pulse: String,
    ola_pulse: String,
}

async fn clinic(f: &Fixture<'_>) -> Clinic {
    let org = f
        .create(json!({"resourceType": "Organization", "name": "Bergen legesenter"}))
        .await;
    let practitioner = f
        .create(
            json!({"resourceType": "Practitioner", "name": [{"family": "Lege", "given": ["Liv"]}]}),
        )
        .await;
    f.create(json!({"resourceType": "PractitionerRole",
        "practitioner": {"reference": format!("Practitioner/{practitioner}")},
        "organization": {"reference": format!("Organization/{org}")}}))
        .await;
    let kari = f
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Nordmann", "given": ["Kari"]}],
            "birthDate": "1970-01-01",
            "generalPractitioner": [{"reference": format!("Practitioner/{practitioner}")}],
            "managingOrganization": {"reference": format!("Organization/{org}")}}),
        )
        .await;
    let ola = f
        .create(
            json!({"resourceType": "Patient", "name": [{"family": "Hansen", "given": ["Ola"]}],
            "birthDate": "1990-01-01"}),
        )
        .await;
    let pulse = |patient: &str, value: i64| {
        json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": format!("Patient/{patient}")},
            "performer": [{"reference": format!("Practitioner/{practitioner}")}],
            "effectiveDateTime": "2024-05-01T10:00:00Z",
            "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": "/min"}})
    };
    let kari_pulse = f.create(pulse(&kari, 72)).await;
    let ola_pulse = f.create(pulse(&ola, 88)).await;
    Clinic {
        org,
        practitioner,
        kari,
        ola,
        kari_pulse,
        ola_pulse,
    }
}

db_test!(chains_follow_references_over_several_levels, |srv| {
    let f = Fixture::new(srv);
    let c = clinic(&f).await;
    assert_eq!(
        f.ids("Observation", "subject:Patient.name=kari").await,
        vec![c.kari_pulse.clone()]
    );
    assert_eq!(
        f.ids("Observation", "patient.family=hansen").await,
        vec![c.ola_pulse.clone()]
    );
    assert_eq!(
        f.ids("Observation", "subject.birthdate=lt1980").await,
        vec![c.kari_pulse.clone()]
    );
    assert_eq!(
        f.ids("Observation", "subject:Patient.organization.name=bergen")
            .await,
        vec![c.kari_pulse.clone()],
        "two levels"
    );
    assert_eq!(
        f.ids(
            "Observation",
            "subject:Patient.general-practitioner.name=liv"
        )
        .await,
        vec![c.kari_pulse.clone()]
    );
    let (status, outcome) = f
        .search_status("Observation", "subject:Patient.banana=x")
        .await;
    assert_eq!(status, 400, "{outcome}");
    let (status, _) = f.search_status("Observation", "code.name=x").await;
    assert_eq!(status, 400, "a token cannot be chained");
});

db_test!(reverse_chains_find_referenced_resources, |srv| {
    let f = Fixture::new(srv);
    let c = clinic(&f).await;
    assert_eq!(
        f.ids("Patient", "_has:Observation:patient:value-quantity=lt80")
            .await,
        vec![c.kari.clone()]
    );
    assert_eq!(
        f.ids("Patient", "_has:Observation:subject:code=8867-4")
            .await,
        sorted(&[&c.kari, &c.ola])
    );
    assert_eq!(
        f.ids(
            "Organization",
            "_has:PractitionerRole:organization:practitioner.name=lege"
        )
        .await,
        vec![c.org.clone()]
    );
    assert_eq!(
        f.ids(
            "Practitioner",
            "_has:Observation:performer:_has:Provenance:target:agent=Practitioner/nobody"
        )
        .await,
        Vec::<String>::new(),
        "nested _has"
    );
    let (status, _) = f
        .search_status("Patient", "_has:Observation:code:status=final")
        .await;
    assert_eq!(status, 400, "code is not a reference");
});

db_test!(includes_add_referenced_and_referring_resources, |srv| {
    let f = Fixture::new(srv);
    let c = clinic(&f).await;
    let bundle = f
        .search(
            "Observation",
            &format!("_id={}&_include=Observation:subject", c.kari_pulse),
        )
        .await;
    assert_eq!(match_ids(&bundle), vec![c.kari_pulse.clone()]);
    assert_eq!(
        entries_with_mode(&bundle, "include"),
        vec![format!("Patient/{}", c.kari)]
    );
    assert_eq!(bundle["total"], 1, "included resources are not counted");

    let typed = f
        .search(
            "Observation",
            &format!(
                "_id={}&_include=Observation:performer:Practitioner",
                c.ola_pulse
            ),
        )
        .await;
    assert_eq!(
        entries_with_mode(&typed, "include"),
        vec![format!("Practitioner/{}", c.practitioner)]
    );

    let all = f
        .search(
            "Observation",
            &format!("_id={}&_include=Observation:*", c.kari_pulse),
        )
        .await;
    assert_eq!(
        sorted(
            &entries_with_mode(&all, "include")
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        ),
        sorted(&[
            &format!("Patient/{}", c.kari),
            &format!("Practitioner/{}", c.practitioner)
        ])
    );

    let rev = f
        .search(
            "Patient",
            &format!("_id={}&_revinclude=Observation:subject", c.ola),
        )
        .await;
    assert_eq!(
        entries_with_mode(&rev, "include"),
        vec![format!("Observation/{}", c.ola_pulse)]
    );

    // :iterate follows the included patient on to its organisation.
    let iterated = f
        .search(
            "Observation",
            &format!(
                "_id={}&_include=Observation:subject&_include:iterate=Patient:organization",
                c.kari_pulse
            ),
        )
        .await;
    assert_eq!(
        sorted(
            &entries_with_mode(&iterated, "include")
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        ),
        sorted(&[
            &format!("Patient/{}", c.kari),
            &format!("Organization/{}", c.org)
        ])
    );
    let (status, _) = f
        .search_status("Observation", "_include=Observation:banana")
        .await;
    assert_eq!(status, 400);
});

db_test!(compartments_and_everything, |srv| {
    let f = Fixture::new(srv);
    let c = clinic(&f).await;
    let in_compartment = srv
        .get_json(&format!("Patient/{}/Observation?{}", c.kari, f.tag_param()))
        .await;
    assert_eq!(match_ids(&in_compartment), vec![c.kari_pulse.clone()]);
    let filtered = srv
        .get_json(&format!("Patient/{}/Observation?code=banana", c.kari))
        .await;
    assert_eq!(filtered["total"], 0);

    let everything = srv
        .get_json(&format!("Patient/{}/$everything", c.kari))
        .await;
    let matched = match_ids(&everything);
    assert!(matched.contains(&c.kari), "{matched:?}");
    assert!(matched.contains(&c.kari_pulse), "{matched:?}");
    assert!(!matched.contains(&c.ola_pulse), "{matched:?}");
    let included = entries_with_mode(&everything, "include");
    assert!(
        included.contains(&format!("Practitioner/{}", c.practitioner)),
        "{included:?}"
    );
    let only_obs = srv
        .get_json(&format!("Patient/{}/$everything?_type=Observation", c.kari))
        .await;
    assert_eq!(match_ids(&only_obs), vec![c.kari_pulse.clone()]);
    let later = srv
        .get_json(&format!("Patient/{}/$everything?_since=2999-01-01", c.kari))
        .await;
    assert!(match_ids(&later).is_empty());
    let missing = srv.get("Patient/no-such-patient/$everything").await;
    assert_eq!(missing.status(), 404);
});

db_test!(system_search_lists_and_type, |srv| {
    let f = Fixture::new(srv);
    let c = clinic(&f).await;
    let both = srv
        .get_json(&format!("?_type=Patient,Practitioner&{}", f.tag_param()))
        .await;
    let mut ids = match_ids(&both);
    ids.sort();
    assert_eq!(ids, sorted(&[&c.kari, &c.ola, &c.practitioner]));
    assert_eq!(both["total"], 3);
    let list = f
        .create(
            json!({"resourceType": "List", "status": "current", "mode": "working",
            "entry": [{"item": {"reference": format!("Patient/{}", c.ola)}}]}),
        )
        .await;
    assert_eq!(
        f.ids("Patient", &format!("_list={list}")).await,
        vec![c.ola.clone()]
    );
    let posted = srv
        .request(Method::POST, "Patient/_search")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name=kari&{}", f.tag_param()))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let posted: Value = posted.json().await.unwrap();
    assert_eq!(match_ids(&posted), vec![c.kari.clone()]);
    let _ = c.org;
});
