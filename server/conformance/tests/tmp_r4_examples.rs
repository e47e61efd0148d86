//! TEMPORARY: runs the validator over the R4 examples. Delete before handing over.
#![allow(missing_docs, clippy::unwrap_used)]
use std::time::Instant;
use tillit_conformance::{Package, Registry, StructureValidator};

#[test]
fn run_examples() {
    let t = Instant::now();
    let pkg = Package::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/hl7.fhir.r4.core-4.0.1.tgz"
    )))
    .unwrap();
    let registry = Registry::new(vec![pkg]);
    eprintln!("load {:?}", t.elapsed());
    for _ in 0..3 {
        let t = Instant::now();
        let v = StructureValidator::new(&registry);
        eprintln!("build {:?}", t.elapsed());
        std::hint::black_box(v);
    }
    let v = StructureValidator::new(&registry);
    let mut files: Vec<_> = std::fs::read_dir("/work/pkgs/ex/package")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let skip = [
        "StructureDefinition",
        "SearchParameter",
        "CodeSystem",
        "ValueSet",
        "ConceptMap",
        "OperationDefinition",
        "CompartmentDefinition",
    ];
    let mut bad = 0;
    let mut bad_conf = 0;
    let mut total = std::time::Duration::ZERO;
    let mut bytes = 0usize;
    let mut n = 0usize;
    let mut typical = std::time::Duration::ZERO;
    let mut typical_n = 0usize;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name == "package.json" || name.starts_with('.') {
            continue;
        }
        let raw = std::fs::read(f).unwrap();
        let value: serde_json::Value = match serde_json::from_slice(&raw) {
            Ok(v) => v,
            Err(e) => {
                println!("PARSE {name}: {e}");
                continue;
            }
        };
        if value.get("resourceType").is_none() {
            continue;
        }
        let issues = v.validate(&value);
        let reps = 20;
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(v.validate(std::hint::black_box(&value)));
        }
        let el = t.elapsed() / reps;
        total += el;
        bytes += raw.len();
        n += 1;
        if (2000..=5000).contains(&raw.len()) {
            typical += el;
            typical_n += 1;
        }
        let rt = value["resourceType"].as_str().unwrap_or("");
        if !issues.is_empty() {
            if skip.contains(&rt) {
                bad_conf += 1
            } else {
                bad += 1
            }
            println!("FAIL {name} ({} issues)", issues.len());
            for i in issues.iter().take(8) {
                println!(
                    "   {:?} {} | {}",
                    i.code,
                    i.expression.as_deref().unwrap_or(""),
                    i.diagnostics
                );
            }
        }
    }
    println!("files {n}, bad {bad}, bad conformance {bad_conf}");
    println!(
        "avg {:?} per resource, {:.1} MB/s; typical 2-5KB: {} files avg {:?}",
        total / n as u32,
        bytes as f64 / total.as_secs_f64() / 1e6,
        typical_n,
        typical / typical_n as u32
    );
}

#[test]
fn show_messages() {
    let pkg = Package::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../profiles/hl7.fhir.r4.core-4.0.1.tgz"
    )))
    .unwrap();
    let v = StructureValidator::new(&Registry::new(vec![pkg]));
    println!("{v:?}");
    let r = serde_json::json!({"resourceType": "Patient", "foo": 1, "id": "a b", "active": "yes", "gender": ["male"], "name": {"family": "x"},
      "birthDate": "2020-13-01", "deceasedFoo": 1, "multipleBirthInteger": 0.5, "_active": {"value": 1},
      "telecom": [{"system": "phone", "rank": 0}, null, {}], "_gender": [{}], "text": {"div": "<p/>"},
      "extension": [{"valueString": "", "valuePositiveInt": 0}], "contained": [{"resourceType": "Foo"}, {"id": "x"}, 1],
      "contact": [{"name": {"given": ["a", null], "_given": [{"id": "q"}]}, "_name": {}}]});
    for i in v.validate(&r) {
        println!(
            "{:<10} {:<45} {}",
            i.code.code(),
            i.expression.unwrap_or_default(),
            i.diagnostics
        );
    }
}
