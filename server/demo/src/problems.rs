//! The problems patients can have, with the medication and the procedure that go with each.
//!
//! SNOMED CT codes carry the meaning; ICD-10 codes are what a Norwegian hospital or GP
//! reports; medications are coded with ATC, as in Norwegian prescriptions.

use crate::codes::{atc, icd10, snomed, Code};

/// A condition a patient may have, and how common it is.
pub(crate) struct Problem {
    /// The SNOMED CT code.
    pub(crate) snomed: Code,
    /// The ICD-10 code.
    pub(crate) icd10: Code,
    /// What a Norwegian clinician calls it.
    pub(crate) text: &'static str,
    /// Youngest age on the reference date at which the problem is drawn.
    pub(crate) min_age: u32,
    /// Oldest age on the reference date at which the problem is drawn.
    pub(crate) max_age: u32,
    /// Percentage of eligible patients who have it.
    pub(crate) percent: u32,
    /// The usual medication.
    pub(crate) drug: Drug,
    /// A procedure that follows from the problem, if any.
    pub(crate) procedure: Option<&'static ProcedureKind>,
    /// Whether patients with it are offered the seasonal influenza vaccine.
    pub(crate) influenza_risk: bool,
    /// Whether the showcase patient always has it.
    pub(crate) in_showcase: bool,
}

/// A medication with its usual dosage.
pub(crate) struct Drug {
    /// The ATC code.
    pub(crate) atc: Code,
    /// The product as a Norwegian prescription names it.
    pub(crate) text: &'static str,
    /// The dosage instruction.
    pub(crate) dosage: &'static str,
    /// Whether it is taken only when needed.
    pub(crate) as_needed: bool,
}

/// Where a procedure happens.
pub(crate) enum Setting {
    /// At the GP's office, during a visit in the data set.
    GpVisit,
    /// At the hospital, some time before the visits in the data set.
    Hospital,
}

/// A kind of procedure.
pub(crate) struct ProcedureKind {
    /// The SNOMED CT code.
    pub(crate) code: Code,
    /// What a Norwegian clinician calls it.
    pub(crate) text: &'static str,
    /// Where it is done.
    pub(crate) setting: Setting,
    /// Percentage of patients with the reason (or, for [`OTHER_PROCEDURES`], of eligible patients) who had it.
    pub(crate) percent: u32,
    /// Youngest age on the reference date at which it is drawn.
    pub(crate) min_age: u32,
}

const ECG: ProcedureKind = ProcedureKind {
    code: snomed("29303009", "Electrocardiographic procedure"),
    text: "EKG",
    setting: Setting::GpVisit,
    percent: 100,
    min_age: 0,
};

const SPIROMETRY: ProcedureKind = ProcedureKind {
    code: snomed("127783003", "Spirometry"),
    text: "Spirometri",
    setting: Setting::GpVisit,
    percent: 100,
    min_age: 6,
};

const KNEE_REPLACEMENT: ProcedureKind = ProcedureKind {
    code: snomed("609588000", "Total knee replacement"),
    text: "Totalprotese i kne",
    setting: Setting::Hospital,
    percent: 40,
    min_age: 55,
};

/// Procedures drawn independently of any problem.
pub(crate) const OTHER_PROCEDURES: [ProcedureKind; 2] = [
    ProcedureKind {
        code: snomed("80146002", "Appendectomy"),
        text: "Blindtarmoperasjon",
        setting: Setting::Hospital,
        percent: 6,
        min_age: 10,
    },
    ProcedureKind {
        code: snomed("73761001", "Colonoscopy"),
        text: "Koloskopi",
        setting: Setting::Hospital,
        percent: 10,
        min_age: 50,
    },
];

const ADULT: u32 = 18;
const ANY_AGE: u32 = 150;

