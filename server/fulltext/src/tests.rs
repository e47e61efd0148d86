//! The index through its public API: updates, commits, the query language, persistence.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::{Field, FullText};

/// A directory under the system's temp dir, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("tillit-fulltext-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn patient(family: &str, narrative: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "text": {"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{narrative}</div>")},
        "name": [{"family": family}],
    })
}

fn condition(display: &str) -> Value {
    json!({
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": display}]},
        "subject": {"reference": "Patient/p1"},
    })
}

/// An in-memory index with a few patients and conditions, committed.
fn sample() -> FullText {
    let index = FullText::open(None).unwrap();
    let p1 = patient("Nordmann", "Kari Nordmann, født i <b>Ålesund</b>");
    let p2 = patient("Hansen", "Ola Hansen fra Bærum &amp; Søreide");
    let p3 = patient("Berg", "Per Berg, Oslo. Diabetes type 2 diagnosed");
    let c1 = condition("Diabetes mellitus type 2");
    let c2 = condition("Heart attack");
    let c3 = condition("Type 1 diabetic ketoacidosis");
    index
        .update(&[
            ("Patient", "p1", Some(&p1)),
            ("Patient", "p2", Some(&p2)),
            ("Patient", "p3", Some(&p3)),
            ("Condition", "c1", Some(&c1)),
            ("Condition", "c2", Some(&c2)),
            ("Condition", "c3", Some(&c3)),
        ])
        .unwrap();
    index.commit().unwrap();
    index
}

/// The ids found, sorted, so tests do not depend on scores.
fn found(index: &FullText, resource_type: &str, field: Field, query: &str) -> Vec<String> {
    let mut ids = index.search(resource_type, field, query, 100).unwrap();
    ids.sort();
    ids
}

#[test]
fn a_word_finds_its_resources() {
    let index = sample();
    assert_eq!(found(&index, "Patient", Field::Text, "Nordmann"), ["p1"]);
    assert_eq!(found(&index, "Condition", Field::Content, "heart"), ["c2"]);
    assert!(found(&index, "Patient", Field::Text, "Bergen").is_empty());
}

#[test]
fn words_match_regardless_of_case_and_accents() {
    let index = sample();
    assert_eq!(found(&index, "Patient", Field::Text, "alesund"), ["p1"]);
    assert_eq!(found(&index, "Patient", Field::Text, "ÅLESUND"), ["p1"]);
    assert_eq!(found(&index, "Patient", Field::Text, "Ålesund"), ["p1"]);
    assert_eq!(found(&index, "Patient", Field::Text, "baerum"), ["p2"]);
    assert_eq!(found(&index, "Patient", Field::Text, "Bærum"), ["p2"]);
    assert_eq!(found(&index, "Patient", Field::Text, "soreide"), ["p2"]);
    assert_eq!(
        found(&index, "Condition", Field::Content, "DIABETES"),
        ["c1"]
    );
}

#[test]
fn words_are_anded_unless_ored() {
    let index = sample();
    assert_eq!(
        found(&index, "Condition", Field::Content, "diabetes type"),
        ["c1"]
    );
    assert!(found(&index, "Condition", Field::Content, "diabetes heart").is_empty());
    assert_eq!(
        found(&index, "Condition", Field::Content, "diabetes OR heart"),
        ["c1", "c2"]
    );
    // OR binds tighter than the implicit AND.
    assert_eq!(
        found(&index, "Condition", Field::Content, "type 2 OR heart"),
        ["c1"]
    );
    assert_eq!(
        found(&index, "Condition", Field::Content, "diabetes AND mellitus"),
        ["c1"]
    );
    // Lowercase `or` is a word.
    assert!(found(&index, "Condition", Field::Content, "diabetes or heart").is_empty());
}

#[test]
fn quoted_words_are_a_phrase() {
    let index = sample();
    assert_eq!(
        found(&index, "Condition", Field::Content, "\"diabetes mellitus\""),
        ["c1"]
    );
    assert!(found(&index, "Condition", Field::Content, "\"mellitus diabetes\"").is_empty());
    assert_eq!(
        found(
            &index,
            "Condition",
            Field::Content,
            "\"type 1\" OR \"heart attack\""
        ),
        ["c2", "c3"]
    );
}

