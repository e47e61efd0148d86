//! `tillit demo`: seeds the synthetic Norwegian data set through the
//! transaction interaction (so it is validated like any client's data).

use std::time::Instant;

use tillit_demo::{transaction_bundles, DemoSize};
use tillit_interactions::{transaction, Repository};

use crate::startup::StartupError;

/// Seeds `patients` demo patients with their records. Every entry is a PUT
/// with a fixed id, so seeding again changes only versions.
pub async fn seed(repo: &Repository, patients: usize) -> Result<(), StartupError> {
    let started = Instant::now();
    let bundles = transaction_bundles(&DemoSize { patients });
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
