//! Evaluation speed of compiled FHIRPath expressions, case by case, for comparison with
//! fhirpath.js (`tests/perf/fhirpath.sh` runs both and prints the table).
//!
//! ```text
//! cargo run --release -p tillit-fhirpath --example fhirpath_bench [-- CASES.json]
//! ```
//!
//! `CASES.json` (default `tests/perf/fhirpath-cases.json` under the repository root) is a list of
//! `{"resource", "expression"}`; `resource` is a path relative to the repository root. Each
//! expression is compiled once; then, per case, evaluation runs for a warm-up and for
//! `FHIRPATH_BENCH_ROUNDS` (default 3) timed rounds of at least `FHIRPATH_BENCH_SECONDS`
//! (default 0.3) each, and the fastest round counts. `tests/perf/fhirpath_bench.js` measures
//! fhirpath.js the same way. The last line printed is JSON with every timing, item count and
//! result, for the comparing script.

// A benchmark tool: a missing or malformed input file is a usage error, and panicking with the
// reason is the clearest report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tillit_fhirpath::{Environment, Expression, Model};

/// How long the warm-up of each case runs.
const WARM_UP: Duration = Duration::from_millis(100);

/// Evaluations between two looks at the clock aim at about this long, so reading the clock
/// costs nothing measurable even for sub-microsecond expressions.
const BATCH: Duration = Duration::from_millis(5);

/// One line of the cases file.
struct Case {
    resource_path: String,
    expression_text: String,
}

/// What one case measured.
struct Measurement {
    micros: f64,
    iterations: u64,
    count: usize,
    result: Vec<Value>,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cases_path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/perf/fhirpath-cases.json"));
    let seconds = env_number("FHIRPATH_BENCH_SECONDS", 0.3);
    let rounds = env_number("FHIRPATH_BENCH_ROUNDS", 3.0).max(1.0) as u32;
    let min_round = Duration::from_secs_f64(seconds);

    let started = Instant::now();
    let model = load_model(&root.join("profiles/hl7.fhir.r4.core-4.0.1.tgz"));
    eprintln!(
        "model from the R4 core package in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let env = Environment::new(&model);

    let mut reports = Vec::new();
    for (index, case) in read_cases(&cases_path).iter().enumerate() {
        let resource = read_json(&root.join(&case.resource_path));
        let outcome = Expression::parse(&case.expression_text)
            .and_then(|expression| measure(&expression, &resource, &env, min_round, rounds));
        let mut report = json!({
            "index": index,
            "resource": case.resource_path,
            "expression": case.expression_text,
        });
        match outcome {
            Ok(m) => {
                println!(
                    "{index:>3} {:>10.3} µs {:>4} items  {}",
                    m.micros, m.count, case.expression_text
                );
                report["us"] = json!(m.micros);
                report["iterations"] = json!(m.iterations);
                report["count"] = json!(m.count);
                report["result"] = Value::Array(m.result);
            }
            Err(error) => {
                println!(
                    "{index:>3}      error         {}: {error}",
                    case.expression_text
                );
                report["error"] = json!(error.to_string());
            }
        }
        reports.push(report);
    }
    let summary = json!({
        "engine": "tillit-fhirpath",
        "seconds": seconds,
        "rounds": rounds,
        "cases": reports,
    });
    println!("{summary}");
}

/// Evaluates once for the result, warms up, then times `rounds` rounds of at least `min_round`
/// and keeps the fastest: on a shared machine the slower rounds measure the neighbours.
fn measure(
    expression: &Expression,
    resource: &Value,
    env: &Environment<'_>,
    min_round: Duration,
    rounds: u32,
) -> Result<Measurement, tillit_fhirpath::Error> {
    let first = expression.evaluate(resource, env)?;
    let count = first.len();
    let result = first.iter().map(|item| item.to_json()).collect();
    drop(first);

    let (warm_up, warm_up_count) = timed_rounds(expression, resource, env, WARM_UP, 1);
    let per_evaluation = warm_up.as_secs_f64() / warm_up_count as f64;
    let batch = ((BATCH.as_secs_f64() / per_evaluation.max(1e-9)) as u64).max(1);

    let mut best = f64::INFINITY;
    let mut iterations = 0;
    for _ in 0..rounds {
        let (elapsed, n) = timed_rounds(expression, resource, env, min_round, batch);
        let micros = elapsed.as_secs_f64() * 1e6 / n as f64;
        if micros < best {
            best = micros;
            iterations = n;
        }
    }
    Ok(Measurement {
        micros: best,
        iterations,
        count,
        result,
    })
}

/// Runs evaluations in batches of `batch` until `at_least` has passed; returns the time taken and
/// the number of evaluations. The result is passed through `black_box` so no evaluation is
/// optimised away; errors cannot occur here, as the first evaluation succeeded.
fn timed_rounds(
    expression: &Expression,
    resource: &Value,
    env: &Environment<'_>,
    at_least: Duration,
    batch: u64,
) -> (Duration, u64) {
    let start = Instant::now();
    let mut n = 0;
    loop {
        for _ in 0..batch {
            let _ = black_box(expression.evaluate(black_box(resource), env));
        }
        n += batch;
        let elapsed = start.elapsed();
        if elapsed >= at_least {
            return (elapsed, n);
        }
    }
}

/// A number from the environment, or `default` when it is unset or not a number.
fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// The cases file.
fn read_cases(path: &Path) -> Vec<Case> {
    let cases = read_json(path);
    cases
        .as_array()
        .expect("the cases file is a JSON array")
        .iter()
        .map(|case| Case {
            resource_path: case["resource"]
                .as_str()
                .expect("each case has a \"resource\" path")
                .to_owned(),
            expression_text: case["expression"]
                .as_str()
                .expect("each case has an \"expression\"")
                .to_owned(),
        })
        .collect()
}

/// A JSON file, relative to the working directory unless absolute.
fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

/// The type model from the StructureDefinitions of an npm-layout FHIR package.
fn load_model(package: &Path) -> Model {
    let file = std::fs::File::open(package)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", package.display()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut definitions = Vec::new();
    for entry in archive.entries().expect("the package is a tar archive") {
        let mut entry = entry.expect("a readable tar entry");
        let path = entry.path().expect("an entry path").into_owned();
        let is_definition = path
            .to_str()
            .and_then(|p| p.strip_prefix("package/StructureDefinition-"))
            .is_some_and(|name| name.ends_with(".json"));
        if !is_definition {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("a UTF-8 definition");
        definitions.push(serde_json::from_str::<Value>(&text).expect("a JSON definition"));
    }
    Model::from_definitions(&definitions)
}
