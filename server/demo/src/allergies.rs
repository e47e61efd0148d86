//! Allergies and intolerances: a few real ones, and "no known allergy" for many of the rest.

use serde_json::{json, Value};

use crate::clinical::Chart;
use crate::codes::{concept, hl7_concept, reference, snomed, without_absent, Code};
use crate::rng::Rng;

struct Allergen {
    substance: Code,
    text: &'static str,
    category: &'static str,
    criticality: &'static str,
    manifestation: Code,
    manifestation_text: &'static str,
    severity: &'static str,
    adult_percent: u32,
    child_percent: u32,
    in_showcase: bool,
}

const ALLERGENS: [Allergen; 3] = [
    Allergen {
        substance: snomed("764146007", "Penicillin"),
        text: "Penicillin",
        category: "medication",
        criticality: "high",
        manifestation: snomed("271807003", "Eruption of skin"),
        manifestation_text: "Utslett",
        severity: "moderate",
        adult_percent: 10,
        child_percent: 5,
        in_showcase: true,
    },
    Allergen {
        substance: snomed("762952008", "Peanut"),
        text: "Peanøtter",
        category: "food",
        criticality: "high",
        manifestation: snomed("39579001", "Anaphylaxis"),
        manifestation_text: "Anafylaksi",
        severity: "severe",
        adult_percent: 4,
        child_percent: 12,
        in_showcase: false,
    },
    Allergen {
        substance: snomed("111088007", "Latex"),
        text: "Lateks",
        category: "environment",
        criticality: "low",
        manifestation: snomed("126485001", "Urticaria"),
        manifestation_text: "Elveblest",
        severity: "mild",
        adult_percent: 3,
        child_percent: 1,
        in_showcase: false,
    },
];

const NO_KNOWN_ALLERGY: Code = snomed("716186003", "No known allergy");
// Of the patients without an allergy, this many percent have it confirmed in the record;
// for the others nobody has asked, which is not the same thing.
const NO_KNOWN_ALLERGY_PERCENT: u32 = 60;

/// AllergyIntolerances for the patient in `chart`, recorded at the first visit.
pub(crate) fn add(chart: &mut Chart, rng: &mut Rng) {
    let (child, showcase) = (chart.patient.is_child(), chart.patient.is_showcase());
    let percent = |allergen: &Allergen| {
        if child {
            allergen.child_percent
        } else {
            allergen.adult_percent
        }
    };
    let found: Vec<&Allergen> = ALLERGENS
        .iter()
        .filter(|allergen| (showcase && allergen.in_showcase) || rng.chance(percent(allergen)))
        .collect();
    if found.is_empty() && rng.chance(NO_KNOWN_ALLERGY_PERCENT) {
        let record = allergy_intolerance(chart, None);
        chart.push(record);
    }
    for allergen in found {
        let record = allergy_intolerance(chart, Some(allergen));
        chart.push(record);
    }
}

/// An allergy to `allergen`, or a statement that the patient has no known allergy.
fn allergy_intolerance(chart: &mut Chart, allergen: Option<&Allergen>) -> Value {
    let visit = chart.first_visit().clone();
    let code = allergen.map_or_else(
        || concept(&[NO_KNOWN_ALLERGY], "Ingen kjente allergier"),
        |allergen| concept(&[allergen.substance], allergen.text),
    );
    let reaction = allergen.map(|allergen| {
        json!([{
            "manifestation": [concept(&[allergen.manifestation], allergen.manifestation_text)],
            "severity": allergen.severity,
        }])
    });
    without_absent(json!({
        "resourceType": "AllergyIntolerance",
        "id": chart.next_id("allergy"),
        "clinicalStatus": hl7_concept("allergyintolerance-clinical", "active", "Active"),
        "verificationStatus": hl7_concept("allergyintolerance-verification", "confirmed", "Confirmed"),
        "type": allergen.map(|_| "allergy"),
        "category": allergen.map(|allergen| [allergen.category]),
        "criticality": allergen.map(|allergen| allergen.criticality),
        "code": code,
        "patient": chart.patient.reference(),
        "recordedDate": visit.start,
        "recorder": reference("Practitioner", &visit.practitioner),
        "reaction": reaction,
    }))
}