#[test]
fn trailing_star_is_a_prefix() {
    let index = sample();
    assert_eq!(
        found(&index, "Condition", Field::Content, "diab*"),
        ["c1", "c3"]
    );
    assert_eq!(
        found(&index, "Condition", Field::Content, "DIAB*"),
        ["c1", "c3"]
    );
    assert_eq!(
        found(&index, "Condition", Field::Content, "\"type 1 diab\"*"),
        ["c3"]
    );
    assert_eq!(found(&index, "Patient", Field::Text, "åle*"), ["p1"]);
    assert!(found(&index, "Condition", Field::Content, "diab").is_empty());
}

#[test]
fn search_is_limited_to_the_resource_type_and_field() {
    let index = sample();
    assert_eq!(found(&index, "Patient", Field::Text, "diabetes"), ["p3"]);
    assert_eq!(
        found(&index, "Condition", Field::Content, "diabetes"),
        ["c1"]
    );
    assert!(found(&index, "Observation", Field::Content, "diabetes").is_empty());
    // Conditions have no narrative.
    assert!(found(&index, "Condition", Field::Text, "diabetes").is_empty());
    // `_content` includes the narrative and the other text.
    assert_eq!(found(&index, "Patient", Field::Content, "Hansen"), ["p2"]);
    assert_eq!(found(&index, "Patient", Field::Content, "fra"), ["p2"]);
}

#[test]
fn ids_references_and_systems_are_not_content() {
    let index = sample();
    assert!(found(&index, "Condition", Field::Content, "snomed").is_empty());
    assert!(found(&index, "Condition", Field::Content, "p1").is_empty());
    assert_eq!(
        found(&index, "Condition", Field::Content, "44054006").len(),
        3
    );
}

