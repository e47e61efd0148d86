//! Decimal helpers: reading JSON numbers without loss, equivalence at the coarser precision,
//! `lowBoundary`/`highBoundary`, and the transcendental functions (computed in `f64`).

use std::str::FromStr;

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};

/// The largest number of fraction digits a decimal can carry.
pub(crate) const MAX_SCALE: u32 = 28;

/// Parses decimal text as written (`1.50` keeps two fraction digits); accepts exponents.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str(text).ok()
    }
}

/// Decimal equivalence: equal once both are rounded to the fewer fraction digits of the two.
pub(crate) fn decimal_equivalent(a: Decimal, b: Decimal) -> bool {
    let scale = a.scale().min(b.scale());
    let round =
        |d: Decimal| d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    round(a) == round(b)
}

/// The lowest or highest value a decimal may stand for given its precision, with `digits`
/// fraction digits (8 by default); `None` when `digits` is out of range.
pub(crate) fn boundary(value: Decimal, digits: Option<i64>, high: bool) -> Option<Decimal> {
    let digits = u32::try_from(digits.unwrap_or(8))
        .ok()
        .filter(|d| *d <= MAX_SCALE)?;
    let negative = value.is_sign_negative() && !value.is_zero();
    let magnitude = value.abs();
    let scale = magnitude.scale();
    let half = if scale < MAX_SCALE {
        Decimal::new(5, scale + 1)
    } else {
        Decimal::ZERO
    };
    // The low boundary of a negative number mirrors the high boundary of its magnitude.
    let mut result = if high != negative {
        magnitude
            .checked_add(half)?
            .round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero)
    } else {
        magnitude
            .checked_sub(half)?
            .round_dp_with_strategy(digits, RoundingStrategy::ToZero)
    };
    result.rescale(digits);
    if negative {
        result.set_sign_negative(true);
    }
    Some(result)
}

/// The number of fraction digits, as `precision()` reports it for decimals.
pub(crate) fn precision(value: Decimal) -> i64 {
    i64::from(value.scale())
}

/// Converts for the functions computed in floating point.
pub(crate) fn to_f64(value: Decimal) -> Option<f64> {
    value.to_f64()
}

/// Converts a floating-point result back, refusing NaN and infinities.
pub(crate) fn from_f64(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    // The shortest text that round-trips keeps `3.0f64.sqrt()`-style results tidy.
    let text = format!("{value}");
    Decimal::from_str(&text)
        .ok()
        .or_else(|| Decimal::from_f64(value))
        .map(|d| d.normalize())
}

/// Negation that never yields a negative zero.
pub(crate) fn negate(value: Decimal) -> Decimal {
    if value.is_zero() {
        value.abs()
    } else {
        -value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        parse_decimal(text).expect(text)
    }

    #[test]
    fn boundaries_follow_the_suite() {
        let render = |v: &str, digits, high| boundary(d(v), digits, high).map(|b| b.to_string());
        assert_eq!(render("1.587", None, false).as_deref(), Some("1.58650000"));
        assert_eq!(render("1.587", Some(2), false).as_deref(), Some("1.58"));
        assert_eq!(render("1.587", Some(2), true).as_deref(), Some("1.59"));
        assert_eq!(render("-1.587", Some(2), false).as_deref(), Some("-1.59"));
        assert_eq!(render("-1.587", Some(0), false).as_deref(), Some("-2"));
        assert_eq!(render("120", Some(2), false).as_deref(), Some("119.50"));
        assert_eq!(render("0.0034", Some(1), true).as_deref(), Some("0.0"));
        assert_eq!(render("-0.0034", Some(1), false).as_deref(), Some("-0.0"));
        assert_eq!(render("1.587", Some(32), false), None);
    }

    #[test]
    fn equivalence_rounds_to_the_coarser_value() {
        assert!(decimal_equivalent(
            d("0.6666666666666666666666666667"),
            d("0.67")
        ));
        assert!(!decimal_equivalent(
            d("0.6666666666666666666666666667"),
            d("0.6")
        ));
    }
}
