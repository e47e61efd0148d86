//! Deterministic synthetic Norwegian FHIR R4 data, for `tillit demo` and for benchmarks.
//!
//! The data set is a small health region on the west coast: a regional health authority, a
//! hospital trust with two sites, three municipalities with GP offices, their GPs and public
//! health nurses, and patients with encounters, problems, vital signs, allergies,
//! medication, immunizations and procedures. It comes as transaction Bundles of PUTs with
//! fixed ids, so seeding a server twice changes nothing.
//!
//! Nothing is random: a splitmix64 stream per patient and a fixed reference date
//! (2026-01-01) make the same size give byte-identical Bundles. Identity numbers are
//! synthetic (Tenor style, month + 80) and never belong to real people; no resource claims
//! a profile in `meta.profile`.

mod allergies;
mod bundle;
mod calendar;
mod clinical;
mod codes;
mod directory;
mod ids;
mod immunizations;
mod names;
mod observations;
mod people;
mod problems;
mod rng;

pub use ids::{fnr_is_valid, organisation_number, synthetic_fnr};

use serde_json::Value;

/// Size of the generated data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoSize {
    /// How many patients, each with their clinical record.
    pub patients: usize,
}

impl Default for DemoSize {
    /// The 20 patients `tillit demo` seeds.
    fn default() -> Self {
        Self { patients: 20 }
    }
}

/// The demo data set as FHIR R4 transaction Bundles (JSON), each entry a PUT with a fixed id
/// so that seeding twice changes nothing. The first bundle holds the organisations and
/// practitioners; the next ones hold patients with their clinical records, at most ~500
/// entries per bundle.
///
/// Bundles must be sent in order: patients refer to the organisations and practitioners of
/// the first one. A patient's resources never span two Bundles, and patient `n` is the same
/// whatever the size of the set.
pub fn transaction_bundles(size: &DemoSize) -> Vec<Value> {
    let mut issued = people::IssuedNumbers::default();
    let patients = (1..=size.patients).map(|number| patient_with_record(number, &mut issued));
    let mut bundles = vec![bundle::transaction(directory::resources())];
    bundles.extend(bundle::pack(patients));
    bundles
}

/// Patient `number` followed by their parents (for a child) and their clinical record.
fn patient_with_record(number: usize, issued: &mut people::IssuedNumbers) -> Vec<Value> {
    let mut rng = rng::Rng::for_stream(number as u64);
    let patient = people::patient(number, &mut rng, issued);
    let mut resources = vec![patient.resource()];
    resources.extend(people::parents(&patient, &mut rng, issued));
    resources.extend(clinical::records(&patient, &mut rng));
    resources
}

#[cfg(test)]
mod tests;
