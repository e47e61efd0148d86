//! Tillit's profile validator. A resource is checked in one pass per profile,
//! reporting every problem found:
//! - structure against the base definitions (the conformance crate's
//!   [`StructureValidator`]: known elements, JSON types, cardinality, primitives);
//! - every invariant of every element by FHIRPath, with its severity;
//! - each profile's cardinalities (inside slices too), choice-type
//!   restrictions, `fixed[x]`, `pattern[x]`, `minValue`/`maxValue`, `maxLength`;
//! - slicing by `value`, `pattern`, `exists`, `type` and `profile`
//!   discriminators, with `closed`/`open`/`openAtEnd` rules, ordering and re-slicing;
//! - extensions by URL (an unknown extension is a warning, an unknown
//!   modifier extension an error) against their definitions;
//! - references: target types, contained targets, and `urn:uuid:` references
//!   inside a Bundle;
//! - nested resources (Bundle entries, contained) against their own base
//!   definition and declared profiles.
//!
//! - bindings (required: error; extensible: warning; preferred and example:
//!   information) and codes that do not exist in a complete code system, with
//!   a [`Terminology`];
//!
//! Profiles come from [`Profiles`], compiled on first use; those that arrive
//! with only a differential get a snapshot generated.

mod compare;
mod position;
mod profile;
mod repository;
mod snapshot;
mod walk;

use std::sync::Arc;

use serde_json::Value;
use tillit_conformance::StructureValidator;
use tillit_fhirpath::Model;
use tillit_model::{Issue, IssueSeverity, IssueType};
use tillit_terminology::Terminology;

pub use position::locate;
pub use profile::Profile;
pub use repository::Profiles;
use walk::{declared_profiles, Walk};

/// Everything validation needs, built once at start-up and shared.
#[derive(Clone)]
pub struct Validator {
    /// The structural checker of the base definitions.
    pub structure: Arc<StructureValidator>,
    /// The StructureDefinitions known, by canonical URL.
    pub profiles: Arc<Profiles>,
    /// The FHIRPath type model, for invariants and discriminators.
    pub model: Arc<Model>,
    /// Code systems and value sets, for bindings and codes; without it neither is checked.
    pub terminology: Option<Arc<Terminology>>,
    /// The severity of a failed best-practice invariant (such as `dom-6`,
    /// narrative); `None` leaves them unchecked. A warning unless set.
    pub best_practice: Option<IssueSeverity>,
}

impl Validator {
    /// A validator over these parts.
    pub fn new(
        structure: Arc<StructureValidator>,
        profiles: Arc<Profiles>,
        model: Arc<Model>,
    ) -> Validator {
        Validator {
            structure,
            profiles,
            model,
            terminology: None,
            best_practice: Some(IssueSeverity::Warning),
        }
    }

    /// The same validator reporting failed best-practice invariants with
    /// `severity`, or not checking them (`None`).
    pub fn with_best_practice(mut self, severity: Option<IssueSeverity>) -> Validator {
        self.best_practice = severity;
        self
    }

    /// The same validator checking bindings and codes against `terminology`.
    pub fn with_terminology(mut self, terminology: Arc<Terminology>) -> Validator {
        self.terminology = Some(terminology);
        self
    }

    /// Every problem of `resource`: its structure, the invariants of its base
    /// definition, and the rules of the profiles it declares (`meta.profile`) and
    /// of `profiles`. A declared profile that is not known is a warning; an asked-for
    /// one an error, since the answer could not be given.
    pub fn validate(&self, resource: &Value, profiles: &[&str]) -> Vec<Issue> {
        let mut issues = self.structure.validate(resource);
        if issues.iter().any(|i| i.severity == IssueSeverity::Fatal) {
            return issues;
        }
        issues.extend(self.profile_issues(resource, profiles));
        issues
    }

    /// What [`Validator::validate`] finds beyond the structural check, for
    /// callers that have run that check already.
    pub fn profile_issues(&self, resource: &Value, profiles: &[&str]) -> Vec<Issue> {
        let mut issues = Vec::new();
        let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
            return issues;
        };
        let mut walk = Walk::new(self);
        let mut checked = 0;
        for (url, asked) in profiles
            .iter()
            .map(|p| (*p, true))
            .chain(declared_profiles(resource).map(|p| (p, false)))
        {
            match self.profiles.get(url) {
                Some(profile) if &*profile.type_name == resource_type => {
                    walk.resource(resource, &profile);
                    checked += 1;
                }
                Some(profile) => issues.push(Issue {
                    expression: Some(resource_type.to_owned()),
                    ..Issue::error(
                        IssueType::Invalid,
                        format!("the profile {url} constrains {}, not {resource_type}", profile.type_name),
                    )
                }),
                None => issues.push(Issue {
                    severity: if asked {
                        IssueSeverity::Error
                    } else {
                        IssueSeverity::Warning
                    },
                    expression: Some(format!("{resource_type}.meta.profile")),
                    ..Issue::error(
                        IssueType::NotSupported,
                        format!("the profile {url} is not known, so the resource was not checked against it"),
                    )
                }),
            }
        }
        if checked == 0 {
            if let Some(base) = self.profiles.base(resource_type) {
                walk.resource(resource, &base);
            }
        }
        issues.extend(walk.finish());
        if resource_type == "StructureDefinition" {
            issues.extend(self.differential_issues(resource));
        }
        issues
    }

    /// The mistakes of a StructureDefinition's differential against its base:
    /// elements that match nothing there, and fixed values it contradicts.
    fn differential_issues(&self, definition: &Value) -> Vec<Issue> {
        let Some((_, problems)) = snapshot::generate(definition, &*self.profiles) else {
            return Vec::new();
        };
        problems
            .into_iter()
            .map(|problem| Issue {
                expression: Some(format!(
                    "StructureDefinition.differential.element[{}]",
                    problem.element
                )),
                ..Issue::error(IssueType::Invalid, problem.message)
            })
            .collect()
    }
}

impl tillit_fhirpath::Validator for Validator {
    fn conforms_to(&self, resource: &Value, profile: &str) -> Option<bool> {
        let compiled = self.profiles.get(profile)?;
        let mut walk = Walk::new(self);
        walk.resource(resource, &compiled);
        let errors = walk
            .finish()
            .iter()
            .any(|i| matches!(i.severity, IssueSeverity::Error | IssueSeverity::Fatal));
        Some(!errors && self.structure.validate(resource).is_empty())
    }
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").finish_non_exhaustive()
    }
}
