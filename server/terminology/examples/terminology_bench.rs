//! Terminology speed, one thread, in-process: `$validate-code` of a code in
//! a 1,000-concept value set, and `$expand` of that value set cached and cold
//! (its compose worked out again), each including the answer's JSON.
//!
//! `cargo run --release -p tillit-terminology --example terminology_bench`

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tillit_terminology::expand::{self, Options};
use tillit_terminology::validate::{self, Coding, Form, Request};
use tillit_terminology::Terminology;

const SYSTEM: &str = "http://example.org/bench/CodeSystem/thousand";
const VALUE_SET: &str = "http://example.org/bench/ValueSet/thousand";

/// A code system of 1,000 concepts: 10 roots of 99 children each.
fn code_system() -> Value {
    let concepts: Vec<Value> = (0..10)
        .map(|root| {
            let children: Vec<Value> = (1..100)
                .map(|child| {
                    json!({"code": format!("c{root}-{child}"), "display": format!("Concept {root} {child}")})
                })
                .collect();
            json!({"code": format!("c{root}"), "display": format!("Group {root}"), "concept": children})
        })
        .collect();
    json!({"resourceType": "CodeSystem", "url": SYSTEM, "version": "1", "status": "active",
        "content": "complete", "concept": concepts})
}

fn value_set() -> Value {
    json!({"resourceType": "ValueSet", "url": VALUE_SET, "version": "1", "status": "active",
        "compose": {"include": [{"system": SYSTEM}]}})
}

fn percentiles(mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6;
    format!("p50 {:.1} µs, p99 {:.1} µs", at(0.5), at(0.99))
}

fn measure(iterations: usize, mut f: impl FnMut()) -> String {
    for _ in 0..iterations / 10 {
        f();
    }
    let times = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    percentiles(times)
}

fn main() {
    let cs = code_system();
    let vs = value_set();
    let terminology = Terminology::new([&cs, &vs]);
    let scope = terminology.scope(&[]);
    let request = Request {
        form: Form::Coding,
        codings: vec![Coding {
            system: Some(SYSTEM.into()),
            code: Some("c5-50".into()),
            display: Some("Concept 5 50".into()),
            ..Coding::default()
        }],
        ..Request::default()
    };
    let answer = validate::validate_code(&scope, Some(&vs), &request).expect("validates");
    assert_eq!(
        answer["parameter"][4]["valueBoolean"],
        json!(true),
        "{answer}"
    );
    println!(
        "$validate-code, coding in a 1,000-concept value set: {}",
        measure(20_000, || {
            std::hint::black_box(
                validate::validate_code(&scope, Some(&vs), &request)
                    .expect("validates")
                    .to_string(),
            );
        })
    );
    let options = Options::default();
    println!(
        "$expand of the 1,000-concept value set, cached: {}",
        measure(2_000, || {
            let expansion = expand::expand(&scope, &vs, &options).expect("expands");
            std::hint::black_box(
                expand::to_value_set(&vs, &expansion, &options, false).to_string(),
            );
        })
    );
    // A request carrying the value set itself is never cached: its compose is
    // worked out each time.
    let cold = terminology.scope(std::slice::from_ref(&vs));
    println!(
        "$expand of the 1,000-concept value set, cold: {}",
        measure(1_000, || {
            let expansion = expand::expand(&cold, &vs, &options).expect("expands");
            std::hint::black_box(
                expand::to_value_set(&vs, &expansion, &options, false).to_string(),
            );
        })
    );
}
