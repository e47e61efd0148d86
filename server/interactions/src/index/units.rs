//! Canonical UCUM units for quantity search, so that `5.4|http://unitsofmeasure.org|mg`
//! finds `0.0054 g`: a value in a unit becomes a value in base units.
//!
//! This covers the unit expressions clinical data uses (a metric prefix on a
//! base atom, products with `.`, one division with `/`, integer exponents);
//! the terminology service brings full UCUM.

/// The UCUM system URL.
pub const UCUM: &str = "http://unitsofmeasure.org";

/// A unit expression in base units: a factor and the canonical unit text.
#[derive(Clone, Debug, PartialEq)]
pub struct Canonical {
    /// What one of the unit is in base units.
    pub factor: f64,
    /// The base units, such as `g`, `g/L` or `mol/m3`.
    pub unit: String,
}

/// Base atoms: (atom, factor to base, base unit text).
const ATOMS: &[(&str, f64, &str)] = &[
    ("g", 1.0, "g"),
    ("m", 1.0, "m"),
    ("L", 0.001, "m3"),
    ("l", 0.001, "m3"),
    ("s", 1.0, "s"),
    ("min", 60.0, "s"),
    ("h", 3600.0, "s"),
    ("d", 86_400.0, "s"),
    ("wk", 604_800.0, "s"),
    ("mo", 2_629_800.0, "s"),
    ("a", 31_557_600.0, "s"),
    ("mol", 6.022_140_76e23, "1"),
    ("eq", 6.022_140_76e23, "1"),
    ("U", 1.0, "U"),
    ("[IU]", 1.0, "[IU]"),
    ("Pa", 1.0, "Pa"),
    ("mm[Hg]", 133.322, "Pa"),
    ("[in_i]", 0.0254, "m"),
    ("[lb_av]", 453.592_37, "g"),
    ("%", 0.01, "1"),
    ("1", 1.0, "1"),
    ("Cel", 1.0, "Cel"),
    ("K", 1.0, "K"),
    ("/min", 1.0 / 60.0, "/s"),
    ("{beats}/min", 1.0 / 60.0, "/s"),
    ("kg/m2", 1000.0, "g/m2"),
];

/// Metric prefixes.
const PREFIXES: &[(&str, f64)] = &[
    ("k", 1e3),
    ("h", 1e2),
    ("da", 1e1),
    ("d", 1e-1),
    ("c", 1e-2),
    ("m", 1e-3),
    ("u", 1e-6),
    ("n", 1e-9),
    ("p", 1e-12),
    ("f", 1e-15),
];

/// The canonical form of UCUM unit `code`, or `None` when it is not one this
/// module understands.
pub fn canonical(code: &str) -> Option<Canonical> {
    if let Some(found) = atom(code) {
        return Some(found);
    }
    let (numerator, denominator) = match code.split_once('/') {
        Some((n, d)) if !d.contains('/') => (n, Some(d)),
        Some(_) => return None,
        None => (code, None),
    };
    let top = product(numerator)?;
    let Some(denominator) = denominator else {
        return Some(top);
    };
    let bottom = product(denominator)?;
    Some(Canonical {
        factor: top.factor / bottom.factor,
        unit: format!("{}/{}", top.unit, bottom.unit),
    })
}

/// A product of terms joined by `.`: `mg.kg` (rarely more than one).
fn product(text: &str) -> Option<Canonical> {
    let mut factor = 1.0;
    let mut units = Vec::new();
    for term in text.split('.') {
        let found = power(term)?;
        factor *= found.factor;
        if found.unit != "1" {
            units.push(found.unit);
        }
    }
    Some(Canonical {
        factor,
        unit: if units.is_empty() {
            "1".into()
        } else {
            units.join(".")
        },
    })
}

/// A term with an optional integer exponent: `m2`, `cm3`.
fn power(term: &str) -> Option<Canonical> {
    if term.chars().all(|c| c.is_ascii_digit()) && !term.is_empty() {
        let n: f64 = term.parse().ok()?;
        return Some(Canonical {
            factor: n,
            unit: "1".into(),
        });
    }
    let digits = term.len() - term.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (body, exponent) = term.split_at(term.len() - digits);
    let exponent: i32 = if digits == 0 {
        1
    } else {
        exponent.parse().ok()?
    };
    let base = atom(body)?;
    Some(Canonical {
        factor: base.factor.powi(exponent),
        unit: if exponent == 1 {
            base.unit
        } else {
            format!("{}{exponent}", base.unit)
        },
    })
}

/// A base atom, possibly with a metric prefix.
fn atom(text: &str) -> Option<Canonical> {
    let lookup = |name: &str| {
        ATOMS
            .iter()
            .find(|(atom, _, _)| *atom == name)
            .map(|(_, factor, unit)| Canonical {
                factor: *factor,
                unit: (*unit).to_owned(),
            })
    };
    if let Some(found) = lookup(text) {
        return Some(found);
    }
    PREFIXES.iter().find_map(|(prefix, scale)| {
        let rest = text.strip_prefix(prefix)?;
        // Only metric atoms take prefixes.
        if !matches!(
            rest,
            "g" | "m" | "L" | "l" | "s" | "mol" | "eq" | "U" | "[IU]" | "Pa"
        ) {
            return None;
        }
        let base = lookup(rest)?;
        Some(Canonical {
            factor: base.factor * scale,
            unit: base.unit,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    #[test]
    fn units_reduce_to_base_units() {
        let mg = canonical("mg").expect("mg");
        assert!(close(mg.factor, 0.001) && mg.unit == "g");
        let per_dl = canonical("mg/dL").expect("mg/dL");
        assert!(close(per_dl.factor, 10.0), "{per_dl:?}");
        assert_eq!(per_dl.unit, "g/m3");
        let mmol = canonical("mmol/L").expect("mmol/L");
        assert_eq!(mmol.unit, "1/m3");
        assert_eq!(canonical("kg").map(|c| c.unit), Some("g".into()));
        assert_eq!(canonical("cm").map(|c| c.factor), Some(0.01));
        assert!(canonical("banana").is_none());
    }
}
