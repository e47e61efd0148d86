//! Tillit's FHIRPath engine: expressions compiled once and evaluated many times over FHIR R4
//! JSON (`serde_json::Value`), typed by a [`Model`] built from StructureDefinitions.
//! <https://hl7.org/fhirpath/N1/> and <https://hl7.org/fhir/R4/fhirpath.html>
//!
//! ```
//! use tillit_fhirpath::{Environment, Expression, Model};
//!
//! let model = Model::default(); // in the server: Model::from_definitions(core package)
//! let expression = Expression::parse("Patient.name.where(use = 'official').given.first()").unwrap();
//! let patient = serde_json::json!({"resourceType": "Patient",
//!     "name": [{"use": "official", "given": ["Peter", "James"]}]});
//! let result = expression.evaluate(&patient, &Environment::new(&model)).unwrap();
//! assert_eq!(result[0].as_str(), Some("Peter"));
//! ```
//!
//! Items borrow from the resource: navigation never copies JSON. Numbers keep the text they
//! were written with (the workspace enables `serde_json`'s `arbitrary_precision`), so decimal
//! precision survives. Evaluation never panics; errors carry an [`ErrorKind`]. Nesting is
//! limited when parsing (unions, `and` and `or` chains excepted), which bounds the recursion of
//! evaluation; `repeat()` stops with an error after 50,000 items.
//!
//! Deliberate choices:
//! - `expr as Type` over several items keeps those of the type (R4 search parameters such as
//!   `(ActivityDefinition.useContext.value as CodeableConcept)` need it); the function form
//!   `expr.as(Type)` follows the specification and fails on more than one item, as the HL7
//!   suite requires.
//! - `as` and `ofType()` match FHIR primitive types exactly (`code` is not `as` a `string`,
//!   `canonical` not `as` a `uri`), while `is` follows inheritance, as the HL7 suite requires;
//!   complex types and resources follow inheritance everywhere (`Age` is a `Quantity`).
//! - A choice element's typed name (`Observation.valueQuantity`) is an error; use
//!   `Observation.value` or `Observation.value.ofType(Quantity)`.
//! - `resolve()` without a [`Resolver`] still types references (`Patient/1` gives an item of
//!   type `Patient` without content), resolves `#id` to contained resources and finds entries of
//!   a bundle being evaluated.
//! - Quantities convert between units of a small built-in table (see [`Quantity`]).
//! - `now()` and `today()` are in UTC.
//! - Beyond FHIRPath N1: `defineVariable()`, `sort()`, `matchesFull()`, `lastIndexOf()`,
//!   `repeatAll()`, `sum()`/`min()`/`max()`/`avg()`, the `yearOf()` family, `hasExtension()`.

mod ast;
mod env;
mod error;
mod eval;
mod item;
mod lexer;
mod model;
mod number;
mod parser;
mod quantity;
mod temporal;

pub use env::{Environment, Resolver, Terminology, TraceFn, Validator};
pub use error::{Error, ErrorKind};
pub use item::{Collection, Item, Node, Value};
pub use model::Model;
pub use quantity::Quantity;
pub use rust_decimal::Decimal;
pub use temporal::{DateTime, Precision, Time};

/// A compiled FHIRPath expression. `Send + Sync`; share it behind an `Arc`.
#[derive(Debug)]
pub struct Expression {
    text: Box<str>,
    root: ast::Expr,
}

impl Expression {
    /// Parses and compiles `text`. Syntax errors and semantic errors that need no data
    /// (unknown functions, wrong argument counts, invalid literal patterns) are reported here.
    pub fn parse(text: &str) -> Result<Expression, Error> {
        let root = parser::parse(text)?;
        Ok(Expression {
            text: text.into(),
            root,
        })
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates against `resource`, which is also `%resource`, `%rootResource` and
    /// `%context`. JSON `null` means "no context": the input collection is empty.
    ///
    /// The result borrows from `resource` and from what `env` borrows (variables, resolved
    /// resources), hence the shared lifetime.
    pub fn evaluate<'a>(
        &self,
        resource: &'a serde_json::Value,
        env: &Environment<'a>,
    ) -> Result<Collection<'a>, Error> {
        eval::Evaluator::run(&self.root, resource, env)
    }

    /// Evaluates with `focus` as the input collection (`$this` and `%context`), inside
    /// `resource` (`%resource`), which is `root` itself or a resource `root` contains (`%rootResource`):
    /// how invariants and slice discriminators are evaluated on an element deep in a resource.
    /// Build the focus with [`Model::node`].
    pub fn evaluate_at<'a>(
        &self,
        focus: &[Item<'a>],
        resource: &'a serde_json::Value,
        root: &'a serde_json::Value,
        env: &Environment<'a>,
    ) -> Result<Collection<'a>, Error> {
        eval::Evaluator::run_at(&self.root, focus, resource, root, env)
    }

    /// Evaluates and reads the result as a Boolean the way invariants and `where()` do: empty
    /// is `None`, a single Boolean is itself, any other single item is `true`.
    pub fn evaluate_bool(
        &self,
        resource: &serde_json::Value,
        env: &Environment<'_>,
    ) -> Result<Option<bool>, Error> {
        let items = self.evaluate(resource, env)?;
        match items.as_slice() {
            [] => Ok(None),
            [Item::Value(Value::Boolean(b))] => Ok(Some(*b)),
            [Item::Node(node)]
                if node.value.and_then(serde_json::Value::as_bool).is_some()
                    && node.type_name == "boolean" =>
            {
                Ok(node.value.and_then(serde_json::Value::as_bool))
            }
            [_] => Ok(Some(true)),
            _ => Err(Error::execution(
                "expected a single Boolean, found a collection",
            )),
        }
    }
}

impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
