//! Patients, and RelatedPersons for the parents of the children among them.
//!
//! Every fifth patient is a child, with a mother and a father; every tenth, counted from the
//! seventh, is not registered as resident (a seasonal worker, say) and has a D-number
//! instead of a fødselsnummer.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::calendar::Date;
use crate::codes::{hl7_concept, identifier, reference, without_absent};
use crate::directory::{organisation_id, practitioner_id, Municipality, MUNICIPALITIES};
use crate::ids::{
    individual_numbers, synthetic_d_number, synthetic_fnr, D_NUMBER_SYSTEM, FNR_SYSTEM,
};
use crate::names::{adult_given_names, child_given_names, Gender, FAMILY_NAMES};
use crate::rng::Rng;

/// The patient `tillit demo` points newcomers at. Whatever the draws, they are 60 or older
/// and have hypertension, type 2 diabetes and a penicillin allergy, so one record shows
/// every kind of clinical resource in the data set.
pub(crate) const SHOWCASE_PATIENT: usize = 1;

/// The identity numbers handed out so far: no two people share one.
#[derive(Default)]
pub(crate) struct IssuedNumbers(HashSet<String>);

impl IssuedNumbers {
    /// A birth date and a new identity number whose individual number matches `gender`.
    fn issue(&mut self, rng: &mut Rng, gender: Gender, birth: &Birth) -> (Date, String) {
        // About one draw in six is unissuable (a check digit of 10) or already taken.
        loop {
            let born = Date::between(rng, birth.first, birth.last);
            let range = individual_numbers(born.year);
            let individual =
                rng.between(range.start() / 2, range.end() / 2) * 2 + gender.individual_parity();
            let (day, month, year) = (born.day, born.month, born.year);
            let number = if birth.d_number {
                synthetic_d_number(day, month, year, individual)
            } else {
                synthetic_fnr(day, month, year, individual)
            };
            if let Some(number) = number {
                if self.0.insert(number.clone()) {
                    return (born, number);
                }
            }
        }
    }
}

/// A patient, with what their clinical record needs to know about them.
pub(crate) struct Patient {
    /// The patient's position in the data set, from 1.
    pub(crate) number: usize,
    /// The Patient id, `demo-patient-NNN`.
    pub(crate) id: String,
    /// Name, gender, birth date and identity number.
    pub(crate) person: Person,
    /// Where the patient lives.
    pub(crate) municipality: &'static Municipality,
    /// Practitioner id of the patient's GP (*fastlege*).
    pub(crate) gp: String,
    home: String,
}

impl Patient {
    /// Whether the patient is under 18 on the reference date.
    pub(crate) fn is_child(&self) -> bool {
        self.person.birth.age() < 18
    }

    /// Whether this is the [`SHOWCASE_PATIENT`].
    pub(crate) fn is_showcase(&self) -> bool {
        self.number == SHOWCASE_PATIENT
    }

    /// A Reference to the Patient.
    pub(crate) fn reference(&self) -> Value {
        reference("Patient", &self.id)
    }

    /// The id of the patient's `sequence`th record of `kind`, e.g. `demo-obs-001-003`.
    pub(crate) fn record_id(&self, kind: &str, sequence: usize) -> String {
        format!("demo-{kind}-{:03}-{sequence:03}", self.number)
    }

    /// The Patient resource.
    pub(crate) fn resource(&self) -> Value {
        without_absent(json!({
            "resourceType": "Patient",
            "id": self.id,
            "identifier": [self.person.identifier],
            "active": true,
            "name": [self.person.name()],
            "telecom": self.person.telecom(),
            "gender": self.person.gender.code(),
            "birthDate": self.person.birth.to_string(),
            "address": [self.municipality.address("home", &self.home)],
            "generalPractitioner": [reference("Practitioner", &self.gp)],
            "managingOrganization": reference("Organization", &organisation_id(self.municipality.gp_office)),
        }))
    }
}

/// A person's demographics.
pub(crate) struct Person {
    given: &'static str,
    family: &'static str,
    /// Administrative gender, consistent with the identity number.
    pub(crate) gender: Gender,
    /// Date of birth.
    pub(crate) birth: Date,
    identifier: Value,
    mobile: Option<String>,
}

