//! A synthetic SNOMED CT RF2 snapshot release, written for tests and the
//! import benchmark: the real release is licensed and far too big to ship.

use std::fmt::Write as _;
use std::path::Path;

/// The root concept.
pub const ROOT: u64 = 138_875_005;

/// What to write.
pub struct Release {
    /// How many concepts besides the root.
    pub concepts: u64,
    /// One concept gets `branch * branch` descendants below `branch` children;
    /// this is it.
    pub branch_root: u64,
    /// The width of that branch (`100` gives 100 children and 9,900 grandchildren).
    pub branch: u64,
}

/// The id of the `n`th synthetic concept.
pub fn concept_id(n: u64) -> u64 {
    1_000_000 + n
}

/// Writes the snapshot files under `dir`: concepts, three descriptions each
/// (fully specified name, preferred and acceptable synonym), the English
/// language reference set and one `is a` relationship per concept.
pub fn write(dir: &Path, release: &Release) -> std::io::Result<()> {
    let folder = dir.join("Snapshot/Terminology");
    std::fs::create_dir_all(&folder)?;
    let refsets = dir.join("Snapshot/Refset/Language");
    std::fs::create_dir_all(&refsets)?;
    let module = 900_000_000_000_207_008_u64;
    let mut concepts = String::from("id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId\n");
    let mut descriptions = String::from(
        "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId\n",
    );
    let mut language = String::from(
        "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId\n",
    );
    let mut relationships = String::from("id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\ttypeId\tcharacteristicTypeId\tmodifierId\n");
    let mut description_id = 10_000_000_u64;
    let mut add = |id: u64, parent: Option<u64>, active: bool, name: &str| {
        let _ = writeln!(
            concepts,
            "{id}\t20260731\t{}\t{module}\t900000000000074008",
            u8::from(active)
        );
        for (type_id, term, preferred) in [
            ("900000000000003001", format!("{name} (finding)"), true),
            ("900000000000013009", name.to_owned(), true),
            ("900000000000013009", format!("{name}, other name"), false),
        ] {
            description_id += 1;
            let _ = writeln!(descriptions, "{description_id}\t20260731\t1\t{module}\t{id}\ten\t{type_id}\t{term}\t900000000000448009");
            let acceptability = if preferred {
                "900000000000548007"
            } else {
                "900000000000549004"
            };
            let _ = writeln!(language, "{description_id}-lang\t20260731\t1\t{module}\t900000000000509007\t{description_id}\t{acceptability}");
        }
        if let Some(parent) = parent {
            let _ = writeln!(relationships, "{id}-r\t20260731\t1\t{module}\t{id}\t{parent}\t0\t116680003\t900000000000011006\t900000000000451002");
        }
    };
    add(ROOT, None, true, "SNOMED CT Concept");
    let branch = release.branch;
    let mut n = 0;
    for c in 0..release.concepts {
        let id = concept_id(c);
        let parent = if id == release.branch_root || c < 100 {
            ROOT
        } else {
            concept_id(c / 10)
        };
        add(id, Some(parent), c % 97 != 5, &format!("Concept {c}"));
        n += 1;
    }
    // The branch: `branch` children of branch_root, each with `branch - 1` children.
    let mut next = concept_id(n);
    for _ in 0..branch {
        let child = next;
        next += 1;
        add(
            child,
            Some(release.branch_root),
            true,
            &format!("Branch {child}"),
        );
        for _ in 1..branch {
            add(next, Some(child), true, &format!("Leaf {next}"));
            next += 1;
        }
    }
    std::fs::write(
        folder.join("sct2_Concept_Snapshot_INT_20260731.txt"),
        concepts,
    )?;
    std::fs::write(
        folder.join("sct2_Description_Snapshot-en_INT_20260731.txt"),
        descriptions,
    )?;
    std::fs::write(
        folder.join("sct2_Relationship_Snapshot_INT_20260731.txt"),
        relationships,
    )?;
    std::fs::write(
        refsets.join("der2_cRefset_LanguageSnapshot-en_INT_20260731.txt"),
        language,
    )?;
    Ok(())
}
