//! The access-filter seam: a [`Visibility`] that hides one patient's
//! compartment hides it from matches, counts and pages, from chains and `_has`,
//! and from `_include` and `_revinclude`, on SQLite and on PostgreSQL.

// Tests may unwrap: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use sea_orm::ConnectionTrait;
use tillit_model::{Id, Instant, ResourceKey, VersionId};
use tillit_store::{
    Condition, Include, IndexRow, IndexValue, Method, NewVersion, SearchQuery, Store, StoreOptions,
    StringTest, ValueTest, Visibility,
};

fn reference(param: &str, ty: &str, id: &str) -> IndexRow {
    IndexRow {
        param: param.into(),
        value: IndexValue::Reference {
            target_type: ty.into(),
            target_id: id.into(),
            version: String::new(),
        },
    }
}

fn name(text: &str) -> IndexRow {
    IndexRow {
        param: "name".into(),
        value: IndexValue::String {
            folded: text.to_lowercase(),
            exact: text.into(),
        },
    }
}

fn code(value: &str) -> IndexRow {
    IndexRow {
        param: "code".into(),
        value: IndexValue::Token {
            system: String::new(),
            code: value.into(),
        },
    }
}

async fn write(store: &Store, ty: &str, id: &str, index: Vec<IndexRow>) {
    let key = ResourceKey::new(ty, Id::parse(id).unwrap());
    let content = format!(r#"{{"resourceType":"{ty}","id":"{id}"}}"#);
    let txn = store.begin().await.unwrap();
    txn.write(&NewVersion {
        key: &key,
        version: VersionId::FIRST,
        last_updated: Instant::now(),
        method: Method::Post,
        content: Some(&content),
        index: &index,
    })
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

/// Hides patient `p1` and the observations about it.
fn hide_p1() -> Visibility {
    let mut visibility = Visibility::default();
    visibility.per_type.insert(
        "Patient".into(),
        Condition::Not(Box::new(Condition::Id(vec!["p1".into()]))),
    );
    visibility.per_type.insert(
        "Observation".into(),
        Condition::Not(Box::new(Condition::Match {
            param: "subject".into(),
            tests: vec![ValueTest::Reference {
                target_type: Some("Patient".into()),
                target_id: "p1".into(),
                version: None,
            }],
        })),
    );
    visibility
}

fn ids(page: &tillit_store::SearchPage) -> Vec<String> {
    page.matches.iter().map(|m| m.key.id.to_string()).collect()
}

async fn check(store: Store) {
    write(&store, "Patient", "p1", vec![name("Kari")]).await;
    write(&store, "Patient", "p2", vec![name("Ola")]).await;
    write(&store, "Practitioner", "dr", vec![name("Liv")]).await;
    for i in 0..6 {
        let patient = if i % 2 == 0 { "p1" } else { "p2" };
        write(
            &store,
            "Observation",
            &format!("o{i}"),
            vec![
                reference("subject", "Patient", patient),
                reference("performer", "Practitioner", "dr"),
                code(if i == 0 { "only-p1" } else { "pulse" }),
            ],
        )
        .await;
    }
    write(
        &store,
        "Encounter",
        "e1",
        vec![reference("subject", "Patient", "p1")],
    )
    .await;

    let hidden = hide_p1();
    let query = |ty: &str, condition: Condition, visibility: &Visibility| {
        let mut q = SearchQuery::of_type(ty);
        q.condition = condition;
        q.total = true;
        q.visibility = visibility.clone();
        q
    };
    let all = Condition::All(vec![]);

    // Matches, counts and full pages.
    let mut q = query("Observation", all.clone(), &hidden);
    q.count = 2;
    let first = store.search(&q).await.unwrap();
    assert_eq!(first.total, Some(3));
    assert_eq!(ids(&first), vec!["o1", "o3"]);
    q.cursor = first.next.clone();
    let second = store.search(&q).await.unwrap();
    assert_eq!(ids(&second), vec!["o5"]);
    assert!(second.next.is_none());
    let open = store
        .search(&query("Observation", all.clone(), &Visibility::default()))
        .await
        .unwrap();
    assert_eq!(open.total, Some(6));
    let patients = store
        .search(&query("Patient", all.clone(), &hidden))
        .await
        .unwrap();
    assert_eq!(ids(&patients), vec!["p2"]);

    // Chains: the encounter is visible, the patient it points at is not.
    let chain = Condition::Chain {
        param: "subject".into(),
        target_types: vec!["Patient".into()],
        condition: Box::new(Condition::Match {
            param: "name".into(),
            tests: vec![ValueTest::String(StringTest::Prefix("kari".into()))],
        }),
    };
    let open = store
        .search(&query("Encounter", chain.clone(), &Visibility::default()))
        .await
        .unwrap();
    assert_eq!(ids(&open), vec!["e1"]);
    let filtered = store
        .search(&query("Encounter", chain, &hidden))
        .await
        .unwrap();
    assert_eq!(filtered.total, Some(0));

    // _has: only a hidden observation has this code.
    let has = Condition::Has {
        source_type: "Observation".into(),
        param: "performer".into(),
        condition: Box::new(Condition::Match {
            param: "code".into(),
            tests: vec![ValueTest::Token {
                system: None,
                code: Some("only-p1".into()),
            }],
        }),
    };
    let open = store
        .search(&query("Practitioner", has.clone(), &Visibility::default()))
        .await
        .unwrap();
    assert_eq!(ids(&open), vec!["dr"]);
    let filtered = store
        .search(&query("Practitioner", has, &hidden))
        .await
        .unwrap();
    assert_eq!(filtered.total, Some(0));

    // _include of a hidden patient, _revinclude of hidden observations.
    let encounters = store
        .search(&query("Encounter", all.clone(), &hidden))
        .await
        .unwrap();
    let include = Include {
        source_type: "Encounter".into(),
        params: vec!["subject".into()],
        target_type: None,
        reverse: false,
        iterate: false,
    };
    let included = store
        .include(
            &encounters.matches,
            std::slice::from_ref(&include),
            &Visibility::default(),
            100,
        )
        .await
        .unwrap();
    assert_eq!(included.len(), 1);
    let included = store
        .include(&encounters.matches, &[include], &hidden, 100)
        .await
        .unwrap();
    assert!(included.is_empty());
    let practitioners = store
        .search(&query("Practitioner", all, &hidden))
        .await
        .unwrap();
    let revinclude = Include {
        source_type: "Observation".into(),
        params: vec!["performer".into()],
        target_type: None,
        reverse: true,
        iterate: false,
    };
    let referring = store
        .include(&practitioners.matches, &[revinclude], &hidden, 100)
        .await
        .unwrap();
    let mut referring: Vec<String> = referring.iter().map(|f| f.key.id.to_string()).collect();
    referring.sort();
    assert_eq!(referring, vec!["o1", "o3", "o5"]);
    store.close().await;
}

fn options(url: String) -> StoreOptions {
    StoreOptions {
        database_url: url,
        pool_size: 4,
        read_cache_bytes: 1 << 20,
    }
}

#[tokio::test]
async fn hidden_compartments_stay_hidden_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("tillit-store-visibility-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::connect(&options(format!("sqlite://{}/t.db", dir.display())))
        .await
        .unwrap();
    check(store).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn hidden_compartments_stay_hidden_on_postgres() {
    let base = std::env::var("TILLIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("tillit_store_visibility_{}", std::process::id());
    let admin = sea_orm::Database::connect(format!("{base}/postgres"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let store = Store::connect(&options(format!("{base}/{name}")))
        .await
        .unwrap();
    check(store).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}