impl Person {
    fn name(&self) -> Value {
        json!({"use": "official", "family": self.family, "given": [self.given]})
    }

    /// The person's telecom, or `null` for a child without a phone.
    fn telecom(&self) -> Value {
        match &self.mobile {
            Some(mobile) => json!([{"system": "phone", "value": mobile, "use": "mobile"}]),
            None => Value::Null,
        }
    }
}

/// Patient number `number`, drawing from its own stream `rng`.
pub(crate) fn patient(number: usize, rng: &mut Rng, issued: &mut IssuedNumbers) -> Patient {
    let gender = if rng.chance(50) {
        Gender::Female
    } else {
        Gender::Male
    };
    let family = *rng.pick(FAMILY_NAMES);
    let person = person(rng, issued, gender, family, birth_for(number));
    let municipality = rng.pick(&MUNICIPALITIES);
    let gp_key = rng.pick(&municipality.gps);
    let gp = practitioner_id(gp_key);
    let home = format!("{} {}", rng.pick(municipality.streets), rng.between(1, 120));
    let id = format!("demo-patient-{number:03}");
    Patient {
        number,
        id,
        person,
        municipality,
        gp,
        home,
    }
}

/// RelatedPersons for a child's mother and father; none for an adult.
pub(crate) fn parents(patient: &Patient, rng: &mut Rng, issued: &mut IssuedNumbers) -> Vec<Value> {
    if !patient.is_child() {
        return Vec::new();
    }
    let year = patient.person.birth.year;
    let mother = Birth::resident(year - 40, year - 24);
    let father = Birth::resident(year - 45, year - 25);
    [
        (Gender::Female, mother, "MTH", "mother", "Mor"),
        (Gender::Male, father, "FTH", "father", "Far"),
    ]
    .into_iter()
    .enumerate()
    .map(|(index, (gender, birth, code, display, text))| {
        let parent = person(rng, issued, gender, patient.person.family, birth);
        let mut relationship = hl7_concept("v3-RoleCode", code, display);
        relationship["text"] = json!(text);
        without_absent(json!({
            "resourceType": "RelatedPerson",
            "id": patient.record_id("related", index + 1),
            "identifier": [parent.identifier],
            "active": true,
            "patient": patient.reference(),
            "relationship": [relationship],
            "name": [parent.name()],
            "telecom": parent.telecom(),
            "gender": gender.code(),
            "birthDate": parent.birth.to_string(),
            "address": [patient.municipality.address("home", &patient.home)],
        }))
    })
    .collect()
}

/// When someone may be born, and which kind of number they get.
struct Birth {
    first: Date,
    last: Date,
    d_number: bool,
}

impl Birth {
    fn resident(first_year: i32, last_year: i32) -> Self {
        Self {
            first: Date::new(first_year, 1, 1),
            last: Date::new(last_year, 12, 31),
            d_number: false,
        }
    }
}

fn birth_for(number: usize) -> Birth {
    match number {
        SHOWCASE_PATIENT => Birth::resident(1945, 1965),
        n if n % 5 == 4 => Birth::resident(2012, 2023),
        n if n % 10 == 7 => Birth {
            d_number: true,
            ..Birth::resident(1960, 2000)
        },
        _ => Birth::resident(1935, 2004),
    }
}

fn person(
    rng: &mut Rng,
    issued: &mut IssuedNumbers,
    gender: Gender,
    family: &'static str,
    birth: Birth,
) -> Person {
    let (born, number) = issued.issue(rng, gender, &birth);
    let system = if birth.d_number {
        D_NUMBER_SYSTEM
    } else {
        FNR_SYSTEM
    };
    let adult = born.age() >= 18;
    let names = if adult {
        adult_given_names(gender)
    } else {
        child_given_names(gender)
    };
    let mobile = adult.then(|| format!("+47{}{:07}", rng.pick(&[4, 9]), rng.between(0, 9_999_999)));
    let given = rng.pick(names);
    let identifier = identifier(system, &number);
    Person {
        given,
        family,
        gender,
        birth: born,
        identifier,
        mobile,
    }
}
