//! Definitions written through another replica: every replica follows the
//! change feed and activates the StructureDefinitions, CodeSystems,
//! ValueSets, ConceptMaps and SearchParameters others wrote, so profiles,
//! terminology (and its cached expansions) and search parameters agree
//! across replicas within a polling period.

use std::time::Duration;

use crate::Repository;

/// The definition types a replica must see from the others.
const DEFINITIONS: [&str; 5] = [
    "StructureDefinition",
    "CodeSystem",
    "ValueSet",
    "ConceptMap",
    "SearchParameter",
];

/// How many changes one poll reads at most.
const BATCH: u32 = 500;

/// Follows the change feed from now on, every `period`, activating the
/// definitions written (by any replica) since the last poll.
pub fn follow(repo: Repository, period: Duration) {
    tokio::spawn(async move {
        let mut position = match repo.store.latest_change().await {
            Ok(position) => position,
            Err(error) => {
                tracing::error!(%error, "definitions: cannot read the change feed; not following it");
                return;
            }
        };
        loop {
            tokio::time::sleep(period).await;
            loop {
                let changes = match repo.store.changes_since(position, BATCH).await {
                    Ok(changes) => changes,
                    Err(error) => {
                        tracing::warn!(%error, "definitions: the change feed could not be read");
                        break;
                    }
                };
                let Some(last) = changes.last().map(|c| c.seq) else {
                    break;
                };
                for change in changes
                    .iter()
                    .filter(|c| DEFINITIONS.contains(&c.resource_type.as_str()))
                {
                    // Deletions leave the definition in place until restart.
                    let Some(resource) = change
                        .content
                        .as_deref()
                        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                    else {
                        continue;
                    };
                    repo.activate_if_definition(&change.resource_type, &resource);
                }
                position = last;
            }
        }
    });
}
