//! SNOMED CT import speed: a synthetic RF2 snapshot release of 350,000
//! concepts and 1,050,000 descriptions is written to a temporary folder (not
//! timed), imported (timed), and a value set of the 10,000 descendants of one
//! concept is expanded cold (timed, compose worked out each time).
//!
//! `cargo run --release -p tillit-terminology --example rf2_bench`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use tillit_terminology::expand::{self, Options};
use tillit_terminology::{rf2, Terminology};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let concepts = 350_000 - 1 - 100 * 100;
    let spec = common::Release {
        concepts,
        branch_root: common::concept_id(concepts - 1),
        branch: 100,
    };
    let started = Instant::now();
    common::write(dir.path(), &spec).expect("write the release");
    println!(
        "synthetic release written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let cs = rf2::import(dir.path()).expect("import");
    let import = started.elapsed();
    let descriptions: usize = cs.concepts.iter().map(|c| c.designations.len()).sum();
    println!(
        "import: {} concepts, {descriptions} descriptions in {:.2} s",
        cs.concepts.len(),
        import.as_secs_f64()
    );

    let terminology = Terminology::new([]);
    terminology.add_code_system(cs);
    let value_set = json!({"resourceType": "ValueSet", "url": "http://example.org/vs/branch", "status": "active",
        "compose": {"include": [{"system": rf2::SNOMED, "filter": [
            {"property": "concept", "op": "descendent-of", "value": spec.branch_root.to_string()}]}]}});
    // The value set in the request: never cached, composed each time.
    let scope = terminology.scope(std::slice::from_ref(&value_set));
    let options = Options::default();
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let expansion = expand::expand(&scope, &value_set, &options).expect("expand");
            assert_eq!(expansion.entries.len(), 10_000);
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "descendent-of with 10,000 descendants, cold: p50 {:.1} ms, max {:.1} ms",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}
