//! Quantities: a decimal with a UCUM unit or a calendar duration, and the unit conversions
//! that comparison and arithmetic need.
//!
//! Unit conversion uses a small built-in table, not the full UCUM essence: SI base and derived
//! units with metric prefixes (m, g, s, L, mol, Pa, J, W, …), time units (min, h, d, wk, mo, a),
//! US customary length, mass and volume (`[in_i]`, `[ft_i]`, `[lb_av]`, `[oz_av]`, …), `mm[Hg]`,
//! `%` and `10*n`. Units built from these with `.`, `/`, exponents and parentheses convert too;
//! annotations (`{tablets}`) are ignored. Two quantities whose units are not in the table compare
//! only when their unit strings are equal.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::temporal::CalendarUnit;

mod ucum;

use ucum::{expression, Canonical, CALENDAR_MONTH};

/// A FHIRPath `System.Quantity`: a value and a unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Quantity {
    pub(crate) value: Decimal,
    pub(crate) unit: Arc<str>,
    /// Whether the unit is a calendar keyword written without quotes (`4 days`).
    pub(crate) calendar: bool,
}

/// The calendar unit a keyword (singular or plural) names.
pub(crate) fn calendar_keyword(word: &str) -> Option<CalendarUnit> {
    let singular = word.strip_suffix('s').unwrap_or(word);
    Some(match singular {
        "year" => CalendarUnit::Year,
        "month" => CalendarUnit::Month,
        "week" => CalendarUnit::Week,
        "day" => CalendarUnit::Day,
        "hour" => CalendarUnit::Hour,
        "minute" => CalendarUnit::Minute,
        "second" => CalendarUnit::Second,
        "millisecond" => CalendarUnit::Millisecond,
        _ => return None,
    })
}

/// The UCUM code of a calendar keyword's definite duration, for arithmetic on units.
fn calendar_ucum(unit: CalendarUnit) -> &'static str {
    match unit {
        CalendarUnit::Year => "a",
        CalendarUnit::Month => "mo",
        CalendarUnit::Week => "wk",
        CalendarUnit::Day => "d",
        CalendarUnit::Hour => "h",
        CalendarUnit::Minute => "min",
        CalendarUnit::Second => "s",
        CalendarUnit::Millisecond => "ms",
    }
}

impl Quantity {
    /// A quantity with a UCUM unit.
    pub fn new(value: Decimal, unit: &str) -> Quantity {
        Quantity {
            value,
            unit: Arc::from(unit),
            calendar: false,
        }
    }

    /// The value.
    pub fn value(&self) -> Decimal {
        self.value
    }

    /// The unit: a UCUM code, or a calendar keyword such as `days`.
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// Whether the unit is a calendar keyword rather than a UCUM code.
    pub fn is_calendar_duration(&self) -> bool {
        self.calendar
    }

