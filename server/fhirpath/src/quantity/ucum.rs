//! UCUM units reduced to a factor over base dimensions, from a small built-in table: SI base
//! and derived units with metric prefixes, time units, US customary length, mass and volume,
//! `mm[Hg]`, `%` and `10*n`, combined with `.`, `/`, exponents and parentheses.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Base dimensions: metre, gram, second, radian, kelvin, coulomb, candela, mole, calendar month.
const DIMS: usize = 9;
pub(super) const CALENDAR_MONTH: usize = 8;

/// A unit reduced to a factor over base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Canonical {
    pub(super) factor: Decimal,
    pub(super) dims: [i8; DIMS],
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

    pub(super) fn base(dim: usize, factor: Decimal) -> Canonical {
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
pub(super) fn expression(text: &str) -> Option<Canonical> {
    nested_expression(text, 0)
}

/// Units come from data: nesting is limited so that no unit string can exhaust the stack.
const MAX_UNIT_NESTING: usize = 8;

fn nested_expression(text: &str, depth: usize) -> Option<Canonical> {
    if depth > MAX_UNIT_NESTING {
        return None;
    }
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
                let mut open = 0;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    match c {
                        '(' => open += 1,
                        ')' => {
                            open -= 1;
                            if open == 0 {
                                end = Some(i);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                nested_expression(&text[start + 1..end?], depth + 1)?
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
