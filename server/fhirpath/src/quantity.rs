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

/// A FHIRPath `System.Quantity`: a value and a unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Quantity {
    pub(crate) value: Decimal,
    pub(crate) unit: Arc<str>,
    /// Whether the unit is a calendar keyword written without quotes (`4 days`).
    pub(crate) calendar: bool,
}

/// Base dimensions: metre, gram, second, radian, kelvin, coulomb, candela, mole, calendar month.
const DIMS: usize = 9;
const CALENDAR_MONTH: usize = 8;

/// A unit reduced to a factor over base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Canonical {
    factor: Decimal,
    dims: [i8; DIMS],
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or(Decimal::ONE)
}

impl Canonical {
    fn scalar(factor: Decimal) -> Canonical {
        Canonical {
            factor,
            dims: [0; DIMS],
        }
    }

    fn base(dim: usize, factor: Decimal) -> Canonical {
        let mut dims = [0; DIMS];
        dims[dim] = 1;
        Canonical { factor, dims }
    }

    fn mul(self, other: Canonical) -> Option<Canonical> {
        let mut dims = self.dims;
        for (d, o) in dims.iter_mut().zip(other.dims) {
            *d = d.checked_add(o)?;
        }
        Some(Canonical {
            factor: self.factor.checked_mul(other.factor)?,
            dims,
        })
    }

    fn div(self, other: Canonical) -> Option<Canonical> {
        let mut dims = self.dims;
        for (d, o) in dims.iter_mut().zip(other.dims) {
            *d = d.checked_sub(o)?;
        }
        Some(Canonical {
            factor: self.factor.checked_div(other.factor)?,
            dims,
        })
    }

    fn pow(self, exponent: i32) -> Option<Canonical> {
        let mut result = Canonical::scalar(Decimal::ONE);
        for _ in 0..exponent.unsigned_abs() {
            result = result.mul(self)?;
        }
        if exponent < 0 {
            Canonical::scalar(Decimal::ONE).div(result)
        } else {
            Some(result)
        }
    }
}

/// Metre, gram and second powers of a derived unit, with its factor over base units.
fn derived(factor: &str, m: i8, g: i8, s: i8, c: i8) -> Canonical {
    let mut dims = [0; DIMS];
    dims[0] = m;
    dims[1] = g;
    dims[2] = s;
    dims[5] = c;
    Canonical {
        factor: dec(factor),
        dims,
    }
}

/// Looks up a unit atom (without prefix); the flag says whether metric prefixes apply.
fn atom(code: &str) -> Option<(Canonical, bool)> {
    let one = Decimal::ONE;
    let unit = match code {
        "m" => (Canonical::base(0, one), true),
        "g" => (Canonical::base(1, one), true),
        "s" => (Canonical::base(2, one), true),
        "rad" => (Canonical::base(3, one), true),
        "K" => (Canonical::base(4, one), true),
        "C" => (Canonical::base(5, one), true),
        "cd" => (Canonical::base(6, one), true),
        "mol" | "eq" | "osm" => (Canonical::base(7, one), true),
        "L" | "l" => (derived("0.001", 3, 0, 0, 0), true),
        "Hz" => (derived("1", 0, 0, -1, 0), true),
        "N" => (derived("1000", 1, 1, -2, 0), true),
        "Pa" => (derived("1000", -1, 1, -2, 0), true),
        "J" => (derived("1000", 2, 1, -2, 0), true),
        "W" => (derived("1000", 2, 1, -3, 0), true),
        "A" => (derived("1", 0, 0, -1, 1), true),
        "V" => (derived("1000", 2, 1, -3, -1), true),
        "bar" => (derived("100000000", -1, 1, -2, 0), true),
        "cal" => (derived("4184", 2, 1, -2, 0), true),
        "t" => (Canonical::base(1, dec("1000000")), true),
        "kat" => {
            let mut c = Canonical::base(7, one);
            c.dims[2] = -1;
            (c, true)
        }
        "U" => {
            let mut c = Canonical::base(7, dec("0.000001") / dec("60"));
            c.dims[2] = -1;
            (c, true)
        }
        "min" => (Canonical::base(2, dec("60")), false),
        "h" => (Canonical::base(2, dec("3600")), false),
        "d" => (Canonical::base(2, dec("86400")), false),
        "wk" => (Canonical::base(2, dec("604800")), false),
        "mo" => (Canonical::base(2, dec("2629800")), false),
        "a" => (Canonical::base(2, dec("31557600")), false),
        "atm" => (derived("101325000", -1, 1, -2, 0), false),
        "m[Hg]" => (derived("133322000", -1, 1, -2, 0), true),
        "[in_i]" => (Canonical::base(0, dec("0.0254")), false),
        "[ft_i]" => (Canonical::base(0, dec("0.3048")), false),
        "[yd_i]" => (Canonical::base(0, dec("0.9144")), false),
        "[mi_i]" => (Canonical::base(0, dec("1609.344")), false),
        "[lb_av]" => (Canonical::base(1, dec("453.59237")), false),
        "[oz_av]" => (Canonical::base(1, dec("28.349523125")), false),
        "[gal_us]" => (derived("0.003785411784", 3, 0, 0, 0), false),
        "[qt_us]" => (derived("0.000946352946", 3, 0, 0, 0), false),
        "[pt_us]" => (derived("0.000473176473", 3, 0, 0, 0), false),
        "[foz_us]" => (derived("0.0000295735295625", 3, 0, 0, 0), false),
        "%" => (Canonical::scalar(dec("0.01")), false),
        "[ppm]" => (Canonical::scalar(dec("0.000001")), false),
        "[ppb]" => (Canonical::scalar(dec("0.000000001")), false),
        _ => return None,
    };
    Some(unit)
}

