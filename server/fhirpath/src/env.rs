//! The evaluation environment: the type model, `%variables` and the hooks to the rest of the
//! server (reference resolution, terminology, profile validation, tracing).

use std::sync::Arc;

use serde_json::Value as Json;

use crate::item::{Item, Value};
use crate::model::Model;
use crate::number;

/// Finds the resource a reference points to, for `resolve()`.
pub trait Resolver: Send + Sync {
    /// The resource `reference` names (`Patient/1`, an absolute URL, `urn:uuid:…`), if known.
    /// The resolver owns what it hands out, e.g. the entries of a transaction bundle.
    fn resolve(&self, reference: &str) -> Option<&Json>;
}

/// Answers `memberOf()`.
pub trait Terminology: Send + Sync {
    /// Whether `code` (of `system`, when known) is in the value set with canonical URL
    /// `value_set`; `None` when the answer is unknown, which makes `memberOf()` empty.
    fn member_of(&self, system: Option<&str>, code: &str, value_set: &str) -> Option<bool>;
}

/// Answers `conformsTo()`.
pub trait Validator: Send + Sync {
    /// Whether `resource` conforms to the profile with canonical URL `profile`; `None` when the
    /// profile is unknown, which makes `conformsTo()` an error.
    fn conforms_to(&self, resource: &Json, profile: &str) -> Option<bool>;
}

/// Receives what `trace()` sees.
pub type TraceFn<'e> = dyn Fn(&str, &[Item<'_>]) + Send + Sync + 'e;

/// A variable's value.
#[derive(Clone, Debug)]
pub(crate) enum Variable<'e> {
    Items(Vec<Item<'e>>),
    /// A JSON object given by value: it cannot be borrowed for the result's lifetime.
    Unsupported,
}

/// Everything an evaluation needs besides the expression and the resource.
///
/// Build one per request (or once, if no variables vary) and pass it by reference; building is
/// cheap. `'e` is the lifetime of the model and of whatever the variables and hooks borrow.
#[derive(Clone)]
pub struct Environment<'e> {
    pub(crate) model: &'e Model,
    pub(crate) variables: Vec<(Box<str>, Variable<'e>)>,
    pub(crate) resolver: Option<&'e dyn Resolver>,
    pub(crate) terminology: Option<&'e dyn Terminology>,
    pub(crate) validator: Option<&'e dyn Validator>,
    pub(crate) trace: Option<&'e TraceFn<'e>>,
    pub(crate) strict: bool,
    pub(crate) as_filters: bool,
}

/// Converts a JSON primitive (or array of them) into System values.
fn system_values<'e>(value: &Json, out: &mut Vec<Item<'e>>) -> bool {
    match value {
        Json::Null => true,
        Json::Bool(b) => {
            out.push(Item::Value(Value::Boolean(*b)));
            true
        }
        Json::String(s) => {
            out.push(Item::Value(Value::String(Arc::from(s.as_str()))));
            true
        }
        Json::Number(n) => {
            let text = n.as_str();
            let item = match text.parse::<i64>() {
                Ok(i) if !text.contains(['.', 'e', 'E']) => Some(Value::Integer(i)),
                _ => number::parse_decimal(text).map(Value::Decimal),
            };
            out.extend(item.map(Item::Value));
            true
        }
        Json::Array(values) => values
            .iter()
            .all(|v| !v.is_array() && system_values(v, out)),
        Json::Object(_) => false,
    }
}

impl<'e> Environment<'e> {
    /// An environment with the model and nothing else: `%resource`, `%context` and
    /// `%rootResource` are the evaluated resource, `resolve()` only knows references inside it.
    pub fn new(model: &'e Model) -> Self {
        Environment {
            model,
            variables: Vec::new(),
            resolver: None,
            terminology: None,
            validator: None,
            trace: None,
            strict: false,
            as_filters: false,
        }
    }

    /// The model.
    pub fn model(&self) -> &'e Model {
        self.model
    }

    /// Adds `%name` with a JSON value: strings, numbers and booleans (or arrays of them) become
    /// System values. A JSON object cannot be kept by value (results borrow what they navigate):
    /// referring to it is an error; pass objects with [`Environment::with_node_variable`].
    pub fn with_variable(mut self, name: &str, value: Json) -> Self {
        let mut items = Vec::new();
        let variable = if system_values(&value, &mut items) {
            Variable::Items(items)
        } else {
            Variable::Unsupported
        };
        self.set(name, variable);
        self
    }

    /// Adds `%name` as a borrowed node (a resource, typed by its `resourceType`, or an element).
    pub fn with_node_variable(mut self, name: &str, value: &'e Json) -> Self {
        let item = crate::eval::root_item(self.model, value);
        self.set(name, Variable::Items(item.into_iter().collect()));
        self
    }

    /// Adds `%name` with ready-made items, e.g. the result of another evaluation.
    pub fn with_items(mut self, name: &str, items: Vec<Item<'e>>) -> Self {
        self.set(name, Variable::Items(items));
        self
    }

    fn set(&mut self, name: &str, variable: Variable<'e>) {
        self.variables.retain(|(existing, _)| &**existing != name);
        self.variables.push((name.into(), variable));
    }

    /// Lets `resolve()` ask `resolver` before looking inside the resource.
    pub fn with_resolver(mut self, resolver: &'e dyn Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Lets `memberOf()` ask `terminology`.
    pub fn with_terminology(mut self, terminology: &'e dyn Terminology) -> Self {
        self.terminology = Some(terminology);
        self
    }

    /// Lets `conformsTo()` ask `validator`.
    pub fn with_validator(mut self, validator: &'e dyn Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// Sends what `trace(name)` sees to `trace`.
    pub fn with_trace(mut self, trace: &'e TraceFn<'e>) -> Self {
        self.trace = Some(trace);
        self
    }

    /// With `true`, `as(Type)` on several items keeps those of the type, as
    /// `ofType()` does, instead of failing: FHIR's own invariants (`dom-3`:
    /// `descendants().as(canonical)`) rely on it, and the HL7 Java engine allows it.
    pub fn with_as_filtering(mut self, filters: bool) -> Self {
        self.as_filters = filters;
        self
    }

    /// Strict mode: names that are not elements of a known type, a path starting with a type
    /// the context is not, and order-dependent functions on `children()`/`descendants()` are
    /// errors instead of empty results.
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    pub(crate) fn variable(&self, name: &str) -> Option<&Variable<'e>> {
        self.variables
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }
}
