//! LOINC imported from its main table (a small synthetic `Loinc.csv` in the
//! release's format): displays, short names, parts as properties, status.

use tillit_terminology::{loinc, lookup, Terminology};

const TABLE: &str = "\"LOINC_NUM\",\"COMPONENT\",\"PROPERTY\",\"TIME_ASPCT\",\"SYSTEM\",\"SCALE_TYP\",\"METHOD_TYP\",\"CLASS\",\"STATUS\",\"SHORTNAME\",\"LONG_COMMON_NAME\"
\"2951-2\",\"Sodium\",\"SCnc\",\"Pt\",\"Ser/Plas\",\"Qn\",\"\",\"CHEM\",\"ACTIVE\",\"Sodium SerPl-sCnc\",\"Sodium [Moles/volume] in Serum or Plasma\"
\"8310-5\",\"Body temperature\",\"Temp\",\"Pt\",\"^Patient\",\"Qn\",\"\",\"BDYTMP.ATOM\",\"ACTIVE\",\"Body temperature\",\"Body temperature\"
\"1234-5\",\"Old, retired thing\",\"Prid\",\"Pt\",\"Ser\",\"Nom\",\"\",\"CHEM\",\"DEPRECATED\",\"Old thing\",\"Old, retired thing in Serum\"
";

#[test]
fn the_loinc_table_becomes_a_code_system() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("Loinc.csv");
    std::fs::write(&file, TABLE).unwrap();
    let cs = loinc::import(&file, Some("2.80")).expect("import");
    assert_eq!(cs.url, loinc::LOINC);
    assert_eq!(cs.concepts.len(), 3);
    let sodium = cs.concept("2951-2").unwrap();
    assert_eq!(
        sodium.display.as_deref(),
        Some("Sodium [Moles/volume] in Serum or Plasma")
    );
    assert_eq!(sodium.designations[0].value, "Sodium SerPl-sCnc");
    assert_eq!(
        sodium.property("COMPONENT").unwrap()["valueString"],
        "Sodium"
    );
    assert!(
        cs.concept("1234-5").unwrap().inactive,
        "deprecated codes are inactive"
    );

    let terminology = Terminology::new([]);
    terminology.add_code_system(cs);
    let scope = terminology.scope(&[]);
    let found = lookup::lookup(&scope, loinc::LOINC, Some("2.80"), "8310-5", &[]).expect("lookup");
    assert!(found.to_string().contains("BDYTMP.ATOM"), "{found}");
}
