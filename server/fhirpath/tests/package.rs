//! The R4 core package, read once: the type model and the search parameter expressions.

use std::io::Read;
use std::sync::OnceLock;

use serde_json::Value;
use tillit_fhirpath::Model;

/// What the tests need from `hl7.fhir.r4.core`.
pub struct Core {
    pub model: Model,
    /// `(id, expression)` of every SearchParameter that has an expression.
    pub search_parameters: Vec<(String, String)>,
    /// `(key, expression)` of every invariant (`ElementDefinition.constraint`) in any definition.
    pub invariants: Vec<(String, String)>,
}

const PACKAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../profiles/hl7.fhir.r4.core-4.0.1.tgz"
);

/// Test data shared with the other suites.
pub const TESTDATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/fhirpath/"
);

/// The core package, loaded on first use.
pub fn core() -> &'static Core {
    static CORE: OnceLock<Core> = OnceLock::new();
    CORE.get_or_init(load)
}

fn load() -> Core {
    let file = std::fs::File::open(PACKAGE).expect("R4 core package");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut definitions = Vec::new();
    let mut search_parameters = Vec::new();
    let mut invariants = Vec::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let Some(name) = path.strip_prefix("package/") else {
            continue;
        };
        let is_definition = name.starts_with("StructureDefinition-");
        let is_search_parameter = name.starts_with("SearchParameter-");
        if !name.ends_with(".json") || !(is_definition || is_search_parameter) {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("entry text");
        let json: Value = serde_json::from_str(&text).expect("entry JSON");
        if is_search_parameter {
            if let (Some(id), Some(expression)) = (json["id"].as_str(), json["expression"].as_str())
            {
                search_parameters.push((id.to_owned(), expression.to_owned()));
            }
        } else {
            collect_invariants(&json, &mut invariants);
            if matches!(
                json["kind"].as_str(),
                Some("primitive-type" | "complex-type" | "resource")
            ) {
                definitions.push(json);
            }
        }
    }
    invariants.sort();
    invariants.dedup();
    Core {
        model: Model::from_definitions(&definitions),
        search_parameters,
        invariants,
    }
}

fn collect_invariants(definition: &Value, out: &mut Vec<(String, String)>) {
    for part in ["snapshot", "differential"] {
        for element in definition[part]["element"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            for constraint in element["constraint"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let (Some(key), Some(expression)) = (
                    constraint["key"].as_str(),
                    constraint["expression"].as_str(),
                ) {
                    out.push((key.to_owned(), expression.to_owned()));
                }
            }
        }
    }
}

/// An input resource of the HL7 suite, by file name.
pub fn input(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{TESTDATA}input-json/{name}")).expect("input file");
    serde_json::from_str(&text).expect("input JSON")
}
