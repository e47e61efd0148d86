//! A patient's clinical record: encounters, conditions, medication statements and
//! procedures here; observations, allergies and immunizations in their own modules.
//!
//! Everything happens before the reference date: visits fall in 2023–2025, problems start
//! before the first visit, so every resource can point at the ones it follows from.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::calendar::Date;
use crate::codes::{concept, hl7_coding, hl7_concept, reference, snomed, without_absent, Code};
use crate::directory::{organisation_id, practitioner_id};
use crate::people::Patient;
use crate::problems::{Problem, ProcedureKind, Setting, OTHER_PROCEDURES, PROBLEMS};
use crate::rng::Rng;
use crate::{allergies, immunizations, observations};

const FIRST_VISIT: Date = Date::new(2023, 1, 1);
const LAST_VISIT: Date = Date::new(2025, 12, 20);
// Problems in the record started at most this long before the data set's visits.
const EARLIEST_ONSET: Date = Date::new(2005, 1, 1);

/// One patient's record while it is being written.
pub(crate) struct Chart<'a> {
    /// Whose record it is.
    pub(crate) patient: &'a Patient,
    /// The encounters, oldest first; never empty once written.
    pub(crate) visits: Vec<Visit>,
    /// The patient's problems.
    pub(crate) diagnoses: Vec<Diagnosis>,
    resources: Vec<Value>,
    counters: BTreeMap<&'static str, usize>,
}

/// An encounter, as the records made during it need it.
#[derive(Clone)]
pub(crate) struct Visit {
    /// The Encounter id.
    pub(crate) id: String,
    /// The day of the visit.
    pub(crate) date: Date,
    /// When it started, a FHIR `dateTime`.
    pub(crate) start: String,
    /// The Practitioner id of the clinician the patient saw.
    pub(crate) practitioner: String,
}

/// A problem the patient has, recorded as a Condition.
#[derive(Clone)]
pub(crate) struct Diagnosis {
    /// What the problem is.
    pub(crate) problem: &'static Problem,
    /// The Condition id.
    pub(crate) id: String,
    /// When it started.
    pub(crate) onset: Date,
}

impl Chart<'_> {
    /// The id of the next record of `kind`.
    pub(crate) fn next_id(&mut self, kind: &'static str) -> String {
        let counter = self.counters.entry(kind).or_default();
        *counter += 1;
        self.patient.record_id(kind, *counter)
    }

    /// Adds `resource` to the record.
    pub(crate) fn push(&mut self, resource: Value) {
        self.resources.push(resource);
    }

    /// The first encounter in the data set.
    pub(crate) fn first_visit(&self) -> &Visit {
        self.visits.first().expect("a chart has at least one visit")
    }

    /// Whether the patient has a problem for which `test` holds.
    pub(crate) fn has(&self, test: impl Fn(&Problem) -> bool) -> bool {
        self.diagnoses
            .iter()
            .any(|diagnosis| test(diagnosis.problem))
    }
}

/// Every clinical resource about `patient`.
pub(crate) fn records(patient: &Patient, rng: &mut Rng) -> Vec<Value> {
    let mut chart = Chart {
        patient,
        visits: Vec::new(),
        diagnoses: Vec::new(),
        resources: Vec::new(),
        counters: BTreeMap::new(),
    };
    add_encounters(&mut chart, rng);
    add_conditions(&mut chart, rng);
    add_medication_statements(&mut chart);
    add_procedures(&mut chart, rng);
    observations::add(&mut chart, rng);
    allergies::add(&mut chart, rng);
    immunizations::add(&mut chart, rng);
    chart.resources
}

struct EncounterKind {
    class: &'static str,
    class_display: &'static str,
    code: Code,
    text: &'static str,
}

const CHECK_UP: EncounterKind = EncounterKind {
    class: "AMB",
    class_display: "ambulatory",
    code: snomed("185349003", "Encounter for check up"),
    text: "Kontroll hos fastlege",
};

const FOLLOW_UP: EncounterKind = EncounterKind {
    class: "AMB",
    class_display: "ambulatory",
    code: snomed("390906007", "Follow-up encounter"),
    text: "Oppfølging hos fastlege",
};

const ADMISSION: EncounterKind = EncounterKind {
    class: "IMP",
    class_display: "inpatient encounter",
    code: snomed("32485007", "Hospital admission"),
    text: "Innleggelse",
};

fn add_encounters(chart: &mut Chart, rng: &mut Rng) {
    let earliest = FIRST_VISIT.max(chart.patient.person.birth.plus_days(30));
    let count = rng.between(1, 3);
    let mut dates: Vec<Date> = (0..count)
        .map(|_| Date::between(rng, earliest, LAST_VISIT))
        .collect();
    dates.sort();
    for date in dates {
        add_encounter(chart, rng, date);
    }
}

