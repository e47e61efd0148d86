//! The health-care directory every patient refers to: municipalities, organisations and
//! health personnel.
//!
//! A regional health authority owns a hospital trust with two sites (sub-units with their
//! own organisation numbers). Each of three municipalities has a GP office with two GPs
//! (*fastleger*) and a public health nurse (*helsesykepleier*) for the child health
//! programme. The health authority, hospitals, GP offices, people and every number are
//! invented; the municipalities, their municipality numbers and postal codes are real.

use serde_json::{json, Value};

use crate::codes::{
    self, concept, hl7_concept, identifier, reference, snomed, without_absent, Code,
};
use crate::ids::{organisation_number, HPR_SYSTEM, ORGANISATION_SYSTEM};
use crate::names::Gender;

const MUNICIPALITY_EXTENSION: &str =
    "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode";

/// A municipality where patients live, with the services that serve them.
pub(crate) struct Municipality {
    /// The four-digit municipality number (*kommunenummer*).
    pub(crate) number: &'static str,
    /// The municipality's name.
    pub(crate) name: &'static str,
    /// A postal code in the municipality.
    pub(crate) postal_code: &'static str,
    /// The post town of that postal code.
    pub(crate) city: &'static str,
    /// Street names for home addresses.
    pub(crate) streets: &'static [&'static str],
    /// Key of the GP office.
    pub(crate) gp_office: &'static str,
    /// Keys of the GPs working there.
    pub(crate) gps: [&'static str; 2],
    /// Key of the public health nurse.
    pub(crate) health_nurse: &'static str,
    /// Key of the hospital site serving the municipality.
    pub(crate) hospital: &'static str,
    /// Key of the physician at that site.
    pub(crate) hospital_physician: &'static str,
}

impl Municipality {
    /// An Address in this municipality, with its municipality number on `district`.
    pub(crate) fn address(&self, address_use: &str, line: &str) -> Value {
        json!({
            "use": address_use,
            "line": [line],
            "city": self.city,
            "district": self.name,
            "_district": {"extension": [{
                "url": MUNICIPALITY_EXTENSION,
                "valueCoding": {"system": codes::MUNICIPALITY_NUMBER, "code": self.number, "display": self.name},
            }]},
            "postalCode": self.postal_code,
            "country": "NO",
        })
    }
}

/// Where the demo patients live.
pub(crate) const MUNICIPALITIES: [Municipality; 3] = [
    Municipality {
        number: "4601",
        name: "Bergen",
        postal_code: "5003",
        city: "Bergen",
        streets: &[
            "Strandgaten",
            "Nygårdsgaten",
            "Kalfarveien",
            "Fjøsangerveien",
            "Sandviksveien",
        ],
        gp_office: "gp-nordnes",
        gps: ["ingrid-haugland", "lars-eikeland"],
        health_nurse: "marte-fosse",
        hospital: "hf-bergen",
        hospital_physician: "erik-solheim",
    },
    Municipality {
        number: "4627",
        name: "Askøy",
        postal_code: "5300",
        city: "Kleppestø",
        streets: &[
            "Kleppevegen",
            "Florvågvegen",
            "Hanevikvegen",
            "Strusshamnvegen",
        ],
        gp_office: "gp-kleppesto",
        gps: ["kari-tveit", "ole-hjelle"],
        health_nurse: "hilde-kvamme",
        hospital: "hf-bergen",
        hospital_physician: "erik-solheim",
    },
    Municipality {
        number: "4621",
        name: "Voss",
        postal_code: "5700",
        city: "Voss",
        streets: &["Vangsgata", "Uttrågata", "Strandavegen", "Hagaløkvegen"],
        gp_office: "gp-vangen",
        gps: ["solveig-lid", "nils-ringheim"],
        health_nurse: "randi-gjerme",
        hospital: "hf-voss",
        hospital_physician: "anne-dale",
    },
];

const BERGEN: &Municipality = &MUNICIPALITIES[0];
const ASKOY: &Municipality = &MUNICIPALITIES[1];
const VOSS: &Municipality = &MUNICIPALITIES[2];

/// The id of the Organization with `key`.
pub(crate) fn organisation_id(key: &str) -> String {
    format!("demo-org-{key}")
}

/// The id of the Practitioner with `key`.
pub(crate) fn practitioner_id(key: &str) -> String {
    format!("demo-practitioner-{key}")
}

/// The Organizations, Practitioners and PractitionerRoles, in that order.
pub(crate) fn resources() -> Vec<Value> {
    let organisations = ORGANISATIONS.iter().map(Organisation::resource);
    let practitioners = CLINICIANS.iter().map(Clinician::practitioner);
    let roles = CLINICIANS.iter().map(Clinician::role);
    organisations.chain(practitioners).chain(roles).collect()
}