/// Every problem the generator draws from.
pub(crate) const PROBLEMS: [Problem; 10] = [
    Problem {
        snomed: snomed("38341003", "Hypertensive disorder, systemic arterial"),
        icd10: icd10("I10", "Essential (primary) hypertension"),
        text: "Høyt blodtrykk",
        min_age: 40,
        max_age: ANY_AGE,
        percent: 30,
        drug: regular(
            atc("C09CA01", "losartan"),
            "Losartan 50 mg tablett",
            "1 tablett daglig",
        ),
        procedure: Some(&ECG),
        influenza_risk: false,
        in_showcase: true,
    },
    Problem {
        snomed: snomed("44054006", "Diabetes mellitus type 2"),
        icd10: icd10("E11", "Type 2 diabetes mellitus"),
        text: "Diabetes type 2",
        min_age: 40,
        max_age: ANY_AGE,
        percent: 12,
        drug: regular(
            atc("A10BA02", "metformin"),
            "Metformin 500 mg tablett",
            "1 tablett 2 ganger daglig",
        ),
        procedure: None,
        influenza_risk: true,
        in_showcase: true,
    },
    Problem {
        snomed: snomed("55822004", "Hyperlipidemia"),
        icd10: icd10("E78.5", "Hyperlipidaemia, unspecified"),
        text: "Høyt kolesterol",
        min_age: 45,
        max_age: ANY_AGE,
        percent: 20,
        drug: regular(
            atc("C10AA01", "simvastatin"),
            "Simvastatin 20 mg tablett",
            "1 tablett om kvelden",
        ),
        procedure: None,
        influenza_risk: false,
        in_showcase: false,
    },
    Problem {
        snomed: snomed("49436004", "Atrial fibrillation"),
        icd10: icd10("I48", "Atrial fibrillation and flutter"),
        text: "Atrieflimmer",
        min_age: 60,
        max_age: ANY_AGE,
        percent: 10,
        drug: regular(
            atc("B01AF02", "apixaban"),
            "Apixaban 5 mg tablett",
            "1 tablett 2 ganger daglig",
        ),
        procedure: Some(&ECG),
        influenza_risk: true,
        in_showcase: false,
    },
    Problem {
        snomed: snomed("35489007", "Depressive disorder"),
        icd10: icd10("F32", "Depressive episode"),
        text: "Depresjon",
        min_age: ADULT,
        max_age: ANY_AGE,
        percent: 10,
        drug: regular(
            atc("N06AB06", "sertraline"),
            "Sertralin 50 mg tablett",
            "1 tablett daglig",
        ),
        procedure: None,
        influenza_risk: false,
        in_showcase: false,
    },
    Problem {
        snomed: snomed("13645005", "Chronic obstructive lung disease"),
        icd10: icd10("J44", "Other chronic obstructive pulmonary disease"),
        text: "KOLS",
        min_age: 50,
        max_age: ANY_AGE,
        percent: 8,
        drug: regular(
            atc("R03BB04", "tiotropium bromide"),
            "Tiotropium 18 mikrogram inhalasjonspulver",
            "1 inhalasjon daglig",
        ),
        procedure: Some(&SPIROMETRY),
        influenza_risk: true,
        in_showcase: false,
    },
    Problem {
        snomed: snomed("40930008", "Hypothyroidism"),
        icd10: icd10("E03.9", "Hypothyroidism, unspecified"),
        text: "Lavt stoffskifte",
        min_age: 30,
        max_age: ANY_AGE,
        percent: 8,
        drug: regular(
            atc("H03AA01", "levothyroxine sodium"),
            "Levotyroksin 50 mikrogram tablett",
            "1 tablett om morgenen",
        ),
        procedure: None,
        influenza_risk: false,
        in_showcase: false,
    },
    Problem {
        snomed: snomed("239873007", "Osteoarthritis of knee"),
        icd10: icd10("M17", "Gonarthrosis [arthrosis of knee]"),
        text: "Kneartrose",
        min_age: 55,
        max_age: ANY_AGE,
        percent: 12,
        drug: as_needed(
            atc("N02BE01", "paracetamol"),
            "Paracetamol 500 mg tablett",
            "1–2 tabletter ved behov, høyst 8 i døgnet",
        ),
        procedure: Some(&KNEE_REPLACEMENT),
        influenza_risk: false,
        in_showcase: false,
    },
    Problem {
        snomed: snomed("195967001", "Asthma"),
        icd10: icd10("J45", "Asthma"),
        text: "Astma",
        min_age: 5,
        max_age: ANY_AGE,
        percent: 8,
        drug: as_needed(
            atc("R03AC02", "salbutamol"),
            "Salbutamol 0,1 mg/dose inhalasjonsaerosol",
            "1–2 inhalasjoner ved behov",
        ),
        procedure: Some(&SPIROMETRY),
        influenza_risk: true,
        in_showcase: false,
    },
    Problem {
        snomed: snomed("24079001", "Atopic dermatitis"),
        icd10: icd10("L20", "Atopic dermatitis"),
        text: "Atopisk eksem",
        min_age: 0,
        max_age: ADULT - 1,
        percent: 15,
        drug: as_needed(
            atc("D07AA02", "hydrocortisone"),
            "Hydrokortison 1 % krem",
            "Smøres tynt på eksemet 1–2 ganger daglig ved utbrudd",
        ),
        procedure: None,
        influenza_risk: false,
        in_showcase: false,
    },
];

const fn regular(atc: Code, text: &'static str, dosage: &'static str) -> Drug {
    Drug {
        atc,
        text,
        dosage,
        as_needed: false,
    }
}

const fn as_needed(atc: Code, text: &'static str, dosage: &'static str) -> Drug {
    Drug {
        atc,
        text,
        dosage,
        as_needed: true,
    }
}

/// Whether `problem` is the type 2 diabetes entry (its patients get HbA1c results).
pub(crate) fn is_diabetes(problem: &Problem) -> bool {
    problem.snomed.code == "44054006"
}

/// Whether `problem` is the hypertension entry (its patients have higher blood pressure).
pub(crate) fn is_hypertension(problem: &Problem) -> bool {
    problem.snomed.code == "38341003"
}
