//! Tillit's FHIR interactions: one module per interaction of the R4 RESTful API.
//! <https://hl7.org/fhir/R4/http.html>
//!
//! They know FHIR semantics (versions, conditional matches, transaction order)
//! and nothing about HTTP or SQL: requests arrive as parsed values, results
//! leave as [`Stored`] versions and Bundles, and every write runs in one
//! [`store::Transaction`].

mod bundle;
pub mod capabilities;
pub mod conditional;
pub mod create;
pub mod definitions;
pub mod delete;
mod error;
pub mod everything;
pub mod history;
pub mod index;
pub mod packages;
pub mod patch;
pub mod read;
pub mod reindex;
mod resource;
pub mod search;
pub mod subset;
pub mod terminology;
pub mod text;
pub mod transaction;
pub mod update;
pub mod validate;
pub mod vread;

use std::sync::{Arc, RwLock};

use index::SearchIndex;
pub use validate::WritePolicy;

pub use error::Error;
pub use resource::{parse_json, Written};
use tillit_conformance::{Registry, StructureValidator};
pub use tillit_store as store;
pub use tillit_store::Stored;

/// The FHIR repository: the store plus the definitions that give it meaning.
/// Cheap to clone; shared by every request.
#[derive(Clone)]
pub struct Repository {
    /// The database.
    pub store: store::Store,
    /// Every loaded definition.
    pub registry: Arc<Registry>,
    /// The structural checker run on every write.
    pub validator: Arc<StructureValidator>,
    /// The profile validator (`$validate`, and writes when the policy asks).
    pub validation: tillit_validation::Validator,
    /// What writes are validated against beyond the base structure.
    pub write_policy: Arc<WritePolicy>,
    /// The public FHIR base URL, such as `http://127.0.0.1:8080/fhir`.
    pub base_url: String,
    /// The active search parameters; replaced when a SearchParameter is written.
    search_index: Arc<RwLock<Arc<SearchIndex>>>,
    /// Set once the definitions clients stored (StructureDefinitions, CodeSystems,
    /// ValueSets) have been read into the validator: on first use, not at start-up.
    stored_definitions: Arc<tokio::sync::OnceCell<()>>,
    /// The full-text index for `_text` and `_content`, when the server keeps one.
    pub text: Option<Arc<text::TextIndex>>,
}

impl Repository {
    /// A repository over `store` with the packages' search parameters active.
    pub fn new(
        store: store::Store,
        registry: Arc<Registry>,
        validation: tillit_validation::Validator,
        base_url: String,
    ) -> Repository {
        let model = validation.model.clone();
        let types: Vec<String> = registry.resource_types().map(str::to_owned).collect();
        let index = SearchIndex::new(
            model,
            registry.all_search_parameters().to_vec(),
            &types,
            &base_url,
        );
        Repository {
            store,
            registry,
            validator: validation.structure.clone(),
            validation,
            write_policy: Arc::new(WritePolicy::default()),
            base_url,
            search_index: Arc::new(RwLock::new(Arc::new(index))),
            text: None,
            stored_definitions: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// The same repository with writes validated by `policy`.
    pub fn with_write_policy(mut self, policy: WritePolicy) -> Repository {
        self.write_policy = Arc::new(policy);
        self
    }

    /// The search parameters active now.
    pub fn search_index(&self) -> Arc<SearchIndex> {
        self.search_index
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Activates `resource` when it is a definition written by a client: a
    /// SearchParameter becomes searchable, a StructureDefinition usable as a
    /// profile, a CodeSystem or ValueSet usable for bindings (package installs
    /// bring definitions the server has already).
    pub fn activate_if_definition(&self, resource_type: &str, resource: &serde_json::Value) {
        match resource_type {
            "SearchParameter" => self.activate_search_parameter(resource),
            // Until the stored definitions are read, the read will find this one.
            _ if !self.stored_definitions.initialized() => {}
            "StructureDefinition" => {
                self.validation.profiles.add(resource);
            }
            "CodeSystem" | "ValueSet" | "ConceptMap" => {
                if let Some(terminology) = &self.validation.terminology {
                    terminology.add(resource);
                }
            }
            _ => {}
        }
    }

    /// Makes sure the validator knows the StructureDefinitions, CodeSystems and
    /// ValueSets clients stored, reading them (once) if it does not yet; every
    /// profile validation calls this first.
    pub async fn ensure_stored_definitions(&self) -> Result<(), Error> {
        self.stored_definitions
            .get_or_try_init(|| async {
                let validation = &self.validation;
                for resource_type in [
                    "StructureDefinition",
                    "CodeSystem",
                    "ValueSet",
                    "ConceptMap",
                ] {
                    reindex::each_stored(self, resource_type, |resource| {
                        let url = resource
                            .get("url")
                            .and_then(serde_json::Value::as_str)
                            .unwrap_or_default();
                        if resource_type == "StructureDefinition" {
                            if !validation.profiles.contains(url) {
                                validation.profiles.add(resource);
                            }
                        } else if let Some(terminology) = &validation.terminology {
                            if !terminology.contains(url) {
                                terminology.add(resource);
                            }
                        }
                    })
                    .await?;
                }
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    /// Makes the parameter a SearchParameter resource defines active (replacing
    /// any with its URL), for searches and for the writes that follow.
    pub fn activate_search_parameter(&self, resource: &serde_json::Value) {
        let Some(definition) = tillit_conformance::SearchParam::from_resource(resource) else {
            return;
        };
        if self.search_index().defines(&definition) {
            return;
        }
        let types: Vec<String> = self.registry.resource_types().map(str::to_owned).collect();
        let mut slot = self
            .search_index
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let updated = slot.with(definition, &types);
        *slot = Arc::new(updated);
    }

    /// Fails with [`Error::UnknownType`] unless `name` is a concrete resource type.
    pub fn check_type(&self, name: &str) -> Result<(), Error> {
        if self.registry.is_resource_type(name) {
            Ok(())
        } else {
            Err(Error::UnknownType(name.to_owned()))
        }
    }
}
