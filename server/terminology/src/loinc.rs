//! LOINC from its main table (`Loinc.csv`, or `LoincTable/Loinc.csv` in a
//! release): each LOINC number with its long common name as display, its short
//! name as designation, its six parts and class as properties, and its status
//! (deprecated codes are inactive). <https://loinc.org/kb/users-guide/>

use std::path::Path;

use serde_json::json;

use crate::code_system::{CodeSystem, CodeSystemHeader, Concept, Designation};

/// LOINC's canonical URL.
pub const LOINC: &str = "http://loinc.org";

/// The table's columns that become properties, by the property codes LOINC's
/// own FHIR CodeSystem gives them.
const PROPERTIES: [(&str, &str); 7] = [
    ("COMPONENT", "COMPONENT"),
    ("PROPERTY", "PROPERTY"),
    ("TIME_ASPCT", "TIME_ASPCT"),
    ("SYSTEM", "SYSTEM"),
    ("SCALE_TYP", "SCALE_TYP"),
    ("METHOD_TYP", "METHOD_TYP"),
    ("CLASS", "CLASS"),
];

/// Why the table could not be read.
#[derive(Debug)]
pub enum LoincError {
    /// The file could not be read or is not CSV.
    Csv(csv::Error),
    /// A column LOINC's table always has is missing.
    Column(&'static str),
}

impl std::fmt::Display for LoincError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoincError::Csv(e) => write!(f, "the LOINC table: {e}"),
            LoincError::Column(name) => write!(f, "the LOINC table has no {name} column"),
        }
    }
}

impl std::error::Error for LoincError {}

impl From<csv::Error> for LoincError {
    fn from(e: csv::Error) -> LoincError {
        LoincError::Csv(e)
    }
}

/// Reads LOINC's table `file` as LOINC `version`.
pub fn import(file: &Path, version: Option<&str>) -> Result<CodeSystem, LoincError> {
    let mut reader = csv::Reader::from_path(file)?;
    let headers = reader.headers()?.clone();
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or(LoincError::Column(name))
    };
    let (number, long_name, short_name, status) = (
        column("LOINC_NUM")?,
        column("LONG_COMMON_NAME")?,
        column("SHORTNAME")?,
        column("STATUS")?,
    );
    let properties: Vec<(usize, &str)> = PROPERTIES
        .iter()
        .filter_map(|(column_name, code)| {
            headers
                .iter()
                .position(|h| h == *column_name)
                .map(|i| (i, *code))
        })
        .collect();
    let mut concepts = Vec::new();
    for record in reader.records() {
        let record = record?;
        let field = |i: usize| record.get(i).unwrap_or_default();
        let state = field(status);
        let mut designations = Vec::new();
        if !field(short_name).is_empty() {
            designations.push(Designation {
                language: Some("en-US".into()),
                use_: Some(json!({"system": LOINC, "code": "SHORTNAME"})),
                value: field(short_name).to_owned(),
            });
        }
        let mut concept_properties: Vec<(String, serde_json::Value)> = properties
            .iter()
            .filter(|(i, _)| !field(*i).is_empty())
            .map(|(i, code)| ((*code).to_owned(), json!({"valueString": field(*i)})))
            .collect();
        concept_properties.push(("STATUS".into(), json!({"valueString": state})));
        concepts.push(Concept {
            code: field(number).to_owned(),
            display: Some(field(long_name).to_owned()).filter(|d| !d.is_empty()),
            definition: None,
            designations,
            properties: concept_properties,
            parents: Vec::new(),
            children: Vec::new(),
            inactive: state == "DEPRECATED",
            abstract_: false,
            status: Some(state.to_lowercase()),
        });
    }
    let header = CodeSystemHeader {
        url: LOINC.to_owned(),
        version: version.map(str::to_owned),
        name: "LOINC".to_owned(),
        language: Some("en-US".to_owned()),
    };
    Ok(CodeSystem::from_concepts(header, concepts, &[]))
}
