//! What a search asks of a resource: a tree of conditions over its index rows,
//! its id, type and time, and over the resources it references or that
//! reference it. Callers build it from FHIR search parameters; the store turns
//! it into SQL.

use std::collections::BTreeMap;

use crate::index::IndexTable;

/// A condition on one resource.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// All of these hold (AND); true when empty.
    All(Vec<Condition>),
    /// At least one of these holds (OR); false when empty.
    Any(Vec<Condition>),
    /// This does not hold.
    Not(Box<Condition>),
    /// The logical id is one of these.
    Id(Vec<String>),
    /// The resource type is one of these (system search `_type`).
    Type(Vec<String>),
    /// `meta.lastUpdated` falls in one of these windows.
    LastUpdated(Vec<TimeWindow>),
    /// An index row of `param` passes one of `tests`.
    Match {
        /// The parameter code (as indexed).
        param: String,
        /// Alternatives; all must be tests on the same table.
        tests: Vec<ValueTest>,
    },
    /// The resource has no index row of `param` in `table` (or has one, when
    /// `missing` is false): `:missing`.
    Missing {
        /// The parameter code.
        param: String,
        /// The table its rows live in.
        table: IndexTable,
        /// `true` for `:missing=true`.
        missing: bool,
    },
    /// A reference of `param` points at a resource of one of `target_types`
    /// that meets `condition`: chaining (`subject:Patient.name=x`).
    Chain {
        /// The reference parameter on this resource.
        param: String,
        /// The types the reference may point at.
        target_types: Vec<String>,
        /// What the referenced resource must meet.
        condition: Box<Condition>,
    },
    /// A reference of one of `params` (pairs of resource type and parameter)
    /// points at `target_type/target_id`: compartment membership.
    Compartment {
        /// The compartment's reference parameters, per resource type.
        params: Vec<(String, String)>,
        /// The compartment type, such as `Patient`.
        target_type: String,
        /// The compartment owner's id.
        target_id: String,
    },
    /// A resource of `source_type` whose reference parameter `param` points at
    /// this one meets `condition`: reverse chaining (`_has`).
    Has {
        /// The type of the referring resource.
        source_type: String,
        /// Its reference parameter.
        param: String,
        /// What the referring resource must meet.
        condition: Box<Condition>,
    },
}

/// A window of time `[from, to)` in milliseconds, `None` meaning open; with
/// `negate`, times outside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    /// The first millisecond inside, if bounded.
    pub from: Option<i64>,
    /// The first millisecond after, if bounded.
    pub to: Option<i64>,
    /// Match times outside the window instead.
    pub negate: bool,
}

/// The comparison prefixes of number, date and quantity parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefix {
    /// `eq`: the value's range lies within the search range.
    Eq,
    /// `ne`: it does not.
    Ne,
    /// `gt`: the value reaches above the search range.
    Gt,
    /// `lt`: the value reaches below the search range.
    Lt,
    /// `ge`: the value reaches the search range or above.
    Ge,
    /// `le`: the value reaches the search range or below.
    Le,
    /// `sa`: the value starts after the search range.
    Sa,
    /// `eb`: the value ends before the search range.
    Eb,
    /// `ap`: the value overlaps the (widened) search range.
    Ap,
}

impl Prefix {
    /// The prefix at the start of a search value, and the rest; `eq` when there is none.
    pub fn split(value: &str) -> (Prefix, &str) {
        let prefix = match value.get(..2) {
            Some("eq") => Prefix::Eq,
            Some("ne") => Prefix::Ne,
            Some("gt") => Prefix::Gt,
            Some("lt") => Prefix::Lt,
            Some("ge") => Prefix::Ge,
            Some("le") => Prefix::Le,
            Some("sa") => Prefix::Sa,
            Some("eb") => Prefix::Eb,
            Some("ap") => Prefix::Ap,
            _ => return (Prefix::Eq, value),
        };
        (prefix, &value[2..])
    }
}

