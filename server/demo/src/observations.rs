//! Vital signs at every visit and HbA1c for patients with diabetes, coded with LOINC and
//! measured in UCUM units.
//!
//! Each patient gets a body (height, build, blood pressure, pulse) once, and every visit
//! measures it with a little noise, so a patient's numbers stay believable over time.

use serde_json::{json, Value};

use crate::calendar::Date;
use crate::clinical::{Chart, Visit};
use crate::codes::{concept, hl7_concept, loinc, quantity, reference, Code};
use crate::names::Gender;
use crate::problems::{is_diabetes, is_hypertension};
use crate::rng::Rng;

const BLOOD_PRESSURE: Code = loinc("85354-9", "Blood pressure panel with all children optional");
const SYSTOLIC: Code = loinc("8480-6", "Systolic blood pressure");
const DIASTOLIC: Code = loinc("8462-4", "Diastolic blood pressure");
const HEART_RATE: Code = loinc("8867-4", "Heart rate");
const BODY_WEIGHT: Code = loinc("29463-7", "Body weight");
const BODY_HEIGHT: Code = loinc("8302-2", "Body height");
const HBA1C: Code = loinc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood");

/// The patient's usual values, before each visit's noise.
struct Body {
    /// Adult height in cm; children grow from their birth date instead.
    adult_height: Option<f64>,
    body_mass_index: f64,
    systolic: u32,
    diastolic: u32,
    pulse: u32,
    hba1c_tenths: u32,
}

/// Observations for every visit in `chart`.
pub(crate) fn add(chart: &mut Chart, rng: &mut Rng) {
    let body = draw_body(chart, rng);
    let diabetic = chart.has(is_diabetes);
    for (index, visit) in chart.visits.clone().iter().enumerate() {
        add_blood_pressure(chart, rng, visit, &body);
        let pulse = body.pulse + rng.between(0, 10) - 5;
        add_quantity(
            chart,
            visit,
            HEART_RATE,
            "Puls",
            quantity(pulse, "beats/minute", "/min"),
        );
        if index == 0 {
            add_measurements(chart, visit, &body);
        }
        if diabetic {
            let hba1c = tenths(f64::from(body.hba1c_tenths + rng.between(0, 6) - 3) / 10.0);
            add_laboratory(chart, visit, HBA1C, "HbA1c", quantity(hba1c, "%", "%"));
        }
    }
}

fn draw_body(chart: &Chart, rng: &mut Rng) -> Body {
    let person = &chart.patient.person;
    let pressure_boost = if chart.has(is_hypertension) { 18 } else { 0 };
    if chart.patient.is_child() {
        return Body {
            adult_height: None,
            body_mass_index: f64::from(rng.between(150, 180)) / 10.0,
            systolic: rng.between(96, 112),
            diastolic: rng.between(56, 70),
            pulse: rng.between(75, 105),
            hba1c_tenths: rng.between(48, 56),
        };
    }
    let height = match person.gender {
        Gender::Female => rng.between(158, 178),
        Gender::Male => rng.between(170, 192),
    };
    Body {
        adult_height: Some(f64::from(height)),
        body_mass_index: f64::from(rng.between(200, 330)) / 10.0,
        systolic: rng.between(112, 134) + pressure_boost,
        diastolic: rng.between(68, 84) + pressure_boost / 2,
        pulse: rng.between(58, 86),
        hba1c_tenths: rng.between(60, 85),
    }
}

fn add_blood_pressure(chart: &mut Chart, rng: &mut Rng, visit: &Visit, body: &Body) {
    let systolic = body.systolic + rng.between(0, 12) - 6;
    let diastolic = body.diastolic + rng.between(0, 8) - 4;
    let component = |code: Code, text: &str, value: u32| json!({"code": concept(&[code], text), "valueQuantity": quantity(value, "mmHg", "mm[Hg]")});
    let mut observation = vital_sign(chart, visit, BLOOD_PRESSURE, "Blodtrykk");
    observation["component"] = json!([
        component(SYSTOLIC, "Systolisk blodtrykk", systolic),
        component(DIASTOLIC, "Diastolisk blodtrykk", diastolic),
    ]);
    chart.push(observation);
}

fn add_measurements(chart: &mut Chart, visit: &Visit, body: &Body) {
    let birth = chart.patient.person.birth;
    let height = body
        .adult_height
        .unwrap_or_else(|| child_height(birth, visit.date));
    let weight = if height < 75.0 {
        infant_weight(birth, visit.date)
    } else {
        tenths(body.body_mass_index * height * height / 10_000.0)
    };
    add_quantity(
        chart,
        visit,
        BODY_HEIGHT,
        "Høyde",
        quantity(height, "cm", "cm"),
    );
    add_quantity(
        chart,
        visit,
        BODY_WEIGHT,
        "Vekt",
        quantity(weight, "kg", "kg"),
    );
}

/// Height along a smoothed Norwegian growth curve: about 50 cm at birth, 75 cm at one year.
fn child_height(birth: Date, day: Date) -> f64 {
    let months = f64::from(day.months_after(birth));
    tenths(if months < 12.0 {
        50.0 + 2.1 * months
    } else {
        75.0 + 0.55 * (months - 12.0)
    })
}

fn infant_weight(birth: Date, day: Date) -> f64 {
    tenths(3.5 + 0.55 * f64::from(day.months_after(birth)))
}

fn tenths(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn add_quantity(chart: &mut Chart, visit: &Visit, code: Code, text: &str, value: Value) {
    let mut observation = vital_sign(chart, visit, code, text);
    observation["valueQuantity"] = value;
    chart.push(observation);
}

fn add_laboratory(chart: &mut Chart, visit: &Visit, code: Code, text: &str, value: Value) {
    let category = hl7_concept("observation-category", "laboratory", "Laboratory");
    let mut observation = observation(chart, visit, category, code, text);
    observation["valueQuantity"] = value;
    chart.push(observation);
}

fn vital_sign(chart: &mut Chart, visit: &Visit, code: Code, text: &str) -> Value {
    let category = hl7_concept("observation-category", "vital-signs", "Vital Signs");
    observation(chart, visit, category, code, text)
}

fn observation(chart: &mut Chart, visit: &Visit, category: Value, code: Code, text: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "id": chart.next_id("obs"),
        "status": "final",
        "category": [category],
        "code": concept(&[code], text),
        "subject": chart.patient.reference(),
        "encounter": reference("Encounter", &visit.id),
        "effectiveDateTime": visit.start,
        "performer": [reference("Practitioner", &visit.practitioner)],
    })
}