    /// Parses the text form `toQuantity()` accepts: `4.5 'mg'`, `1 day`, `3`.
    pub(crate) fn parse(text: &str) -> Option<Quantity> {
        let text = text.trim();
        let end = text
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '+' || c == '-'))))
            .map_or(text.len(), |(i, _)| i);
        let number = &text[..end];
        if number.is_empty()
            || number.starts_with('.')
            || number.ends_with('.')
            || number.matches('.').count() > 1
        {
            return None;
        }
        let value = Decimal::from_str(number).ok()?;
        let rest = text[end..].trim_start();
        if rest.is_empty() {
            return Some(Quantity::new(value, "1"));
        }
        if let Some(quoted) = rest.strip_prefix('\'') {
            let unit = quoted.strip_suffix('\'')?;
            return (!unit.contains('\'')).then(|| Quantity::new(value, unit));
        }
        calendar_keyword(rest)?;
        Some(Quantity {
            value,
            unit: Arc::from(rest),
            calendar: true,
        })
    }

    /// The calendar unit for date arithmetic: a keyword (quoted or not) or a definite UCUM time
    /// unit from a week down. `mo` and `a` are not calendar units and are refused.
    pub(crate) fn calendar_unit(&self) -> Option<CalendarUnit> {
        if let Some(unit) = calendar_keyword(&self.unit) {
            return Some(unit);
        }
        Some(match &*self.unit {
            "wk" => CalendarUnit::Week,
            "d" => CalendarUnit::Day,
            "h" => CalendarUnit::Hour,
            "min" => CalendarUnit::Minute,
            "s" => CalendarUnit::Second,
            "ms" => CalendarUnit::Millisecond,
            _ => return None,
        })
    }

    fn canonical(&self) -> Option<Canonical> {
        if let Some(unit) = calendar_keyword(&self.unit).filter(|_| self.calendar) {
            return Some(match unit {
                CalendarUnit::Year => Canonical::base(CALENDAR_MONTH, Decimal::from(12)),
                CalendarUnit::Month => Canonical::base(CALENDAR_MONTH, Decimal::ONE),
                other => expression(calendar_ucum(other))?,
            });
        }
        expression(&self.unit)
    }

    /// The UCUM form of the unit, for building product and quotient units.
    fn ucum_unit(&self) -> &str {
        match calendar_keyword(&self.unit).filter(|_| self.calendar) {
            Some(unit) => calendar_ucum(unit),
            None => &self.unit,
        }
    }

    /// Whether the two units measure the same kind of thing.
    pub fn comparable(&self, other: &Quantity) -> bool {
        self.unit == other.unit && self.calendar == other.calendar
            || matches!((self.canonical(), other.canonical()), (Some(a), Some(b)) if a.dims == b.dims)
    }

    /// Both values in a common unit, or `None` when the units are not comparable.
    fn common_values(&self, other: &Quantity) -> Option<(Decimal, Decimal)> {
        if self.unit == other.unit && self.calendar == other.calendar {
            return Some((self.value, other.value));
        }
        let (a, b) = (self.canonical()?, other.canonical()?);
        if a.dims != b.dims {
            return None;
        }
        Some((
            self.value.checked_mul(a.factor)?,
            other.value.checked_mul(b.factor)?,
        ))
    }

    /// Orders two quantities after unit conversion; `None` when not comparable.
    pub fn compare(&self, other: &Quantity) -> Option<Ordering> {
        let (a, b) = self.common_values(other)?;
        Some(a.cmp(&b))
    }

    /// FHIRPath equivalence: comparable and equal at the precision of the less precise value.
    pub fn equivalent(&self, other: &Quantity) -> bool {
        self.common_values(other)
            .is_some_and(|(a, b)| crate::number::decimal_equivalent(a, b))
    }

    /// The value of `other` expressed in this quantity's unit.
    fn convert_other(&self, other: &Quantity) -> Option<Decimal> {
        if self.unit == other.unit && self.calendar == other.calendar {
            return Some(other.value);
        }
        let (a, b) = (self.canonical()?, other.canonical()?);
        if a.dims != b.dims {
            return None;
        }
        other.value.checked_mul(b.factor)?.checked_div(a.factor)
    }

    /// Sum or difference in this quantity's unit; `None` when the units are not comparable.
    pub(crate) fn add(&self, other: &Quantity, negate: bool) -> Option<Quantity> {
        let converted = self.convert_other(other)?;
        let value = if negate {
            self.value.checked_sub(converted)?
        } else {
            self.value.checked_add(converted)?
        };
        Some(Quantity {
            value,
            ..self.clone()
        })
    }

    /// Product or quotient, with a unit built from both.
    pub(crate) fn multiply(&self, other: &Quantity, divide: bool) -> Option<Quantity> {
        let (a, b) = (self.ucum_unit(), other.ucum_unit());
        let wrap = |u: &str| {
            if u.contains(['.', '/']) {
                format!("({u})")
            } else {
                u.to_owned()
            }
        };
        let (value, unit) = if divide {
            let value = self.value.checked_div(other.value)?;
            let unit = match (a, b) {
                (_, "1") => a.to_owned(),
                _ if a == b => "1".to_owned(),
                ("1", _) => format!("1/{}", wrap(b)),
                _ => format!("{}/{}", wrap(a), wrap(b)),
            };
            (value, unit)
        } else {
            let value = self.value.checked_mul(other.value)?;
            let unit = match (a, b) {
                ("1", _) => b.to_owned(),
                (_, "1") => a.to_owned(),
                _ => format!("{}.{}", wrap(a), wrap(b)),
            };
            (value, unit)
        };
        Some(Quantity::new(value, &unit))
    }

    /// The same amount expressed in `unit`; `None` when the units are not comparable.
    pub(crate) fn convert_to(&self, unit: &str) -> Option<Quantity> {
        let target = Quantity::new(Decimal::ONE, unit);
        target
            .convert_other(self)
            .map(|value| Quantity::new(value, unit))
    }

    /// The same unit with another value.
    pub(crate) fn with_value(&self, value: Decimal) -> Quantity {
        Quantity {
            value,
            ..self.clone()
        }
    }
}

impl fmt::Display for Quantity {
    /// Renders as a FHIRPath literal: `4.5 'mg'` or `1 week`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.calendar {
            write!(f, "{} {}", self.value, self.unit)
        } else {
            write!(f, "{} '{}'", self.value, self.unit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).expect(text)
    }

    fn q(value: &str, unit: &str) -> Quantity {
        Quantity::new(dec(value), unit)
    }

    #[test]
    fn grams_and_milligrams_compare() {
        assert_eq!(
            q("4.0000", "g").compare(&q("4000.0", "mg")),
            Some(Ordering::Equal)
        );
        assert!(q("4", "g").equivalent(&q("4040", "mg")));
        assert!(!q("1", "cm").comparable(&q("1", "s")));
        assert!(q("1", "cm").comparable(&q("1", "[in_i]")));
    }

    #[test]
    fn products_and_quotients_convert() {
        let area = q("2.0", "cm")
            .multiply(&q("2.0", "m"), false)
            .expect("product");
        assert_eq!(area.compare(&q("0.040", "m2")), Some(Ordering::Equal));
        let ratio = q("4.0", "g")
            .multiply(&q("2.0", "m"), true)
            .expect("quotient");
        assert_eq!(ratio.compare(&q("2", "g/m")), Some(Ordering::Equal));
        assert_eq!(
            q("185", "[lb_av]").compare(&q("185", "kg")),
            Some(Ordering::Less)
        );
        assert!(expression("mm[Hg]").is_some());
        assert!(expression("mg/dL").is_some());
        assert!(expression("10*3/uL").is_some());
        assert!(expression("kg/(m.(s.s))").is_some());
        assert!(expression(&format!("{}m{}", "(".repeat(10_000), ")".repeat(10_000))).is_none());
    }

    #[test]
    fn calendar_years_are_not_ucum_years() {
        let year = Quantity {
            value: Decimal::ONE,
            unit: Arc::from("year"),
            calendar: true,
        };
        assert_eq!(year.compare(&q("1", "a")), None);
        let week = Quantity {
            value: Decimal::ONE,
            unit: Arc::from("week"),
            calendar: true,
        };
        assert_eq!(week.compare(&q("7", "d")), Some(Ordering::Equal));
    }
}
