//! Equality (`=`), equivalence (`~`) and ordering of items, with implicit conversions
//! (Integer to Decimal, Date to DateTime, FHIR primitives to System values) and unit-aware
//! quantities. "Unknown" results (different date precisions, incomparable units) are `None`.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use serde_json::Value as Json;

use super::Evaluator;
use crate::error::{Error, Result};
use crate::item::{Item, Prim};
use crate::number;

/// Collapses runs of whitespace and trims, for string equivalence.
fn normalized(s: &str) -> impl Iterator<Item = char> + '_ {
    s.split_whitespace().enumerate().flat_map(|(i, word)| (i > 0).then_some(' ').into_iter().chain(word.chars()))
}

fn strings_equivalent(a: &str, b: &str) -> bool {
    let lower = |c: char| c.to_lowercase();
    normalized(a).flat_map(lower).eq(normalized(b).flat_map(lower))
}

/// Structural JSON equality where numbers compare by value (`1.0` equals `1.00`).
fn json_equal(a: &Json, b: &Json, equivalent: bool) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            match (number::parse_decimal(x.as_str()), number::parse_decimal(y.as_str())) {
                (Some(x), Some(y)) if equivalent => number::decimal_equivalent(x, y),
                (Some(x), Some(y)) => x == y,
                _ => x.as_str() == y.as_str(),
            }
        }
        (Json::String(x), Json::String(y)) if equivalent => strings_equivalent(x, y),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y, equivalent)),
        (Json::Object(x), Json::Object(y)) => {
            // Equivalence ignores ids, as the specification allows.
            let relevant = |k: &String| !equivalent || k != "id";
            x.iter().filter(|(k, _)| relevant(k)).count() == y.iter().filter(|(k, _)| relevant(k)).count()
                && x.iter().filter(|(k, _)| relevant(k)).all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w, equivalent)))
        }
        _ => a == b,
    }
}

fn as_decimal(p: &Prim<'_>) -> Option<Decimal> {
    match p {
        Prim::Integer(i) => Some(Decimal::from(*i)),
        Prim::Decimal(d) => Some(*d),
        _ => None,
    }
}

impl<'x, 'a> Evaluator<'x, 'a> {
    /// `a = b` for single items: `Some(true|false)`, or `None` when unknown.
    pub(crate) fn items_equal(&self, a: &Item<'a>, b: &Item<'a>) -> Option<bool> {
        if let (Item::Node(x), Item::Node(y)) = (a, b) {
            if let (Some(vx), Some(vy)) = (x.value, y.value) {
                if std::ptr::eq(vx, vy) {
                    return Some(true);
                }
                if vx.is_object() || vy.is_object() {
                    return Some(json_equal(vx, vy, false));
                }
            }
        }
        let (Some(pa), Some(pb)) = (a.prim(self.model), b.prim(self.model)) else {
            return Some(false);
        };
        prims_equal(&pa, &pb)
    }

    /// `a ~ b` for single items.
    pub(crate) fn items_equivalent(&self, a: &Item<'a>, b: &Item<'a>) -> bool {
        if let (Item::Node(x), Item::Node(y)) = (a, b) {
            if let (Some(vx), Some(vy)) = (x.value, y.value) {
                if vx.is_object() || vy.is_object() {
                    return json_equal(vx, vy, true);
                }
            }
        }
        let (Some(pa), Some(pb)) = (a.prim(self.model), b.prim(self.model)) else {
            return false;
        };
        match (&pa, &pb) {
            (Prim::String(x), Prim::String(y)) => strings_equivalent(x, y),
            (Prim::Date(x) | Prim::DateTime(x), Prim::Date(y) | Prim::DateTime(y)) => x.equivalent(y),
            (Prim::Time(x), Prim::Time(y)) => x.equivalent(y),
            (Prim::Quantity(x), Prim::Quantity(y)) => x.equivalent(y),
            _ => match (as_decimal(&pa), as_decimal(&pb)) {
                (Some(x), Some(y)) => number::decimal_equivalent(x, y),
                _ => prims_equal(&pa, &pb) == Some(true),
            },
        }
    }

    /// Orders two single items for `<`, `>`, …; `Ok(None)` when unknown, an error when the
    /// types cannot be compared.
    pub(crate) fn items_order(&self, a: &Item<'a>, b: &Item<'a>) -> Result<Option<Ordering>> {
        let incomparable = || Error::execution(format!("cannot compare {} with {}", a.type_name(), b.type_name()));
        let (Some(pa), Some(pb)) = (a.prim(self.model), b.prim(self.model)) else {
            return Err(incomparable());
        };
        Ok(match (&pa, &pb) {
            (Prim::String(x), Prim::String(y)) => Some(x.cmp(y)),
            (Prim::Date(x) | Prim::DateTime(x), Prim::Date(y) | Prim::DateTime(y)) => x.compare(y),
            (Prim::Time(x), Prim::Time(y)) => x.compare(y),
            (Prim::Quantity(x), Prim::Quantity(y)) => x.compare(y),
            _ => match (as_decimal(&pa), as_decimal(&pb)) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => return Err(incomparable()),
            },
        })
    }

    /// Whether `items` holds an item equal to `item`.
    pub(crate) fn contains_item(&self, items: &[Item<'a>], item: &Item<'a>) -> bool {
        items.iter().any(|other| self.items_equal(other, item) == Some(true))
    }

    /// `=` on collections: empty when either side is empty or a pair is unknown.
    pub(crate) fn collections_equal(&self, a: &[Item<'a>], b: &[Item<'a>]) -> Option<bool> {
        if a.is_empty() || b.is_empty() {
            return None;
        }
        if a.len() != b.len() {
            return Some(false);
        }
        let mut unknown = false;
        for (x, y) in a.iter().zip(b) {
            match self.items_equal(x, y) {
                Some(false) => return Some(false),
                None => unknown = true,
                Some(true) => {}
            }
        }
        (!unknown).then_some(true)
    }

    /// `~` on collections: order does not matter, and two empty collections are equivalent.
    pub(crate) fn collections_equivalent(&self, a: &[Item<'a>], b: &[Item<'a>]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut used = vec![false; b.len()];
        a.iter().all(|x| {
            let found = b.iter().enumerate().find(|(j, y)| !used[*j] && self.items_equivalent(x, y));
            match found {
                Some((j, _)) => {
                    used[j] = true;
                    true
                }
                None => false,
            }
        })
    }
}

/// Equality of System values after implicit conversion.
pub(crate) fn prims_equal(a: &Prim<'_>, b: &Prim<'_>) -> Option<bool> {
    match (a, b) {
        (Prim::Boolean(x), Prim::Boolean(y)) => Some(x == y),
        (Prim::String(x), Prim::String(y)) => Some(x == y),
        (Prim::Date(x) | Prim::DateTime(x), Prim::Date(y) | Prim::DateTime(y)) => x.compare(y).map(|o| o == Ordering::Equal),
        (Prim::Time(x), Prim::Time(y)) => x.compare(y).map(|o| o == Ordering::Equal),
        (Prim::Quantity(x), Prim::Quantity(y)) => x.compare(y).map(|o| o == Ordering::Equal),
        _ => match (as_decimal(a), as_decimal(b)) {
            (Some(x), Some(y)) => Some(x == y),
            _ => Some(false),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_equivalence_ignores_case_and_spacing() {
        assert!(strings_equivalent("  Hello   World ", "hello world"));
        assert!(!strings_equivalent("a", "b"));
    }
}