enum Sector {
    Provider,
    Government,
}

struct Organisation {
    key: &'static str,
    name: &'static str,
    first8: u32,
    sector: Sector,
    part_of: Option<&'static str>,
    municipality: &'static Municipality,
    street: &'static str,
    phone: &'static str,
}

// The synthetic organisation numbers start with 31, away from the 8 and 9 that registered
// entities' numbers start with. 31000006 is skipped: its check digit would be 10.
#[rustfmt::skip]
const ORGANISATIONS: [Organisation; 10] = [
    Organisation::provider("rhf", "Helse Vestkyst RHF", 31000001, None, BERGEN, "Sandviksveien 2", "55100000"),
    Organisation::provider("hf", "Vestkyst sjukehus HF", 31000002, Some("rhf"), BERGEN, "Fjøsangerveien 50", "55200000"),
    Organisation::provider("hf-bergen", "Vestkyst sjukehus HF, Bergen", 31000003, Some("hf"), BERGEN, "Fjøsangerveien 50", "55200000"),
    Organisation::provider("hf-voss", "Vestkyst sjukehus HF, Voss", 31000004, Some("hf"), VOSS, "Sjukehusvegen 16", "56500000"),
    Organisation::government("bergen-kommune", "Bergen kommune", 31000005, BERGEN, "Rådhusgaten 10", "55560000"),
    Organisation::government("askoy-kommune", "Askøy kommune", 31000007, ASKOY, "Klampavikvegen 1", "56150000"),
    Organisation::government("voss-herad", "Voss herad", 31000008, VOSS, "Uttrågata 9", "56510000"),
    Organisation::provider("gp-nordnes", "Nordnes legekontor", 31000009, None, BERGEN, "Strandgaten 190", "55300000"),
    Organisation::provider("gp-kleppesto", "Kleppestø legesenter", 31000010, None, ASKOY, "Kleppevegen 22", "56140000"),
    Organisation::provider("gp-vangen", "Vangen legesenter", 31000011, None, VOSS, "Vangsgata 38", "56520000"),
];

impl Organisation {
    const fn provider(
        key: &'static str,
        name: &'static str,
        first8: u32,
        part_of: Option<&'static str>,
        municipality: &'static Municipality,
        street: &'static str,
        phone: &'static str,
    ) -> Self {
        let sector = Sector::Provider;
        Self {
            key,
            name,
            first8,
            sector,
            part_of,
            municipality,
            street,
            phone,
        }
    }

    const fn government(
        key: &'static str,
        name: &'static str,
        first8: u32,
        municipality: &'static Municipality,
        street: &'static str,
        phone: &'static str,
    ) -> Self {
        let sector = Sector::Government;
        Self {
            key,
            name,
            first8,
            sector,
            part_of: None,
            municipality,
            street,
            phone,
        }
    }

    fn resource(&self) -> Value {
        let number =
            organisation_number(self.first8).expect("directory organisation numbers are issuable");
        let organisation_type = match self.sector {
            Sector::Provider => hl7_concept("organization-type", "prov", "Healthcare Provider"),
            Sector::Government => hl7_concept("organization-type", "govt", "Government"),
        };
        without_absent(json!({
            "resourceType": "Organization",
            "id": organisation_id(self.key),
            "identifier": [identifier(ORGANISATION_SYSTEM, &number)],
            "active": true,
            "type": [organisation_type],
            "name": self.name,
            "telecom": [{"system": "phone", "value": format!("+47{}", self.phone), "use": "work"}],
            "address": [self.municipality.address("work", self.street)],
            "partOf": self.part_of.map(|parent| reference("Organization", &organisation_id(parent))),
        }))
    }
}

#[derive(Clone, Copy)]
enum Profession {
    GeneralPractitioner,
    HospitalPhysician,
    HealthNurse,
}

impl Profession {
    /// Kategori helsepersonell (Volven 9060).
    fn category(self) -> Code {
        let (code, display) = match self {
            Profession::GeneralPractitioner | Profession::HospitalPhysician => ("LE", "Lege"),
            Profession::HealthNurse => ("SP", "Sykepleier"),
        };
        Code {
            system: codes::HEALTH_PERSONNEL_CATEGORY,
            code,
            display,
        }
    }

    fn role(self) -> Value {
        let (code, display, text) = match self {
            Profession::GeneralPractitioner => ("doctor", "Doctor", "Fastlege"),
            Profession::HospitalPhysician => {
                ("doctor", "Doctor", "Lege i spesialisthelsetjenesten")
            }
            Profession::HealthNurse => ("nurse", "Nurse", "Helsesykepleier"),
        };
        let mut role = hl7_concept("practitioner-role", code, display);
        role["text"] = json!(text);
        role
    }

