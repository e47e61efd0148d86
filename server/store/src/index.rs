//! Search index rows: the typed values a resource's search parameters extract,
//! stored in one table per value type next to the resource's current version.
//!
//! Rows point at resources by their integer `rid` and at parameters by a
//! [`param_id`], a stable hash of the resource type and parameter code, so a
//! row is a few integers and the value, and an index on `(pid, value)` is
//! selective for one parameter of one resource type.

/// One value of one search parameter of a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexRow {
    /// The parameter code, such as `birthdate`, or a derived code such as
    /// `code:text` for the texts that token parameters search with `:text`.
    pub param: String,
    /// The value, typed as the parameter's table stores it.
    pub value: IndexValue,
}

/// An indexed value, one variant per index table.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexValue {
    /// A string parameter's value: folded for the default and `:contains`
    /// searches, and as written for `:exact`.
    String {
        /// Lower case without accents.
        folded: String,
        /// The text as written.
        exact: String,
    },
    /// A token: a system (empty when there is none) and a code.
    Token {
        /// The code system or identifier system; empty when there is none.
        system: String,
        /// The code, identifier value or boolean.
        code: String,
    },
    /// A date, period or instant as the milliseconds it covers, `[low, high)`;
    /// open ends are `i64::MIN` and `i64::MAX`.
    Date {
        /// The first millisecond covered.
        low: i64,
        /// The first millisecond after the value.
        high: i64,
    },
    /// A number as the closed range of values it stands for (a point for
    /// exact values).
    Number {
        /// The lowest value.
        low: f64,
        /// The highest value.
        high: f64,
    },
    /// A quantity in one unit; canonical UCUM units are indexed as a second row.
    Quantity {
        /// The unit system; empty when there is none.
        system: String,
        /// The unit code (or the unit text when there is no code).
        code: String,
        /// The lowest value.
        low: f64,
        /// The highest value.
        high: f64,
    },
    /// A reference: local ones by type and id, others (absolute URLs outside
    /// this server, canonicals) with an empty type and the URL as id.
    Reference {
        /// The target resource type; empty for URLs.
        target_type: String,
        /// The target id, or the URL.
        target_id: String,
        /// The version the reference names (`_history` or canonical `|version`); empty if none.
        version: String,
    },
    /// A uri, url or canonical value, compared as written.
    Uri(String),
    /// One repetition of a composite parameter: its first component as a token
    /// and its second as a token, string or range.
    Composite {
        /// The first component's system.
        system: String,
        /// The first component's code.
        code: String,
        /// The second component: its system, code or folded text.
        second_system: String,
        /// The second component's code or folded text; empty for ranges.
        second_code: String,
        /// The second component's range low (numbers, quantities, dates in ms); 0 otherwise.
        low: f64,
        /// The second component's range high; 0 otherwise.
        high: f64,
    },
    /// The parameter's element is present but gave no searchable value: it
    /// only answers `:missing`.
    Present,
}

/// The index tables, one per value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexTable {
    /// `search_string`.
    String,
    /// `search_token`.
    Token,
    /// `search_date`.
    Date,
    /// `search_number`.
    Number,
    /// `search_quantity`.
    Quantity,
    /// `search_reference`.
    Reference,
    /// `search_uri`.
    Uri,
    /// `search_composite`.
    Composite,
    /// `search_present`: parameters whose expression found an element that
    /// gave no searchable value (a CodeableConcept with only text, a Reference
    /// with only a display), so `:missing` still sees it.
    Present,
}

impl IndexTable {
    /// Every table, for clearing a resource's rows.
    pub const ALL: [IndexTable; 9] = [
        IndexTable::String,
        IndexTable::Token,
        IndexTable::Date,
        IndexTable::Number,
        IndexTable::Quantity,
        IndexTable::Reference,
        IndexTable::Uri,
        IndexTable::Composite,
        IndexTable::Present,
    ];

