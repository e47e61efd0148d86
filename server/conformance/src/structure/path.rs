//! The walker's position in a resource as a stack of borrowed steps, turned
//! into a FHIRPath expression such as `Patient.name[0].given[1]` only when an
//! issue is reported, so a valid resource costs no string building.

use std::fmt::Write;

/// One step down: an element name, the type picked for a choice element, and
/// the index when the element repeats.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// The element name (without `[x]`), or an unknown JSON property.
    pub name: &'a str,
    /// The type of a choice element, rendered as `.ofType(Quantity)`.
    pub of_type: Option<&'a str>,
    /// The array index, for elements that repeat.
    pub index: Option<usize>,
}

impl<'a> Step<'a> {
    /// A step to element or property `name`.
    pub fn to(name: &'a str) -> Step<'a> {
        Step {
            name,
            of_type: None,
            index: None,
        }
    }
}

/// The steps from the outermost resource to the current value.
#[derive(Clone, Debug, Default)]
pub struct Path<'a> {
    steps: Vec<Step<'a>>,
}

impl<'a> Path<'a> {
    /// Goes one step down.
    pub fn push(&mut self, step: Step<'a>) {
        self.steps.push(step);
    }

    /// Goes one step up.
    pub fn pop(&mut self) {
        self.steps.pop();
    }

    /// Whether no step has been taken (the walker is at the outermost resource
    /// before its type is known).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The FHIRPath expression of the current position, followed by `extra`.
    pub fn render(&self, extra: Option<Step<'_>>) -> String {
        let mut out = String::with_capacity(64);
        for step in self.steps.iter().chain(extra.as_ref()) {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(step.name);
            if let Some(of_type) = step.of_type {
                let _ = write!(out, ".ofType({of_type})");
            }
            if let Some(index) = step.index {
                let _ = write!(out, "[{index}]");
            }
        }
        if out.is_empty() {
            out.push_str("Resource");
        }
        out
    }
}
