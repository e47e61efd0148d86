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
pub mod delete;
mod error;
pub mod history;
mod index;
pub mod packages;
pub mod params;
pub mod patch;
pub mod read;
mod resource;
pub mod search;
pub mod subset;
pub mod transaction;
pub mod update;
pub mod vread;

use std::sync::Arc;

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
    /// The public FHIR base URL, such as `http://127.0.0.1:8080/fhir`.
    pub base_url: String,
}

impl Repository {
    /// Fails with [`Error::UnknownType`] unless `name` is a concrete resource type.
    pub fn check_type(&self, name: &str) -> Result<(), Error> {
        if self.registry.is_resource_type(name) {
            Ok(())
        } else {
            Err(Error::UnknownType(name.to_owned()))
        }
    }
}