fn prefix(code: &str) -> Option<Decimal> {
    let exponent: i32 = match code {
        "Y" => 24,
        "Z" => 21,
        "E" => 18,
        "P" => 15,
        "T" => 12,
        "G" => 9,
        "M" => 6,
        "k" => 3,
        "h" => 2,
        "da" => 1,
        "d" => -1,
        "c" => -2,
        "m" => -3,
        "u" => -6,
        "n" => -9,
        "p" => -12,
        "f" => -15,
        "a" => -18,
        "z" => -21,
        "y" => -24,
        _ => return None,
    };
    ten_to(exponent)
}

fn ten_to(exponent: i32) -> Option<Decimal> {
    if exponent >= 0 {
        let mut value = Decimal::ONE;
        for _ in 0..exponent {
            value = value.checked_mul(Decimal::TEN)?;
        }
        Some(value)
    } else {
        let scale = exponent.unsigned_abs();
        (scale <= 28).then(|| Decimal::new(1, scale))
    }
}

/// A unit term without operators: `mg`, `m2`, `s-1`, `10*3`, `[in_i]`, `{tablets}`.
fn component(text: &str) -> Option<Canonical> {
    // Annotations stand for the unity.
    let text = match text.find('{') {
        Some(0) => return text.ends_with('}').then(|| Canonical::scalar(Decimal::ONE)),
        Some(start) if text.ends_with('}') => &text[..start],
        Some(_) => return None,
        None => text,
    };
    if let Some(rest) = text
        .strip_prefix("10*")
        .or_else(|| text.strip_prefix("10^"))
    {
        return ten_to(rest.parse().ok()?).map(Canonical::scalar);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
        return Some(Canonical::scalar(Decimal::from_str(text).ok()?));
    }
    // A trailing exponent: digits with an optional sign, after the symbol.
    let bytes = text.as_bytes();
    let mut split = bytes.len();
    while split > 0 && bytes[split - 1].is_ascii_digit() {
        split -= 1;
    }
    if split > 0 && split < bytes.len() && matches!(bytes[split - 1], b'+' | b'-') {
        split -= 1;
    }
    let (symbol, exponent) = if split > 0 && split < bytes.len() {
        (&text[..split], text[split..].parse::<i32>().ok()?)
    } else {
        (text, 1)
    };
    simple_unit(symbol)?.pow(exponent)
}

/// A prefixed or plain atom.
fn simple_unit(symbol: &str) -> Option<Canonical> {
    if let Some((unit, _)) = atom(symbol) {
        return Some(unit);
    }
    for length in [2, 1] {
        if symbol.len() > length && symbol.is_char_boundary(length) {
            let (p, rest) = symbol.split_at(length);
            if let (Some(factor), Some((unit, true))) = (prefix(p), atom(rest)) {
                return unit.mul(Canonical::scalar(factor));
            }
        }
    }
    None
}

/// Parses a UCUM expression: terms joined by `.` and `/`, with parentheses.
fn expression(text: &str) -> Option<Canonical> {
    let mut chars = text.char_indices().peekable();
    let mut result = Canonical::scalar(Decimal::ONE);
    let mut dividing = false;
    let mut first = true;
    while chars.peek().is_some() {
        let term = match chars.peek() {
            Some(&(_, '/')) if first => {
                chars.next();
                dividing = true;
                continue;
            }
            Some(&(start, '(')) => {
                let mut depth = 0;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                expression(&text[start + 1..end?])?
            }
            Some(&(start, _)) => {
                let mut end = text.len();
                let mut brackets = 0;
                while let Some(&(i, c)) = chars.peek() {
                    match c {
                        '[' | '{' => brackets += 1,
                        ']' | '}' => brackets -= 1,
                        '.' | '/' if brackets == 0 => {
                            end = i;
                            break;
                        }
                        _ => {}
                    }
                    chars.next();
                }
                component(&text[start..end])?
            }
            None => break,
        };
        result = if dividing {
            result.div(term)?
        } else {
            result.mul(term)?
        };
        first = false;
        match chars.next() {
            Some((_, '.')) => dividing = false,
            Some((_, '/')) => dividing = true,
            Some(_) => return None,
            None => break,
        }
    }
    Some(result)
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
