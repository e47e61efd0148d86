//! The packages the validation suites load: the shipped ones from `profiles/`
//! and the R4 examples, fetched once with `npm pack` into `target/fhir-packages`.

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tillit_conformance::{Package, PackageSource, Registry, StructureValidator};
use tillit_fhirpath::Model;
use tillit_terminology::Terminology;
use tillit_validation::{Profiles, Validator};

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The packages Tillit ships, in the server's order: where two define the
/// same URL, the later wins, so R4's own extension definitions stand.
const SHIPPED: [&str; 3] = [
    "hl7.fhir.uv.extensions.r4-5.3.0-ballot-tc1.tgz",
    "hl7.fhir.r4.core-4.0.1.tgz",
    "hl7.fhir.uv.ips-2.0.0.tgz",
];

/// `(file name, resource)` of every JSON resource in a package and its
/// `example` folder, sorted by file name.
pub fn resources(package: &Path) -> Vec<(String, Value)> {
    let file = std::fs::File::open(package).expect("package file");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let Some(file) = name
            .strip_prefix("package/")
            .map(|f| f.strip_prefix("example/").unwrap_or(f))
            .filter(|f| !f.contains('/'))
            .map(str::to_owned)
        else {
            continue;
        };
        if !file.ends_with(".json") || file == "package.json" || file.starts_with('.') {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).expect("utf-8");
        if let Ok(value) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
            if value.get("resourceType").is_some() {
                out.push((file, value));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A shipped package's path.
pub fn shipped(name: &str) -> PathBuf {
    root().join("profiles").join(name)
}

/// The validator over the shipped packages, built once.
pub fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let wanted = |t: &str| {
            matches!(
                t,
                "StructureDefinition"
                    | "SearchParameter"
                    | "CompartmentDefinition"
                    | "CodeSystem"
                    | "ValueSet"
            )
        };
        let packages: Vec<_> = SHIPPED
            .iter()
            .map(|name| {
                Package::read(&PackageSource::Path(shipped(name)), &wanted).expect("package")
            })
            .collect();
        let profiles = Profiles::new(packages.iter().flat_map(|(_, resources)| resources));
        let terminology = Terminology::new(packages.iter().flat_map(|(_, resources)| resources));
        let registry = Registry::new(packages);
        let structure = StructureValidator::new(&registry);
        let model = Model::from_definitions(registry.base_definitions().map(|(_, sd)| sd));
        Validator::new(Arc::new(structure), Arc::new(profiles), Arc::new(model))
            .with_terminology(Arc::new(terminology))
    })
}

/// The R4 examples package, fetched once with `npm pack`.
pub fn r4_examples_package() -> PathBuf {
    let dir = root().join("target/fhir-packages");
    let file = dir.join("hl7.fhir.r4.examples-4.0.1.tgz");
    if !file.exists() {
        std::fs::create_dir_all(&dir).expect("package dir");
        let status = std::process::Command::new("npm")
            .args(["pack", "hl7.fhir.r4.examples@4.0.1", "--pack-destination"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("npm is needed to fetch hl7.fhir.r4.examples@4.0.1");
        assert!(
            status.success(),
            "npm pack hl7.fhir.r4.examples@4.0.1 failed"
        );
    }
    file
}

/// Resource types that define rather than exemplify: the conformance
/// resources of the specification itself.
pub const DEFINITIONS: [&str; 8] = [
    "StructureDefinition",
    "ValueSet",
    "CodeSystem",
    "SearchParameter",
    "ConceptMap",
    "OperationDefinition",
    "CompartmentDefinition",
    "ImplementationGuide",
];