    fn specialties(self) -> Option<Value> {
        match self {
            Profession::GeneralPractitioner => Some(json!([concept(
                &[snomed("394814009", "General practice")],
                "Allmennmedisin"
            )])),
            Profession::HospitalPhysician => Some(json!([concept(
                &[snomed("394802001", "General medicine")],
                "Indremedisin"
            )])),
            Profession::HealthNurse => None,
        }
    }
}

struct Clinician {
    key: &'static str,
    given: &'static str,
    family: &'static str,
    gender: Gender,
    hpr: &'static str,
    profession: Profession,
    organisation: &'static str,
}

// Synthetic nine-digit HPR numbers from one block (9901…), easy to recognise as demo data.
#[rustfmt::skip]
const CLINICIANS: [Clinician; 11] = [
    Clinician::new("ingrid-haugland", "Ingrid", "Haugland", Gender::Female, "990100017", Profession::GeneralPractitioner, "gp-nordnes"),
    Clinician::new("lars-eikeland", "Lars", "Eikeland", Gender::Male, "990100025", Profession::GeneralPractitioner, "gp-nordnes"),
    Clinician::new("kari-tveit", "Kari", "Tveit", Gender::Female, "990100033", Profession::GeneralPractitioner, "gp-kleppesto"),
    Clinician::new("ole-hjelle", "Ole", "Hjelle", Gender::Male, "990100041", Profession::GeneralPractitioner, "gp-kleppesto"),
    Clinician::new("solveig-lid", "Solveig", "Lid", Gender::Female, "990100058", Profession::GeneralPractitioner, "gp-vangen"),
    Clinician::new("nils-ringheim", "Nils", "Ringheim", Gender::Male, "990100066", Profession::GeneralPractitioner, "gp-vangen"),
    Clinician::new("marte-fosse", "Marte", "Fosse", Gender::Female, "990100074", Profession::HealthNurse, "bergen-kommune"),
    Clinician::new("hilde-kvamme", "Hilde", "Kvamme", Gender::Female, "990100082", Profession::HealthNurse, "askoy-kommune"),
    Clinician::new("randi-gjerme", "Randi", "Gjerme", Gender::Female, "990100090", Profession::HealthNurse, "voss-herad"),
    Clinician::new("erik-solheim", "Erik", "Solheim", Gender::Male, "990100108", Profession::HospitalPhysician, "hf-bergen"),
    Clinician::new("anne-dale", "Anne", "Dale", Gender::Female, "990100116", Profession::HospitalPhysician, "hf-voss"),
];

impl Clinician {
    const fn new(
        key: &'static str,
        given: &'static str,
        family: &'static str,
        gender: Gender,
        hpr: &'static str,
        profession: Profession,
        organisation: &'static str,
    ) -> Self {
        Self {
            key,
            given,
            family,
            gender,
            hpr,
            profession,
            organisation,
        }
    }

    fn practitioner(&self) -> Value {
        json!({
            "resourceType": "Practitioner",
            "id": practitioner_id(self.key),
            "identifier": [identifier(HPR_SYSTEM, self.hpr)],
            "active": true,
            "name": [{"use": "official", "family": self.family, "given": [self.given]}],
            "gender": self.gender.code(),
            "qualification": [{"code": concept(&[self.profession.category()], self.profession.category().display)}],
        })
    }

    fn role(&self) -> Value {
        without_absent(json!({
            "resourceType": "PractitionerRole",
            "id": format!("demo-role-{}", self.key),
            "active": true,
            "practitioner": reference("Practitioner", &practitioner_id(self.key)),
            "organization": reference("Organization", &organisation_id(self.organisation)),
            "code": [self.profession.role()],
            "specialty": self.profession.specialties(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_directory_organisation_number_is_issuable() {
        assert!(ORGANISATIONS
            .iter()
            .all(|org| organisation_number(org.first8).is_some()));
    }

    #[test]
    fn every_municipality_points_at_directory_entries() {
        let organisations: Vec<&str> = ORGANISATIONS.iter().map(|org| org.key).collect();
        let clinicians: Vec<&str> = CLINICIANS.iter().map(|clinician| clinician.key).collect();
        for municipality in &MUNICIPALITIES {
            assert!(organisations.contains(&municipality.gp_office));
            assert!(organisations.contains(&municipality.hospital));
            let people = [municipality.health_nurse, municipality.hospital_physician];
            assert!(municipality
                .gps
                .iter()
                .chain(&people)
                .all(|key| clinicians.contains(key)));
        }
    }
}
