//! Validation speed, one thread: building the validator from the shipped
//! packages, validating the IPS all-sections document against `Bundle-uv-ips`
//! (latency), and every IPS and R4 example (throughput).
//!
//! `cargo run --release -p tillit-validation --example validate_bench [document]`
//! (`document`: the latency part only, for profiling).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

const IPS_BUNDLE: &str = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips";

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

fn main() {
    let started = Instant::now();
    let validator = common::validator();
    println!(
        "validator built from the shipped packages: {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let ips = common::resources(&common::shipped("hl7.fhir.uv.ips-2.0.0.tgz"));
    let document = &ips
        .iter()
        .find(|(f, _)| f == "Bundle-bundle-ips-all-sections.json")
        .expect("the all-sections example")
        .1;
    let first = Instant::now();
    let issues = validator.validate(document, &[IPS_BUNDLE]);
    assert!(!issues.iter().any(|i| i.is_error()), "{issues:?}");
    println!(
        "first validation of the all-sections document (compiles its profiles): {:.1} ms",
        first.elapsed().as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    for _ in 0..iterations() {
        let t = Instant::now();
        std::hint::black_box(validator.validate(document, &[IPS_BUNDLE]));
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "IPS all-sections document ({} entries) against Bundle-uv-ips: p50 {:.2} ms, p99 {:.2} ms, min {:.2} ms",
        document["entry"].as_array().map_or(0, Vec::len),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 0.0)
    );

    if std::env::args().nth(1).as_deref() == Some("document") {
        return;
    }
    let examples: Vec<Value> = common::resources(&common::r4_examples_package())
        .into_iter()
        .chain(ips)
        .map(|(_, r)| r)
        .filter(|r| {
            let ty = r["resourceType"].as_str().unwrap_or_default();
            !common::DEFINITIONS.contains(&ty) && ty != "CapabilityStatement"
        })
        .collect();
    let count = |r: &Value| 1 + r["entry"].as_array().map_or(0, Vec::len);
    let resources: usize = examples.iter().map(count).sum();
    for example in &examples {
        validator.validate(example, &[]);
    }
    let rounds = 3;
    let t = Instant::now();
    for _ in 0..rounds {
        for example in &examples {
            std::hint::black_box(validator.validate(example, &[]));
        }
    }
    let seconds = t.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "all IPS and R4 examples ({} files, {resources} resources counting Bundle entries): {:.0} ms per pass = {:.0} resources/s, {:.0} files/s",
        examples.len(),
        seconds * 1e3,
        resources as f64 / seconds,
        examples.len() as f64 / seconds
    );
}

/// How often the document is validated: 300, or 3,000 when profiling.
fn iterations() -> usize {
    if std::env::args().nth(1).as_deref() == Some("document") {
        1_000
    } else {
        300
    }
}
