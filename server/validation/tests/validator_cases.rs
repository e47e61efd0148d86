//! Agreement with the HL7 Java validator on its own R4 test cases
//! (`../shared/testdata/validator`, from `FHIR/fhir-test-cases`): every case
//! that needs no package beyond the core, no terminology server, no web fetch,
//! no XML and no logical model is validated, and our verdict (errors or not;
//! warnings or not) is compared with the Java validator's expected outcome.
//! The cases where we disagree are listed with the reason in
//! `tests/validator-cases.txt`; the test fails when that list changes.
//! `TILLIT_BLESS=1` rewrites the list after a deliberate change;
//! `TILLIT_CASE=name` (with `--nocapture`) prints one case's issues.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tillit_model::{Issue, IssueSeverity};
use tillit_validation::Validator;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/validator")
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(text.trim_start_matches('\u{feff}')).ok()
}

/// Whether a case can run on a core-only validator without a terminology server.
fn runnable(case: &Value) -> bool {
    let strings = |key: &str| -> Vec<&str> {
        case[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    };
    case["use-test"] != false
        && case["file"].as_str().is_some_and(|f| f.ends_with(".json"))
        && strings("needs").is_empty()
        && !matches!(case["module"].as_str(), Some("tx" | "tx-advanced"))
        && case["fetcher"] != "standalone"
        && case.get("logical").is_none()
        && case.get("supporting5").is_none()
        && strings("supporting")
            .iter()
            .chain(&strings("profiles"))
            .all(|f| f.ends_with(".json"))
}

/// Errors and warnings expected by the Java validator, or `None` when they
/// came from a terminology server.
fn expected(name: &str) -> Option<(Vec<String>, usize)> {
    let file = testdata()
        .join("outcomes/java")
        .join(format!("R4.{}-base.json", name.replace('/', "-")));
    let Some(outcome) = read_json(&file) else {
        return Some((Vec::new(), 0));
    };
    let issues = outcome["issue"].as_array().cloned().unwrap_or_default();
    if outcome
        .to_string()
        .contains("operationoutcome-issue-server")
    {
        return None;
    }
    let errors = issues
        .iter()
        .filter(|i| matches!(i["severity"].as_str(), Some("error" | "fatal")))
        .map(|i| {
            let at = i["expression"][0].as_str().unwrap_or("");
            let text = i["details"]["text"].as_str().unwrap_or("");
            format!("{at}: {text}")
        })
        .collect();
    let warnings = issues.iter().filter(|i| i["severity"] == "warning").count();
    Some((errors, warnings))
}

/// The validator with a case's own definitions added.
fn validator_for(case: &Value) -> Validator {
    let base = common::validator();
    let profiles = base.profiles.layer();
    for key in ["supporting", "profiles"] {
        for file in case[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(resource) = read_json(&testdata().join(file)) {
                profiles.add(&resource);
            }
        }
    }
    // The harness ignores best-practice invariants unless a case says how to treat them.
    let best_practice = match case["best-practice"].as_str() {
        Some("Hint") => Some(IssueSeverity::Information),
        Some("Warning") => Some(IssueSeverity::Warning),
        Some("Error") => Some(IssueSeverity::Error),
        _ => None,
    };
    let validator = Validator::new(
        base.structure.clone(),
        Arc::new(profiles),
        base.model.clone(),
    )
    .with_best_practice(best_practice);
    match &base.terminology {
        Some(terminology) => validator.with_terminology(terminology.clone()),
        None => validator,
    }
}

/// The profiles an ImplementationGuide among the case's definitions makes
/// global for the resource's type (`ImplementationGuide.global`), which
/// apply to every resource of that type.
fn global_profiles(case: &Value, resource: &Value) -> Vec<String> {
    let ty = resource["resourceType"].as_str().unwrap_or_default();
    ["supporting", "profiles"]
        .iter()
        .flat_map(|key| case[*key].as_array().cloned().unwrap_or_default())
        .filter_map(|file| read_json(&testdata().join(file.as_str()?)))
        .filter(|r| r["resourceType"] == "ImplementationGuide")
        .flat_map(|ig| ig["global"].as_array().cloned().unwrap_or_default())
        .filter(|g| g["type"] == ty)
        .filter_map(|g| g["profile"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn agreement_with_the_hl7_validator_on_its_r4_cases() {
    let manifest = read_json(&testdata().join("manifest-r4.json")).expect("the validator manifest");
    // The upstream harness keys cases by name: the last of a name runs.
    let mut cases: BTreeMap<String, Value> = BTreeMap::new();
    for case in manifest["test-cases"].as_array().expect("test-cases") {
        if let Some(name) = case["name"].as_str() {
            cases.insert(name.to_owned(), case.clone());
        }
    }
    let (mut run, mut verdicts, mut levels, mut same_errors) = (0, 0, 0, 0);
    let mut disagreements = BTreeMap::new();
    for (name, case) in &cases {
        if !runnable(case) {
            continue;
        }
        let Some((expected_errors, expected_warnings)) = expected(name) else {
            continue;
        };
        let file = testdata().join(case["file"].as_str().unwrap_or_default());
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let issues: Vec<Issue> =
            match serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
                Ok(resource) => {
                    let globals = global_profiles(case, &resource);
                    let globals: Vec<&str> = globals.iter().map(String::as_str).collect();
                    validator_for(case).validate(&resource, &globals)
                }
                Err(e) => vec![Issue::error(
                    tillit_model::IssueType::Structure,
                    format!("not JSON: {e}"),
                )],
            };
        run += 1;
        if std::env::var("CASE").as_deref() == Ok(name.as_str()) {
            for i in &issues {
                eprintln!("DBG {:?} {:?} {}", i.severity, i.expression, i.diagnostics);
            }
        }
        let errors: Vec<&Issue> = issues.iter().filter(|i| i.is_error()).collect();
        let warnings = issues
            .iter()
            .filter(|i| i.severity == IssueSeverity::Warning)
            .count();
        let verdict = errors.is_empty() == expected_errors.is_empty();
        let level = verdict && (warnings == 0) == (expected_warnings == 0);
        verdicts += usize::from(verdict);
        levels += usize::from(level);
        let mut ours: Vec<&str> = errors
            .iter()
            .filter_map(|e| e.expression.as_deref())
            .collect();
        let mut theirs: Vec<&str> = expected_errors
            .iter()
            .filter_map(|e| e.split(": ").next())
            .collect();
        ours.sort_unstable();
        ours.dedup();
        theirs.sort_unstable();
        theirs.dedup();
        same_errors += usize::from(verdict && ours == theirs);
        if !verdict {
            let reason = if expected_errors.is_empty() {
                let first = errors.first().map(|e| {
                    format!(
                        "{}: {}",
                        e.expression.as_deref().unwrap_or(""),
                        e.diagnostics
                    )
                });
                format!(
                    "we find {} errors where Java finds none; first: {}",
                    errors.len(),
                    first.unwrap_or_default()
                )
            } else {
                format!(
                    "Java finds {} errors we do not; first: {}",
                    expected_errors.len(),
                    expected_errors[0]
                )
            };
            let reason: String = reason
                .chars()
                .take(300)
                .collect::<String>()
                .replace('\n', " ");
            disagreements.insert(name.clone(), reason);
        }
    }
    let percent = |n: usize| 100.0 * n as f64 / run.max(1) as f64;
    let summary = format!(
        "# {run} runnable cases: error verdict agrees in {verdicts} ({:.1}%), error and warning verdicts in {levels} ({:.1}%), and the errors' locations too in {same_errors} ({:.1}%).",
        percent(verdicts),
        percent(levels),
        percent(same_errors)
    );
    println!("{summary}");
    let listing: String = std::iter::once(format!(
        "# Cases of ../shared/testdata/validator where Tillit's error verdict differs from the HL7 Java validator's.\n# `name: reason`. Written by validator_cases.rs with TILLIT_BLESS=1.\n{summary}\n"
    ))
    .chain(disagreements.iter().map(|(name, reason)| format!("{name}: {reason}\n")))
    .collect();
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validator-cases.txt");
    if std::env::var_os("TILLIT_BLESS").is_some() {
        std::fs::write(&list, &listing).expect("write the list");
        return;
    }
    let committed = std::fs::read_to_string(&list).unwrap_or_default();
    let names = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_owned()))
            .collect()
    };
    assert!(run > 200, "only {run} cases ran");
    assert_eq!(
        names(&committed),
        names(&listing),
        "the disagreements changed; {summary}\nrun with TILLIT_BLESS=1 to rewrite tests/validator-cases.txt if this is deliberate"
    );
}