#[test]
fn best_match_comes_first_and_limit_is_respected() {
    let index = FullText::open(None).unwrap();
    let once = condition("asthma");
    let thrice = condition("asthma asthma asthma attack");
    index
        .update(&[
            ("Condition", "once", Some(&once)),
            ("Condition", "thrice", Some(&thrice)),
        ])
        .unwrap();
    index.commit().unwrap();
    assert_eq!(
        index
            .search("Condition", Field::Content, "asthma", 10)
            .unwrap(),
        ["thrice", "once"]
    );
    assert_eq!(
        index
            .search("Condition", Field::Content, "asthma", 1)
            .unwrap(),
        ["thrice"]
    );
    assert!(index
        .search("Condition", Field::Content, "asthma", 0)
        .unwrap()
        .is_empty());
    assert_eq!(
        index
            .search("Condition", Field::Content, "asthma", usize::MAX)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn updates_are_invisible_until_commit() {
    let index = sample();
    let p4 = patient("Dahl", "Eva Dahl");
    index.update(&[("Patient", "p4", Some(&p4))]).unwrap();
    assert!(found(&index, "Patient", Field::Text, "Dahl").is_empty());
    index.commit().unwrap();
    assert_eq!(found(&index, "Patient", Field::Text, "Dahl"), ["p4"]);
}

#[test]
fn update_replaces_the_document() {
    let index = sample();
    let moved = patient("Nordmann", "Kari Nordmann, flyttet til Tromsø");
    index.update(&[("Patient", "p1", Some(&moved))]).unwrap();
    index.commit().unwrap();
    assert!(found(&index, "Patient", Field::Text, "alesund").is_empty());
    assert_eq!(found(&index, "Patient", Field::Text, "tromso"), ["p1"]);
    assert_eq!(found(&index, "Patient", Field::Text, "Nordmann"), ["p1"]);
}

#[test]
fn delete_removes_the_document() {
    let index = sample();
    index.update(&[("Patient", "p1", None)]).unwrap();
    index.commit().unwrap();
    assert!(found(&index, "Patient", Field::Text, "Nordmann").is_empty());
    // Same id, other type: untouched.
    let c = condition("Nordmann syndrome");
    index
        .update(&[("Condition", "p2", Some(&c)), ("Patient", "p2", None)])
        .unwrap();
    index.commit().unwrap();
    assert_eq!(
        found(&index, "Condition", Field::Content, "nordmann"),
        ["p2"]
    );
    assert!(found(&index, "Patient", Field::Text, "baerum").is_empty());
}

#[test]
fn clear_removes_everything_and_the_position() {
    let index = sample();
    index.commit_at(7).unwrap();
    index.clear().unwrap();
    assert!(found(&index, "Patient", Field::Text, "Nordmann").is_empty());
    assert!(found(&index, "Condition", Field::Content, "diabetes").is_empty());
    assert_eq!(index.position(), None);
}

#[test]
fn commit_keeps_the_position() {
    let index = FullText::open(None).unwrap();
    assert_eq!(index.position(), None);
    index.commit_at(41).unwrap();
    assert_eq!(index.position(), Some(41));
    let p = patient("Lie", "Lie");
    index.update(&[("Patient", "p", Some(&p))]).unwrap();
    index.commit().unwrap();
    assert_eq!(index.position(), Some(41));
}

#[test]
fn on_disk_index_keeps_documents_and_position_across_reopening() {
    let dir = TempDir::new("reopen");
    {
        let index = FullText::open(Some(&dir.0)).unwrap();
        assert_eq!(index.position(), None);
        let p = patient("Nordmann", "Kari fra Ålesund");
        index.update(&[("Patient", "p1", Some(&p))]).unwrap();
        index.commit_at(1234).unwrap();
        assert_eq!(found(&index, "Patient", Field::Text, "alesund"), ["p1"]);
    }
    let index = FullText::open(Some(&dir.0)).unwrap();
    assert_eq!(index.position(), Some(1234));
    assert_eq!(found(&index, "Patient", Field::Text, "alesund"), ["p1"]);
}

#[test]
fn a_second_writer_on_the_same_directory_is_an_error() {
    let dir = TempDir::new("locked");
    let _first = FullText::open(Some(&dir.0)).unwrap();
    let second = FullText::open(Some(&dir.0));
    assert!(second.is_err());
}

#[test]
fn hostile_queries_neither_panic_nor_fail() {
    let index = sample();
    let long_word = "a".repeat(100_000);
    let many_words = "diabetes ".repeat(10_000);
    let many_ors = "x OR ".repeat(5_000);
    let nested = "(".repeat(10_000);
    let queries = [
        "",
        " ",
        "\"",
        "\"\"",
        "\"\"*",
        "(",
        ")",
        "()",
        "AND",
        "OR",
        "AND OR AND",
        "OR diabetes",
        "diabetes OR",
        "*",
        "**",
        "***a",
        "a**",
        ":",
        "code:diabetes",
        "type:Condition",
        "[a TO b]",
        "{",
        "}",
        "^2",
        "diabetes^2",
        "~",
        "diabetes~2",
        "-diabetes",
        "+diabetes",
        "!",
        "\\",
        "\\\"",
        "'",
        "/.*/",
        "&&",
        "||",
        "NOT",
        "\u{0}",
        "\u{7}\u{1b}[31m",
        "tab\tand\nnewline\r",
        "\u{feff}\u{200b}",
        "💊 🩺",
        "日本語",
        "\u{10ffff}",
        "é*",
        long_word.as_str(),
        many_words.as_str(),
        many_ors.as_str(),
        nested.as_str(),
    ];
    for query in queries {
        for field in [Field::Text, Field::Content] {
            assert!(
                index.search("Condition", field, query, 10).is_ok(),
                "{query:?}"
            );
            assert!(index.search("", field, query, 10).is_ok(), "{query:?}");
        }
    }
    // Syntax that tantivy would interpret is plain text here.
    assert_eq!(
        found(&index, "Condition", Field::Content, "-diabetes"),
        ["c1"]
    );
    assert_eq!(
        found(&index, "Condition", Field::Content, "code:diabetes"),
        Vec::<String>::new()
    );
    assert_eq!(
        found(&index, "Condition", Field::Content, "(diabetes)"),
        ["c1"]
    );
    assert_eq!(
        found(&index, "Condition", Field::Content, &many_words),
        ["c1"]
    );
    assert!(found(&index, "Condition", Field::Content, "*").is_empty());
}

#[test]
fn full_text_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FullText>();
}