/// How a string parameter compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StringTest {
    /// The folded value starts with this folded text (the default).
    Prefix(String),
    /// The value equals this text exactly (`:exact`).
    Exact {
        /// The text folded, for the index.
        folded: String,
        /// The text as written.
        exact: String,
    },
    /// The folded value contains this folded text (`:contains`).
    Contains(String),
}

/// How a uri parameter compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UriTest {
    /// Equal.
    Exact(String),
    /// The value is this uri or a prefix of it by path (`:above`).
    Above(String),
    /// The value starts with this uri (`:below`).
    Below(String),
}

/// A test on one index row of a parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueTest {
    /// On `search_string`.
    String(StringTest),
    /// On `search_token`: `None` matches anything, `Some("")` only rows without a system.
    Token {
        /// The system, if constrained.
        system: Option<String>,
        /// The code, if constrained.
        code: Option<String>,
    },
    /// On `search_date`, with the search value's range `[low, high)` in ms.
    Date {
        /// The comparison.
        prefix: Prefix,
        /// The first millisecond of the search value.
        low: i64,
        /// The first millisecond after it.
        high: i64,
    },
    /// On `search_date`: several date tests that one row must all pass
    /// (`date=ge2024-01-01&date=lt2024-02-01` on a single-valued date).
    DateAll(Vec<(Prefix, i64, i64)>),
    /// On `search_number`: the search value's implicit range `[low, high)` and its value.
    Number {
        /// The comparison.
        prefix: Prefix,
        /// The value as written.
        value: f64,
        /// The lower end of its implicit range.
        low: f64,
        /// The upper end of its implicit range.
        high: f64,
    },
    /// On `search_quantity`: a number test in a unit (`None` for any unit).
    Quantity {
        /// The unit system, if given.
        system: Option<String>,
        /// The unit code, if given.
        code: Option<String>,
        /// The comparison.
        prefix: Prefix,
        /// The value as written.
        value: f64,
        /// The lower end of its implicit range.
        low: f64,
        /// The upper end of its implicit range.
        high: f64,
    },
    /// On `search_reference`.
    Reference {
        /// The target type, if constrained; empty for URLs.
        target_type: Option<String>,
        /// The target id or URL.
        target_id: String,
        /// The version, if constrained.
        version: Option<String>,
    },
    /// On `search_uri`.
    Uri(UriTest),
    /// On `search_composite`: the first component as a token, the second as a
    /// token or folded string (`second_code`) or as a range.
    Composite {
        /// The first component's system, if given.
        system: Option<String>,
        /// The first component's code.
        code: String,
        /// The second component.
        second: Box<ValueTest>,
    },
}

impl ValueTest {
    /// The table the test reads.
    pub fn table(&self) -> IndexTable {
        match self {
            ValueTest::String(_) => IndexTable::String,
            ValueTest::Token { .. } => IndexTable::Token,
            ValueTest::Date { .. } | ValueTest::DateAll(_) => IndexTable::Date,
            ValueTest::Number { .. } => IndexTable::Number,
            ValueTest::Quantity { .. } => IndexTable::Quantity,
            ValueTest::Reference { .. } => IndexTable::Reference,
            ValueTest::Uri(_) => IndexTable::Uri,
            ValueTest::Composite { .. } => IndexTable::Composite,
        }
    }
}

/// What a caller may see: per resource type, a condition every resource of
/// that type must meet (types not listed are fully visible). The store joins
/// it into every query it runs for the caller — matches, chained and `_has`
/// resources, `_include`d and `_revinclude`d ones, counts — so hidden resources
/// never reach a page, a count or a chain. Access policies build it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Visibility {
    /// The condition for each restricted type.
    pub per_type: BTreeMap<String, Condition>,
}

impl Visibility {
    /// Whether nothing is restricted.
    pub fn is_open(&self) -> bool {
        self.per_type.is_empty()
    }
}
