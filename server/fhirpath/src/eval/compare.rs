//! Equality (`=`), equivalence (`~`) and ordering of items, with implicit conversions
//! (Integer to Decimal, Date to DateTime, FHIR primitives to System values) and unit-aware
//! quantities. "Unknown" results (different date precisions, incomparable units) are `None`.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use rust_decimal::Decimal;
use serde_json::Value as Json;
use smallvec::SmallVec;

use super::{Buf, Evaluator};
use crate::error::{Error, Result};
use crate::item::{Item, Prim};
use crate::model::{FastHasher, FastMap};
use crate::number;

/// Collections up to this size are searched linearly; larger ones get a hash index.
const LINEAR_LIMIT: usize = 16;

type Buckets = FastMap<u64, SmallVec<[u32; 2]>>;

/// Tracks the items appended to a buffer since `start`, to keep them distinct.
pub(crate) struct Distinct {
    start: usize,
    buckets: Option<Buckets>,
}

impl Distinct {
    /// Starts tracking a buffer's items from its current end.
    pub(crate) fn new(out: &Buf<'_>) -> Distinct {
        Distinct {
            start: out.len(),
            buckets: None,
        }
    }
}

/// A collection prepared for membership tests.
pub(crate) struct Lookup<'s, 'a> {
    items: &'s [Item<'a>],
    buckets: Option<Buckets>,
}

/// Hashes JSON consistently with `json_equal` (numbers by value, objects unordered).
fn hash_json(value: &Json, state: &mut FastHasher) {
    match value {
        Json::Null => 0u8.hash(state),
        Json::Bool(b) => b.hash(state),
        Json::Number(n) => match number::parse_decimal(n.as_str()) {
            Some(d) => d.hash(state),
            None => n.as_str().hash(state),
        },
        Json::String(s) => s.hash(state),
        Json::Array(values) => {
            values.len().hash(state);
            for v in values {
                hash_json(v, state);
            }
        }
        Json::Object(object) => {
            // Ids do not take part in equivalence, so they stay out of the hash too.
            let mut combined = 0u64;
            for (k, v) in object.iter().filter(|(k, _)| *k != "id") {
                let mut entry = FastHasher::default();
                k.hash(&mut entry);
                hash_json(v, &mut entry);
                combined = combined.wrapping_add(entry.finish());
            }
            combined.hash(state);
        }
    }
}

/// Collapses runs of whitespace and trims, for string equivalence.
fn normalized(s: &str) -> impl Iterator<Item = char> + '_ {
    s.split_whitespace()
        .enumerate()
        .flat_map(|(i, word)| (i > 0).then_some(' ').into_iter().chain(word.chars()))
}

fn strings_equivalent(a: &str, b: &str) -> bool {
    let lower = |c: char| c.to_lowercase();
    normalized(a)
        .flat_map(lower)
        .eq(normalized(b).flat_map(lower))
}

/// Structural JSON equality where numbers compare by value (`1.0` equals `1.00`).
fn json_equal(a: &Json, b: &Json, equivalent: bool) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            match (
                number::parse_decimal(x.as_str()),
                number::parse_decimal(y.as_str()),
            ) {
                (Some(x), Some(y)) if equivalent => number::decimal_equivalent(x, y),
                (Some(x), Some(y)) => x == y,
                _ => x.as_str() == y.as_str(),
            }
        }
        (Json::String(x), Json::String(y)) if equivalent => strings_equivalent(x, y),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y, equivalent))
        }
        (Json::Object(x), Json::Object(y)) => {
            // Equivalence ignores ids, as the specification allows.
            let relevant = |k: &String| !equivalent || k != "id";
            x.iter().filter(|(k, _)| relevant(k)).count()
                == y.iter().filter(|(k, _)| relevant(k)).count()
                && x.iter()
                    .filter(|(k, _)| relevant(k))
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w, equivalent)))
        }
        _ => a == b,
    }
}

