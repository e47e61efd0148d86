//! Tillit's shared vocabulary: the small types every layer speaks.
//!
//! Nothing here knows HTTP, SQL or FHIRPath; the layers above meet in these types
//! without knowing each other.

pub mod deferred;
pub mod instant;
pub mod issue;
pub mod key;

pub use deferred::{Deferred, Loader};
pub use instant::{DateRange, Instant};
pub use issue::{operation_outcome, Issue, IssueSeverity, IssueType};
pub use key::{Id, InvalidId, ResourceKey, VersionId};
