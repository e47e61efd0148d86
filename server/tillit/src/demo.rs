//! `tillit demo`: seeds the synthetic Norwegian data set through the
//! transaction interaction (so it is validated like any client's data).

use std::time::Instant;

use serde_json::Value;
use tillit_demo::{transaction_bundles, DemoSize};
use tillit_interactions::{transaction, Repository};
use tillit_model::{Id, ResourceKey};

use crate::startup::StartupError;

/// Seeds `patients` demo patients with their records, unless the database
/// already holds that data set (every entry is a PUT with a fixed id, and the
/// last one written is looked for), so restarting the demo keeps its versions.
pub async fn seed(repo: &Repository, patients: usize) -> Result<(), StartupError> {
    let started = Instant::now();
    let bundles = transaction_bundles(&DemoSize { patients });
    if already_seeded(repo, &bundles).await? {
        tracing::info!("demo data already present; not seeded again");
        return Ok(());
    }
    let mut resources = 0;
    for bundle in bundles {
        resources += bundle
            .get("entry")
            .and_then(|e| e.as_array())
            .map_or(0, Vec::len);
        transaction::process(repo, bundle, true).await?;
    }
    tracing::info!(
        resources,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo data seeded"
    );
    Ok(())
}

/// Whether the last resource of the data set exists (seeding is one
/// transaction per Bundle, in order, so the last one is written last).
async fn already_seeded(repo: &Repository, bundles: &[Value]) -> Result<bool, StartupError> {
    let last_url = bundles.last().and_then(|b| {
        b.get("entry")?
            .as_array()?
            .last()?
            .pointer("/request/url")?
            .as_str()
    });
    let Some((resource_type, id)) = last_url.and_then(|u| u.split_once('/')) else {
        return Ok(false);
    };
    let Ok(id) = Id::parse(id) else {
        return Ok(false);
    };
    let key = ResourceKey::new(resource_type, id);
    Ok(repo
        .store
        .read(&key)
        .await?
        .is_some_and(|s| !s.is_deleted()))
}

/// Prints where a newcomer can start exploring.
pub fn print_urls(base: &str) {
    println!();
    println!("Tillit demo is running. Try:");
    println!("  {base}/metadata                         the CapabilityStatement");
    println!("  {base}/Patient                          the demo patients");
    println!("  {base}/Patient/demo-patient-001         one patient");
    println!("  {base}/Patient/demo-patient-001/_history its versions");
    println!("  {base}/Organization?identifier=urn:oid:2.16.578.1.12.4.1.4.101|");
    println!("  {base}/StructureDefinition?url=http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips");
    println!("  {base}/_history                         everything written, newest first");
    println!();
}
