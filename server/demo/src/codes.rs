//! Code systems, and the small FHIR data types built from them: Coding, CodeableConcept,
//! Identifier, Quantity and Reference.

use serde_json::{json, Value};

/// SNOMED CT.
pub(crate) const SNOMED: &str = "http://snomed.info/sct";
/// LOINC.
pub(crate) const LOINC: &str = "http://loinc.org";
/// ICD-10 (WHO edition).
pub(crate) const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
/// WHO's Anatomical Therapeutic Chemical classification.
pub(crate) const ATC: &str = "http://www.whocc.no/atc";
/// Volven 9060, *Kategori helsepersonell* (`LE` lege, `SP` sykepleier).
pub(crate) const HEALTH_PERSONNEL_CATEGORY: &str = "urn:oid:2.16.578.1.12.4.1.1.9060";
/// Volven 3402, *Kommunenummer*.
pub(crate) const MUNICIPALITY_NUMBER: &str = "urn:oid:2.16.578.1.12.4.1.1.3402";

const UCUM: &str = "http://unitsofmeasure.org";
const HL7_CODE_SYSTEMS: &str = "http://terminology.hl7.org/CodeSystem/";

/// A code from a code system, with its display.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Code {
    /// The code system's canonical URL or OID.
    pub(crate) system: &'static str,
    /// The code.
    pub(crate) code: &'static str,
    /// The code system's display for the code.
    pub(crate) display: &'static str,
}

impl Code {
    /// The code as a FHIR Coding.
    pub(crate) fn coding(self) -> Value {
        json!({"system": self.system, "code": self.code, "display": self.display})
    }
}

/// A SNOMED CT code.
pub(crate) const fn snomed(code: &'static str, display: &'static str) -> Code {
    Code {
        system: SNOMED,
        code,
        display,
    }
}

/// An ICD-10 code.
pub(crate) const fn icd10(code: &'static str, display: &'static str) -> Code {
    Code {
        system: ICD10,
        code,
        display,
    }
}

/// An ATC code.
pub(crate) const fn atc(code: &'static str, display: &'static str) -> Code {
    Code {
        system: ATC,
        code,
        display,
    }
}

/// A LOINC code.
pub(crate) const fn loinc(code: &'static str, display: &'static str) -> Code {
    Code {
        system: LOINC,
        code,
        display,
    }
}

/// A CodeableConcept with `codes` and the Norwegian `text` a clinician would read.
pub(crate) fn concept(codes: &[Code], text: &str) -> Value {
    let codings: Vec<Value> = codes.iter().map(|code| code.coding()).collect();
    json!({"coding": codings, "text": text})
}

/// A CodeableConcept with one code from `http://terminology.hl7.org/CodeSystem/<code_system>`.
pub(crate) fn hl7_concept(code_system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": format!("{HL7_CODE_SYSTEMS}{code_system}"), "code": code, "display": display}]})
}

/// A Coding from `http://terminology.hl7.org/CodeSystem/<code_system>`.
pub(crate) fn hl7_coding(code_system: &str, code: &str, display: &str) -> Value {
    json!({"system": format!("{HL7_CODE_SYSTEMS}{code_system}"), "code": code, "display": display})
}

/// An official Identifier.
pub(crate) fn identifier(system: &str, value: &str) -> Value {
    json!({"use": "official", "system": system, "value": value})
}

/// A relative Reference, `resource_type/id`.
pub(crate) fn reference(resource_type: &str, id: &str) -> Value {
    json!({"reference": format!("{resource_type}/{id}")})
}

/// `resource` without its top-level elements that are `null`: builders write an absent
/// optional element as `null`, so every element keeps its place in FHIR's element order.
pub(crate) fn without_absent(mut resource: Value) -> Value {
    if let Some(elements) = resource.as_object_mut() {
        elements.retain(|_, element| !element.is_null());
    }
    resource
}

/// A UCUM Quantity; `unit` is shown to people, `ucum` is the code.
pub(crate) fn quantity(value: impl Into<Value>, unit: &str, ucum: &str) -> Value {
    json!({"value": value.into(), "unit": unit, "system": UCUM, "code": ucum})
}
