//! How long extracting the search index rows of a resource takes: the demo
//! data set's resources through every active R4 search parameter.
//!
//! `cargo run --release -p tillit --example index_speed -- [patients]`

// A benchmark tool: a panic is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use tillit_conformance::{Package, PackageSource, Registry};
use tillit_demo::{transaction_bundles, DemoSize};
use tillit_fhirpath::Model;
use tillit_interactions::index::SearchIndex;

fn main() {
    let patients: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let core = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/hl7.fhir.r4.core-4.0.1.tgz"
    );
    let wanted = |t: &str| {
        matches!(
            t,
            "StructureDefinition" | "SearchParameter" | "CompartmentDefinition"
        )
    };
    let package = Package::read(&PackageSource::Path(core.into()), &wanted).unwrap();
    let registry = Registry::new(vec![package]);
    let model = Model::from_definitions(registry.base_definitions().map(|(_, sd)| sd));
    let types: Vec<String> = registry.resource_types().map(str::to_owned).collect();
    let index = SearchIndex::new(
        std::sync::Arc::new(model),
        registry.all_search_parameters().to_vec(),
        &types,
        "http://localhost/fhir",
    );
    let resources: Vec<serde_json::Value> = transaction_bundles(&DemoSize { patients })
        .into_iter()
        .flat_map(|b| {
            b["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["resource"].clone())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut per_type: BTreeMap<String, (usize, f64, usize)> = BTreeMap::new();
    let started = Instant::now();
    for resource in &resources {
        let t = Instant::now();
        let rows = index.rows(resource);
        let entry = per_type
            .entry(resource["resourceType"].as_str().unwrap().to_owned())
            .or_default();
        entry.0 += 1;
        entry.1 += t.elapsed().as_secs_f64();
        entry.2 += rows.len();
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "{} resources in {:.3} s = {:.0} µs per resource",
        resources.len(),
        total,
        total * 1e6 / resources.len() as f64
    );
    for (ty, (n, secs, rows)) in per_type {
        println!(
            "{ty:20} {n:6} × {:7.1} µs, {:5.1} rows each",
            secs * 1e6 / n as f64,
            rows as f64 / n as f64
        );
    }
}