/// The JSON of two nodes that are not primitives (elements compared property by property).
fn complex_values<'j>(a: &Item<'j>, b: &Item<'j>) -> Option<(&'j Json, &'j Json)> {
    match (a.json()?, b.json()?) {
        (x @ (Json::Object(_) | Json::Array(_)), y @ (Json::Object(_) | Json::Array(_))) => {
            Some((x, y))
        }
        _ => None,
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
            }
        }
        match (a.prim(self.model), b.prim(self.model)) {
            (Some(pa), Some(pb)) => prims_equal(&pa, &pb),
            (None, None) => {
                Some(complex_values(a, b).is_some_and(|(x, y)| json_equal(x, y, false)))
            }
            _ => Some(false),
        }
    }

    /// `a ~ b` for single items.
    pub(crate) fn items_equivalent(&self, a: &Item<'a>, b: &Item<'a>) -> bool {
        let (pa, pb) = match (a.prim(self.model), b.prim(self.model)) {
            (Some(pa), Some(pb)) => (pa, pb),
            (None, None) => {
                return complex_values(a, b).is_some_and(|(x, y)| json_equal(x, y, true))
            }
            _ => return false,
        };
        match (&pa, &pb) {
            (Prim::String(x), Prim::String(y)) => strings_equivalent(x, y),
            (Prim::Date(x) | Prim::DateTime(x), Prim::Date(y) | Prim::DateTime(y)) => {
                x.equivalent(y)
            }
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
        let incomparable = || {
            Error::execution(format!(
                "cannot compare {} with {}",
                a.type_name(),
                b.type_name()
            ))
        };
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
        items
            .iter()
            .any(|other| self.items_equal(other, item) == Some(true))
    }

    /// A hash that equal items share (`1` and `1.0`, a FHIR `string` and a System `String`).
    fn item_hash(&self, item: &Item<'a>) -> u64 {
        let mut state = FastHasher::default();
        match item.prim(self.model) {
            Some(Prim::Boolean(b)) => (2u8, b).hash(&mut state),
            Some(Prim::Integer(i)) => (3u8, Decimal::from(i)).hash(&mut state),
            Some(Prim::Decimal(d)) => (3u8, d).hash(&mut state),
            Some(Prim::String(s)) => (4u8, s).hash(&mut state),
            // Dates, times and quantities compare across precisions, zones and units: one
            // bucket each keeps equal ones together.
            Some(Prim::Date(_) | Prim::DateTime(_)) => 5u8.hash(&mut state),
            Some(Prim::Time(_)) => 6u8.hash(&mut state),
            Some(Prim::Quantity(_)) => 7u8.hash(&mut state),
            None => {
                1u8.hash(&mut state);
                if let Some(value) = item.json() {
                    hash_json(value, &mut state);
                }
            }
        }
        state.finish()
    }

    fn buckets(&self, items: &[Item<'a>]) -> Buckets {
        let mut buckets = Buckets::default();
        for (i, item) in items.iter().enumerate() {
            buckets
                .entry(self.item_hash(item))
                .or_default()
                .push(i as u32);
        }
        buckets
    }

    /// Appends `item` unless an equal one was appended since `seen` started; says whether it did.
    pub(crate) fn push_distinct(
        &self,
        seen: &mut Distinct,
        out: &mut Buf<'a>,
        item: Item<'a>,
    ) -> bool {
        let section = out.get(seen.start..).unwrap_or_default();
        if seen.buckets.is_none() && section.len() >= LINEAR_LIMIT {
            seen.buckets = Some(self.buckets(section));
        }
        match &mut seen.buckets {
            None => {
                if self.contains_item(section, &item) {
                    return false;
                }
            }
            Some(buckets) => {
                let bucket = buckets.entry(self.item_hash(&item)).or_default();
                if bucket
                    .iter()
                    .filter_map(|&i| section.get(i as usize))
                    .any(|other| self.items_equal(other, &item) == Some(true))
                {
                    return false;
                }
                bucket.push(section.len() as u32);
            }
        }
        out.push(item);
        true
    }

    /// Prepares `items` for repeated membership tests.
    pub(crate) fn lookup<'s>(&self, items: &'s [Item<'a>]) -> Lookup<'s, 'a> {
        let buckets = (items.len() > LINEAR_LIMIT).then(|| self.buckets(items));
        Lookup { items, buckets }
    }

    /// Whether the prepared collection holds an item equal to `item`.
    pub(crate) fn lookup_contains(&self, lookup: &Lookup<'_, 'a>, item: &Item<'a>) -> bool {
        match &lookup.buckets {
            None => self.contains_item(lookup.items, item),
            Some(buckets) => buckets.get(&self.item_hash(item)).is_some_and(|bucket| {
                bucket
                    .iter()
                    .filter_map(|&i| lookup.items.get(i as usize))
                    .any(|other| self.items_equal(other, item) == Some(true))
            }),
        }
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
            let found = b
                .iter()
                .enumerate()
                .find(|(j, y)| !used[*j] && self.items_equivalent(x, y));
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
        (Prim::Date(x) | Prim::DateTime(x), Prim::Date(y) | Prim::DateTime(y)) => {
            x.compare(y).map(|o| o == Ordering::Equal)
        }
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