    /// The SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            IndexTable::String => "search_string",
            IndexTable::Token => "search_token",
            IndexTable::Date => "search_date",
            IndexTable::Number => "search_number",
            IndexTable::Quantity => "search_quantity",
            IndexTable::Reference => "search_reference",
            IndexTable::Uri => "search_uri",
            IndexTable::Composite => "search_composite",
            IndexTable::Present => "search_present",
        }
    }

    /// The value columns after `rid` and `pid`, in insert order.
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            IndexTable::String => &["folded", "exact"],
            IndexTable::Token => &["system", "code"],
            IndexTable::Date | IndexTable::Number => &["low", "high"],
            IndexTable::Quantity => &["system", "code", "low", "high"],
            IndexTable::Reference => &["target_type", "target_id", "version"],
            IndexTable::Uri => &["value"],
            IndexTable::Composite => &[
                "system",
                "code",
                "second_system",
                "second_code",
                "low",
                "high",
            ],
            IndexTable::Present => &[],
        }
    }
}

impl IndexValue {
    /// The table this value lives in.
    pub fn table(&self) -> IndexTable {
        match self {
            IndexValue::String { .. } => IndexTable::String,
            IndexValue::Token { .. } => IndexTable::Token,
            IndexValue::Date { .. } => IndexTable::Date,
            IndexValue::Number { .. } => IndexTable::Number,
            IndexValue::Quantity { .. } => IndexTable::Quantity,
            IndexValue::Reference { .. } => IndexTable::Reference,
            IndexValue::Uri(_) => IndexTable::Uri,
            IndexValue::Composite { .. } => IndexTable::Composite,
            IndexValue::Present => IndexTable::Present,
        }
    }

    /// The column values in [`IndexTable::columns`] order.
    pub(crate) fn sql_values(&self) -> Vec<sea_orm::Value> {
        match self {
            IndexValue::String { folded, exact } => {
                vec![folded.clone().into(), exact.clone().into()]
            }
            IndexValue::Token { system, code } => vec![system.clone().into(), code.clone().into()],
            IndexValue::Date { low, high } => vec![(*low).into(), (*high).into()],
            IndexValue::Number { low, high } => vec![(*low).into(), (*high).into()],
            IndexValue::Quantity {
                system,
                code,
                low,
                high,
            } => vec![
                system.clone().into(),
                code.clone().into(),
                (*low).into(),
                (*high).into(),
            ],
            IndexValue::Reference {
                target_type,
                target_id,
                version,
            } => vec![
                target_type.clone().into(),
                target_id.clone().into(),
                version.clone().into(),
            ],
            IndexValue::Uri(value) => vec![value.clone().into()],
            IndexValue::Composite {
                system,
                code,
                second_system,
                second_code,
                low,
                high,
            } => vec![
                system.clone().into(),
                code.clone().into(),
                second_system.clone().into(),
                second_code.clone().into(),
                (*low).into(),
                (*high).into(),
            ],
            IndexValue::Present => Vec::new(),
        }
    }
}

/// The id of parameter `code` of `resource_type` in the index tables: the
/// 64-bit FNV-1a hash of `Type.code`, kept to 63 bits so it is a positive
/// BIGINT. Stable across releases and processes, so no registry table is needed;
/// with a few thousand parameters a collision is about as likely as a cosmic-ray
/// bit flip (p ≈ 10⁻¹²).
pub fn param_id(resource_type: &str, code: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in resource_type
        .bytes()
        .chain(std::iter::once(b'.'))
        .chain(code.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_ids_are_stable_and_positive() {
        assert_eq!(param_id("Patient", "name"), param_id("Patient", "name"));
        assert_ne!(
            param_id("Patient", "name"),
            param_id("Practitioner", "name")
        );
        assert_ne!(param_id("Patient", "name"), param_id("Patien", "tname"));
        assert!(param_id("Observation", "code") > 0);
    }
}
