//! SNOMED CT from an RF2 release's snapshot files: concepts (active or not),
//! their descriptions (fully specified names and synonyms, by language, with
//! the preferred term per the language reference sets as display) and the
//! `is a` relationships as hierarchy.
//! <https://confluence.ihtsdotools.org/display/DOCRELFMT>

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::code_system::{CodeSystem, CodeSystemHeader, Concept, Designation};

/// SNOMED CT's canonical URL.
pub const SNOMED: &str = "http://snomed.info/sct";
/// The `is a` relationship type.
const IS_A: &str = "116680003";
/// The description type of fully specified names.
const FSN: &str = "900000000000003001";
/// The acceptability that makes a description preferred.
const PREFERRED: &str = "900000000000548007";

/// Why a release could not be read.
#[derive(Debug)]
pub enum Rf2Error {
    /// A snapshot file is missing from the folder.
    Missing(&'static str),
    /// A file could not be read.
    Io(PathBuf, std::io::Error),
    /// A row is not what RF2 says.
    Row(PathBuf, usize),
}

impl std::fmt::Display for Rf2Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rf2Error::Missing(what) => write!(f, "no {what} snapshot file in the release folder"),
            Rf2Error::Io(path, e) => write!(f, "{}: {e}", path.display()),
            Rf2Error::Row(path, line) => write!(f, "{}:{line}: not an RF2 row", path.display()),
        }
    }
}

impl std::error::Error for Rf2Error {}

/// Reads the RF2 snapshot files under `folder` (searched recursively) into
/// one version of SNOMED CT, named by its module and latest effective time.
pub fn import(folder: &Path) -> Result<CodeSystem, Rf2Error> {
    let files = files_under(folder);
    let find = |prefix: &'static str| {
        files
            .iter()
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix) && n.contains("Snapshot"))
            })
            .ok_or(Rf2Error::Missing(prefix))
    };
    let mut concepts: Vec<Concept> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let (mut module, mut effective) = (String::new(), String::new());
    each_row(find("sct2_Concept_")?, 5, |row| {
        // id, effectiveTime, active, moduleId, definitionStatusId
        if row[1] > effective.as_str() {
            effective = row[1].to_owned();
            module = row[3].to_owned();
        }
        index.insert(row[0].to_owned(), concepts.len());
        concepts.push(Concept {
            code: row[0].to_owned(),
            display: None,
            definition: None,
            designations: Vec::new(),
            properties: Vec::new(),
            parents: Vec::new(),
            children: Vec::new(),
            inactive: row[2] != "1",
            abstract_: false,
            status: (row[2] != "1").then(|| "inactive".to_owned()),
        });
    })?;
    // Preferred descriptions, from every language reference set present.
    let mut preferred: HashMap<String, ()> = HashMap::new();
    for file in files.iter().filter(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("der2_cRefset_Language") && n.contains("Snapshot"))
    }) {
        // id, effectiveTime, active, moduleId, refsetId, referencedComponentId, acceptabilityId
        each_row(file, 7, |row| {
            if row[2] == "1" && row[6] == PREFERRED {
                preferred.insert(row[5].to_owned(), ());
            }
        })?;
    }
    each_row(find("sct2_Description_")?, 9, |row| {
        // id, effectiveTime, active, moduleId, conceptId, languageCode, typeId, term, caseSignificanceId
        if row[2] != "1" {
            return;
        }
        let Some(&at) = index.get(row[4]) else {
            return;
        };
        let concept = &mut concepts[at];
        let fsn = row[6] == FSN;
        if !fsn && preferred.contains_key(row[0]) && (concept.display.is_none() || row[5] == "en") {
            concept.display = Some(row[7].to_owned());
        }
        concept.designations.push(Designation {
            language: Some(row[5].to_owned()),
            use_: Some(json!({"system": SNOMED, "code": row[6]})),
            value: row[7].to_owned(),
        });
    })?;
    for concept in &mut concepts {
        if concept.display.is_none() {
            // No preferred synonym: the first synonym, else the FSN.
            concept.display = concept
                .designations
                .iter()
                .find(|d| d.use_.as_ref().and_then(|u| u["code"].as_str()) != Some(FSN))
                .or(concept.designations.first())
                .map(|d| d.value.clone());
        }
    }
    let mut links = Vec::new();
    each_row(find("sct2_Relationship_")?, 10, |row| {
        // id, effectiveTime, active, moduleId, sourceId, destinationId, group, typeId, characteristicTypeId, modifierId
        if row[2] == "1" && row[7] == IS_A {
            if let (Some(&child), Some(&parent)) = (index.get(row[4]), index.get(row[5])) {
                links.push((parent, child));
            }
        }
    })?;
    let header = CodeSystemHeader {
        url: SNOMED.to_owned(),
        version: Some(format!("{SNOMED}/{module}/version/{effective}")),
        name: "SNOMED CT".to_owned(),
        language: Some("en".to_owned()),
    };
    Ok(CodeSystem::from_concepts(header, concepts, &links))
}

/// Every file under `folder`, recursively.
fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Calls `f` with the fields of every row after the header of tab-separated
/// `file`, which must have at least `columns` fields.
fn each_row(file: &Path, columns: usize, mut f: impl FnMut(&[&str])) -> Result<(), Rf2Error> {
    let mut reader = BufReader::with_capacity(
        1 << 20,
        File::open(file).map_err(|e| Rf2Error::Io(file.to_path_buf(), e))?,
    );
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| Rf2Error::Io(file.to_path_buf(), e))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let row = line.trim_end_matches(['\r', '\n']);
        if number == 1 || row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split('\t').collect();
        if fields.len() < columns {
            return Err(Rf2Error::Row(file.to_path_buf(), number));
        }
        f(&fields);
    }
}