fn add_encounter(chart: &mut Chart, rng: &mut Rng, date: Date) {
    let municipality = chart.patient.municipality;
    let (hour, minute) = (rng.between(7, 13), 10 * rng.between(0, 3));
    let admitted = !chart.patient.is_child() && rng.chance(15);
    let (kind, practitioner, provider, end) = if admitted {
        let practitioner = practitioner_id(municipality.hospital_physician);
        let end = date.plus_days(rng.between(1, 5)).at(10, 0);
        (&ADMISSION, practitioner, municipality.hospital, end)
    } else {
        let kind = if chart.visits.is_empty() {
            &CHECK_UP
        } else {
            &FOLLOW_UP
        };
        (
            kind,
            chart.patient.gp.clone(),
            municipality.gp_office,
            date.at(hour, minute + 20),
        )
    };
    let visit = Visit {
        id: chart.next_id("enc"),
        date,
        start: date.at(hour, minute),
        practitioner,
    };
    chart.push(json!({
        "resourceType": "Encounter",
        "id": visit.id,
        "status": "finished",
        "class": hl7_coding("v3-ActCode", kind.class, kind.class_display),
        "type": [concept(&[kind.code], kind.text)],
        "subject": chart.patient.reference(),
        "participant": [{"individual": reference("Practitioner", &visit.practitioner)}],
        "period": {"start": visit.start, "end": end},
        "serviceProvider": reference("Organization", &organisation_id(provider)),
    }));
    chart.visits.push(visit);
}

fn add_conditions(chart: &mut Chart, rng: &mut Rng) {
    let birth = chart.patient.person.birth;
    let first_visit = chart.first_visit().date;
    let showcase = chart.patient.is_showcase();
    for problem in &PROBLEMS {
        let eligible = (problem.min_age..=problem.max_age).contains(&birth.age());
        let drawn = (showcase && problem.in_showcase) || rng.chance(problem.percent);
        if !eligible || !drawn {
            continue;
        }
        let earliest = birth
            .plus_years(problem.min_age)
            .plus_days(60)
            .max(EARLIEST_ONSET);
        let onset = Date::between(rng, earliest.min(first_visit), first_visit);
        let diagnosis = Diagnosis {
            problem,
            id: chart.next_id("cond"),
            onset,
        };
        chart.push(condition(chart.patient, &diagnosis));
        chart.diagnoses.push(diagnosis);
    }
}

fn condition(patient: &Patient, diagnosis: &Diagnosis) -> Value {
    let problem = diagnosis.problem;
    json!({
        "resourceType": "Condition",
        "id": diagnosis.id,
        "clinicalStatus": hl7_concept("condition-clinical", "active", "Active"),
        "verificationStatus": hl7_concept("condition-ver-status", "confirmed", "Confirmed"),
        "category": [hl7_concept("condition-category", "problem-list-item", "Problem List Item")],
        "code": concept(&[problem.snomed, problem.icd10], problem.text),
        "subject": patient.reference(),
        "onsetDateTime": diagnosis.onset.to_string(),
        "recordedDate": diagnosis.onset.to_string(),
        "recorder": reference("Practitioner", &patient.gp),
    })
}

fn add_medication_statements(chart: &mut Chart) {
    let asserted = chart
        .visits
        .last()
        .expect("a chart has at least one visit")
        .start
        .clone();
    for diagnosis in chart.diagnoses.clone() {
        let drug = &diagnosis.problem.drug;
        let mut dosage = json!({"text": drug.dosage});
        if drug.as_needed {
            dosage["asNeededBoolean"] = json!(true);
        }
        let statement = json!({
            "resourceType": "MedicationStatement",
            "id": chart.next_id("medstmt"),
            "status": "active",
            "medicationCodeableConcept": concept(&[drug.atc], drug.text),
            "subject": chart.patient.reference(),
            "effectivePeriod": {"start": diagnosis.onset.to_string()},
            "dateAsserted": asserted,
            "informationSource": reference("Practitioner", &chart.patient.gp),
            "reasonReference": [reference("Condition", &diagnosis.id)],
            "dosage": [dosage],
        });
        chart.push(statement);
    }
}

fn add_procedures(chart: &mut Chart, rng: &mut Rng) {
    let birth = chart.patient.person.birth;
    let mut done: Vec<&str> = Vec::new();
    for diagnosis in chart.diagnoses.clone() {
        let Some(kind) = diagnosis.problem.procedure else {
            continue;
        };
        if done.contains(&kind.code.code) || birth.age() < kind.min_age || !rng.chance(kind.percent)
        {
            continue;
        }
        done.push(kind.code.code);
        add_procedure(chart, rng, kind, Some(&diagnosis));
    }
    for kind in &OTHER_PROCEDURES {
        if birth.age() >= kind.min_age && rng.chance(kind.percent) {
            add_procedure(chart, rng, kind, None);
        }
    }
}

/// A procedure: during the first visit, or in hospital after the onset of its reason.
fn add_procedure(
    chart: &mut Chart,
    rng: &mut Rng,
    kind: &ProcedureKind,
    reason: Option<&Diagnosis>,
) {
    let first_visit = chart.first_visit().clone();
    let (encounter, performed, performer) = match kind.setting {
        Setting::GpVisit => (
            Some(first_visit.id),
            first_visit.start,
            first_visit.practitioner,
        ),
        Setting::Hospital => {
            let birth = chart.patient.person.birth;
            let earliest =
                reason.map_or(birth.plus_years(kind.min_age), |diagnosis| diagnosis.onset);
            let day = Date::between(rng, earliest.min(first_visit.date), first_visit.date);
            let physician = practitioner_id(chart.patient.municipality.hospital_physician);
            (None, day.to_string(), physician)
        }
    };
    let procedure = without_absent(json!({
        "resourceType": "Procedure",
        "id": chart.next_id("proc"),
        "status": "completed",
        "code": concept(&[kind.code], kind.text),
        "subject": chart.patient.reference(),
        "encounter": encounter.map(|id| reference("Encounter", &id)),
        "performedDateTime": performed,
        "performer": [{"actor": reference("Practitioner", &performer)}],
        "reasonReference": reason.map(|diagnosis| [reference("Condition", &diagnosis.id)]),
    }));
    chart.push(procedure);
}
