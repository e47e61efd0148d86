//! Tillit's conformance layer: FHIR packages, the registry of definitions loaded
//! from them, and the structural validator that checks resources against the
//! base StructureDefinitions.
//!
//! Everything here lives in memory after start-up and never sees the database
//! or HTTP, so the CLI can use it as well as the server.

pub mod package;
pub mod registry;
pub mod structure;

pub use package::{Package, PackageError, PackageSource};
pub use registry::{Registry, SearchParam};
pub use structure::path::{Path, Step};
pub use structure::StructureValidator;
