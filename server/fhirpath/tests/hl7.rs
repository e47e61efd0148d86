//! The official HL7 FHIRPath R4 suite (`shared/testdata/fhirpath/tests.json`).
//!
//! Known failures are listed with reasons in `suite-failures.txt`; the test fails when that list
//! is wrong in either direction. `UPDATE_EXPECT=1` rewrites it (review the reasons afterwards).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use serde_json::Value;
use tillit_fhirpath::{Environment, Expression, Item, Model};

use crate::package::{core, input, TESTDATA};

const FAILURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/suite-failures.txt");
const REQUIRED_PASS_RATE: f64 = 0.97;

/// The suite's name for a result type: FHIR type codes for nodes, lower-case System names.
fn type_code(item: &Item<'_>) -> String {
    match item {
        Item::Node(node) => node.type_name().to_owned(),
        Item::Value(value) => match value.type_name() {
            "Boolean" => "boolean".into(),
            "Integer" => "integer".into(),
            "Decimal" => "decimal".into(),
            "String" => "string".into(),
            "Date" => "date".into(),
            "DateTime" => "dateTime".into(),
            "Time" => "time".into(),
            other => other.into(),
        },
    }
}

/// An item written as the suite writes expected values: FHIRPath literals without quotes
/// around strings, `@` before dates and `@T` before times.
fn literal(item: &Item<'_>, model: &Model) -> String {
    match item.system_value(model) {
        Some(tillit_fhirpath::Value::Date(d) | tillit_fhirpath::Value::DateTime(d)) => {
            format!("@{d}")
        }
        Some(tillit_fhirpath::Value::Time(t)) => format!("@T{t}"),
        Some(value) => value.to_string(),
        None => item.to_json().to_string(),
    }
}

/// Runs one case; `Err` says how it failed.
fn run(case: &Value, inputs: &mut HashMap<String, Value>, model: &Model) -> Result<(), String> {
    let expression = case["expression"].as_str().unwrap_or_default();
    let invalid = case["invalid"].as_str();
    let strict = case["mode"].as_str() == Some("strict")
        || case["expressionMode"].as_str() == Some("strict");
    let resource = match case["inputfileJson"].as_str() {
        Some(name) => inputs
            .entry(name.to_owned())
            .or_insert_with(|| input(name))
            .clone(),
        None => Value::Null,
    };
    let env = Environment::new(model).with_strict(strict);
    let result = Expression::parse(expression).and_then(|e| e.evaluate(&resource, &env));
    let items = match (result, invalid) {
        (Err(_), Some(_)) => return Ok(()),
        (Err(error), None) => return Err(format!("unexpected error: {error}")),
        (Ok(items), Some(kind)) => {
            let shown: Vec<String> = items.iter().map(|i| literal(i, model)).collect();
            return Err(format!(
                "expected a {kind} error, got [{}]",
                shown.join(", ")
            ));
        }
        (Ok(items), None) => items,
    };
    let actual: Vec<(String, String)> = if case["predicate"].as_bool() == Some(true) {
        let truth = match items.as_slice() {
            [] => false,
            [item] => item.system_value(model) != Some(tillit_fhirpath::Value::Boolean(false)),
            _ => true,
        };
        vec![("boolean".into(), truth.to_string())]
    } else {
        items
            .iter()
            .map(|item| (type_code(item), literal(item, model)))
            .collect()
    };
    let expected: Vec<(Option<String>, String)> = case["outputs"]
        .as_array()
        .map(|outputs| {
            outputs
                .iter()
                .map(|o| {
                    (
                        o["type"].as_str().map(str::to_owned),
                        o["value"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let matches = |(ty, value): &(Option<String>, String),
                   (actual_ty, actual_value): &(String, String)| {
        value == actual_value && ty.as_ref().is_none_or(|t| t == actual_ty)
    };
    let ok = if case["ordered"].as_bool() == Some(false) {
        let mut used = vec![false; actual.len()];
        actual.len() == expected.len()
            && expected.iter().all(|e| {
                let found = actual
                    .iter()
                    .enumerate()
                    .position(|(i, a)| !used[i] && matches(e, a));
                found.map(|i| used[i] = true).is_some()
            })
    } else {
        actual.len() == expected.len() && expected.iter().zip(&actual).all(|(e, a)| matches(e, a))
    };
    if ok {
        return Ok(());
    }
    let show_expected: Vec<String> = expected
        .iter()
        .map(|(t, v)| format!("{} {v}", t.as_deref().unwrap_or("?")))
        .collect();
    let show_actual: Vec<String> = actual.iter().map(|(t, v)| format!("{t} {v}")).collect();
    Err(format!(
        "expected [{}], got [{}]",
        show_expected.join(", "),
        show_actual.join(", ")
    ))
}

fn listed_failures() -> BTreeMap<usize, String> {
    let text = std::fs::read_to_string(FAILURES).unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (index, rest) = line
                .split_once(' ')
                .expect("'<index> <group>/<name>: <reason>'");
            (index.parse().expect("index"), rest.to_owned())
        })
        .collect()
}

#[test]
fn hl7_fhirpath_suite_passes_except_the_listed_failures() {
    let text = std::fs::read_to_string(format!("{TESTDATA}tests.json")).expect("tests.json");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("tests.json is JSON");
    let model = &core().model;
    let mut inputs = HashMap::new();
    let mut failures = BTreeMap::new();
    for (index, case) in cases.iter().enumerate() {
        if let Err(reason) = run(case, &mut inputs, model) {
            let name = format!(
                "{}/{}",
                case["group"].as_str().unwrap_or(""),
                case["name"].as_str().unwrap_or("")
            );
            failures.insert(index, (name, reason));
        }
    }
    let passed = cases.len() - failures.len();
    println!(
        "FHIRPath suite: {passed} of {} passed ({:.1}%)",
        cases.len(),
        100.0 * passed as f64 / cases.len() as f64
    );

    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let mut file = String::from(
            "# HL7 FHIRPath R4 suite cases that fail: <index> <group>/<name>: <reason>\n",
        );
        let listed = listed_failures();
        for (index, (name, reason)) in &failures {
            // Keep hand-written reasons for cases that still fail.
            let line = match listed.get(index) {
                Some(existing) if existing.starts_with(&format!("{name}:")) => existing.clone(),
                _ => format!("{name}: {reason}"),
            };
            writeln!(file, "{index} {line}").expect("write to string");
        }
        std::fs::write(FAILURES, file).expect("write suite-failures.txt");
    }

    let listed = listed_failures();
    let mut problems = Vec::new();
    for (index, (name, reason)) in &failures {
        if !listed.contains_key(index) {
            problems.push(format!("{index} {name} fails but is not listed: {reason}"));
        }
    }
    for (index, line) in &listed {
        if !failures.contains_key(index) {
            problems.push(format!(
                "{index} {line} passes now: remove it from suite-failures.txt"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "suite-failures.txt is out of date:\n{}",
        problems.join("\n")
    );
    assert!(
        passed as f64 >= REQUIRED_PASS_RATE * cases.len() as f64,
        "only {passed} of {} cases pass",
        cases.len()
    );
}
