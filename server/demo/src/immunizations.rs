//! Immunizations: the Norwegian childhood immunisation programme for children, seasonal
//! influenza for adults at risk, and an occasional diphtheria–tetanus booster.
//! Vaccines are coded with ATC.

use serde_json::{json, Value};

use crate::calendar::{Date, REFERENCE};
use crate::clinical::Chart;
use crate::codes::{atc, concept, reference, Code};
use crate::directory::practitioner_id;
use crate::rng::Rng;

struct Vaccine {
    code: Code,
    text: &'static str,
}

const HEXAVALENT: Vaccine = Vaccine {
    code: atc(
        "J07CA09",
        "diphtheria-haemophilus influenzae B-pertussis-poliomyelitis-tetanus-hepatitis B",
    ),
    text: "Vaksine mot difteri, stivkrampe, kikhoste, polio, Hib og hepatitt B",
};
const PNEUMOCOCCAL: Vaccine = Vaccine {
    code: atc(
        "J07AL02",
        "pneumococcus, purified polysaccharides antigen conjugated",
    ),
    text: "Pneumokokkvaksine",
};
const MMR: Vaccine = Vaccine {
    code: atc(
        "J07BD52",
        "measles, combinations with mumps and rubella, live attenuated",
    ),
    text: "Vaksine mot meslinger, kusma og røde hunder (MMR)",
};
const SCHOOL_BOOSTER: Vaccine = Vaccine {
    code: atc("J07CA02", "diphtheria-pertussis-poliomyelitis-tetanus"),
    text: "Vaksine mot difteri, stivkrampe, kikhoste og polio",
};
const INFLUENZA: Vaccine = Vaccine {
    code: atc(
        "J07BB02",
        "influenza, inactivated, split virus or surface antigen",
    ),
    text: "Influensavaksine",
};
const ADULT_BOOSTER: Vaccine = Vaccine {
    code: atc(
        "J07AM51",
        "tetanus toxoid, combinations with diphtheria toxoid",
    ),
    text: "Vaksine mot difteri og stivkrampe",
};

/// A dose in the childhood programme, given `months` after birth.
struct Dose {
    vaccine: &'static Vaccine,
    months: u32,
    number: u32,
}

const CHILDHOOD_PROGRAMME: [Dose; 9] = [
    Dose {
        vaccine: &HEXAVALENT,
        months: 3,
        number: 1,
    },
    Dose {
        vaccine: &PNEUMOCOCCAL,
        months: 3,
        number: 1,
    },
    Dose {
        vaccine: &HEXAVALENT,
        months: 5,
        number: 2,
    },
    Dose {
        vaccine: &PNEUMOCOCCAL,
        months: 5,
        number: 2,
    },
    Dose {
        vaccine: &HEXAVALENT,
        months: 12,
        number: 3,
    },
    Dose {
        vaccine: &PNEUMOCOCCAL,
        months: 12,
        number: 3,
    },
    Dose {
        vaccine: &MMR,
        months: 15,
        number: 1,
    },
    Dose {
        vaccine: &SCHOOL_BOOSTER,
        months: 7 * 12,
        number: 4,
    },
    Dose {
        vaccine: &MMR,
        months: 11 * 12,
        number: 2,
    },
];

const INFLUENZA_SEASONS: [i32; 3] = [2023, 2024, 2025];
const INFLUENZA_AGE: u32 = 65;

/// Immunizations for the patient in `chart`.
pub(crate) fn add(chart: &mut Chart, rng: &mut Rng) {
    if chart.patient.is_child() {
        add_childhood_programme(chart, rng);
    } else {
        add_adult_vaccines(chart, rng);
    }
}

fn add_childhood_programme(chart: &mut Chart, rng: &mut Rng) {
    let nurse = practitioner_id(chart.patient.municipality.health_nurse);
    for dose in &CHILDHOOD_PROGRAMME {
        let day = chart
            .patient
            .person
            .birth
            .plus_months(dose.months)
            .plus_days(rng.between(0, 20));
        if day < REFERENCE {
            let mut immunization = immunization(chart, dose.vaccine, day, &nurse);
            immunization["protocolApplied"] = json!([{"doseNumberPositiveInt": dose.number}]);
            chart.push(immunization);
        }
    }
}

fn add_adult_vaccines(chart: &mut Chart, rng: &mut Rng) {
    let gp = chart.patient.gp.clone();
    let at_risk = chart.patient.person.birth.age() >= INFLUENZA_AGE
        || chart.has(|problem| problem.influenza_risk);
    for season in INFLUENZA_SEASONS {
        if at_risk && rng.chance(70) {
            let day = Date::new(season, 10, 10).plus_days(rng.between(0, 45));
            let immunization = immunization(chart, &INFLUENZA, day, &gp);
            chart.push(immunization);
        }
    }
    if rng.chance(15) {
        let day = Date::between(rng, Date::new(2016, 1, 1), Date::new(2025, 12, 20));
        let immunization = immunization(chart, &ADULT_BOOSTER, day, &gp);
        chart.push(immunization);
    }
}

fn immunization(chart: &mut Chart, vaccine: &Vaccine, day: Date, performer: &str) -> Value {
    json!({
        "resourceType": "Immunization",
        "id": chart.next_id("imm"),
        "status": "completed",
        "vaccineCode": concept(&[vaccine.code], vaccine.text),
        "patient": chart.patient.reference(),
        "occurrenceDateTime": day.to_string(),
        "primarySource": true,
        "performer": [{"actor": reference("Practitioner", performer)}],
    })
}
