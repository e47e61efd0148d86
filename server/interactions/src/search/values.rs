//! One search parameter's value, with its modifier, as store conditions: the
//! per-type rules of <https://hl7.org/fhir/R4/search.html>.

use tillit_model::DateRange;
use tillit_store::{Condition, Prefix, StringTest, UriTest, ValueTest};
use tillit_terminology::Terminology;

use crate::index::extract::{clip, reference_value};
use crate::index::text::fold;
use crate::index::units::{canonical, UCUM};
use crate::index::{Kind, Param};

use super::parse::{split_escaped, Problem};

/// The condition for `param` with `modifier` and one comma-separated value
/// list `alternatives` (any of which may match).
pub fn condition(
    param: &Param,
    modifier: Option<&str>,
    alternatives: &[String],
    base_url: &str,
    terminology: Option<&Terminology>,
) -> Result<Condition, Problem> {
    let code = param.code.as_str();
    if modifier == Some("missing") {
        let missing = match alternatives {
            [one] if one == "true" => true,
            [one] if one == "false" => false,
            _ => return Err(Problem::value(code, "':missing' takes true or false")),
        };
        let table = param
            .kind
            .table()
            .ok_or_else(|| Problem::unsupported(code, "':missing' on a special parameter"))?;
        return Ok(Condition::Missing {
            param: code.to_owned(),
            table,
            missing,
        });
    }
    let matched = |param: &str, tests: Vec<ValueTest>| Condition::Match {
        param: param.to_owned(),
        tests,
    };
    let each = |f: &dyn Fn(&str) -> Result<ValueTest, Problem>| {
        alternatives
            .iter()
            .map(|v| f(v))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match (param.kind, modifier) {
        (Kind::String, None) => matched(
            code,
            each(&|v| {
                Ok(ValueTest::String(StringTest::Prefix(
                    clip(&fold(v)).to_owned(),
                )))
            })?,
        ),
        (Kind::String, Some("exact")) => matched(
            code,
            each(&|v| {
                Ok(ValueTest::String(StringTest::Exact {
                    folded: clip(&fold(v)).to_owned(),
                    exact: clip(v).to_owned(),
                }))
            })?,
        ),
        (Kind::String, Some("contains")) => matched(
            code,
            each(&|v| Ok(ValueTest::String(StringTest::Contains(fold(v)))))?,
        ),
        (Kind::Token, None) => matched(code, each(&|v| Ok(token(v)))?),
        (Kind::Token, Some("not")) => {
            Condition::Not(Box::new(matched(code, each(&|v| Ok(token(v)))?)))
        }
        (Kind::Token, Some("text")) => matched(
            &format!("{code}:text"),
            each(&|v| Ok(ValueTest::String(StringTest::Prefix(fold(v)))))?,
        ),
        (Kind::Token, Some("of-type")) => matched(
            &format!("{code}:of-type"),
            each(&|v| {
                let parts = split_escaped(v, '|');
                let [system, type_code, value] = parts.as_slice() else {
                    return Err(Problem::value(code, "':of-type' takes system|code|value"));
                };
                Ok(ValueTest::Composite {
                    system: Some(system.clone()),
                    code: type_code.clone(),
                    second: Box::new(ValueTest::Token {
                        system: None,
                        code: Some(value.clone()),
                    }),
                })
            })?,
        ),
        (Kind::Token, Some(m @ ("in" | "not-in" | "above" | "below"))) => {
            let Some(terminology) = terminology else {
                return Err(Problem::unsupported(
                    code,
                    &format!("':{m}' without a terminology service"),
                ));
            };
            let mut tests = Vec::new();
            for value in alternatives {
                tests.extend(terminology_codes(terminology, code, m, value)?);
            }
            if tests.len() > MAX_TERMINOLOGY_CODES {
                return Err(Problem::unsupported(
                    code,
                    &format!(
                        "':{m}' over {} codes (at most {MAX_TERMINOLOGY_CODES})",
                        tests.len()
                    ),
                ));
            }
            // No codes: nothing matches (`:not-in` then matches everything).
            let matching = if tests.is_empty() {
                Condition::Any(Vec::new())
            } else {
                matched(code, tests)
            };
            if m == "not-in" {
                Condition::Not(Box::new(matching))
            } else {
                matching
            }
        }
        (Kind::Date, None) => matched(code, each(&|v| date(code, v))?),
        (Kind::Number, None) => matched(
            code,
            each(&|v| {
                let (prefix, rest) = Prefix::split(v);
                let (value, low, high) = number(code, rest)?;
                Ok(ValueTest::Number {
                    prefix,
                    value,
                    low,
                    high,
                })
            })?,
        ),
        (Kind::Quantity, None) => {
            // Each value searches base units (when it has a UCUM unit) or the units as written.
            let mut parts = Vec::with_capacity(alternatives.len());
            for v in alternatives {
                let (canonical, test) = quantity(code, v)?;
                let param = if canonical {
                    format!("{code}:canonical")
                } else {
                    code.to_owned()
                };
                parts.push(matched(&param, vec![test]));
            }
            match parts.len() {
                1 => parts.remove(0),
                _ => Condition::Any(parts),
            }
        }
        (Kind::Reference, Some("identifier")) => {
            matched(&format!("{code}:identifier"), each(&|v| Ok(token(v)))?)
        }
        (Kind::Reference, modifier) => {
            let target_type = match modifier {
                None => None,
                Some(ty) if ty.starts_with(|c: char| c.is_ascii_uppercase()) => Some(ty),
                Some(other) => {
                    return Err(Problem::unsupported(
                        code,
                        &format!("the modifier ':{other}' on a reference"),
                    ))
                }
            };
            matched(code, each(&|v| reference(code, v, target_type, base_url))?)
        }
        (Kind::Uri, None) => matched(
            code,
            each(&|v| Ok(ValueTest::Uri(UriTest::Exact(v.into()))))?,
        ),
        (Kind::Uri, Some("above")) => matched(
            code,
            each(&|v| Ok(ValueTest::Uri(UriTest::Above(v.into()))))?,
        ),
        (Kind::Uri, Some("below")) => matched(
            code,
            each(&|v| Ok(ValueTest::Uri(UriTest::Below(v.into()))))?,
        ),
        (Kind::Composite, None) => matched(code, each(&|v| composite(param, v))?),
        (_, None) => {
            return Err(Problem::unsupported(
                code,
                "this special parameter in this release",
            ))
        }
        (_, Some(other)) => {
            return Err(Problem::unsupported(
                code,
                &format!("the modifier ':{other}' on a {:?} parameter", param.kind),
            ))
        }
    })
}

/// The most codes a terminology modifier (`:in`, `:below`…) may stand for in
/// one search; beyond, the search is refused rather than made slow.
const MAX_TERMINOLOGY_CODES: usize = 2_000;

/// The token tests `:in`/`:not-in` (a value set's codes) or `:below`/`:above`
/// (`system|code` and its descendants or ancestors) stand for.
fn terminology_codes(
    terminology: &Terminology,
    code: &str,
    modifier: &str,
    value: &str,
) -> Result<Vec<ValueTest>, Problem> {
    let token = |system: &str, c: &str| ValueTest::Token {
        system: Some(system.to_owned()),
        code: Some(c.to_owned()),
    };
    if matches!(modifier, "in" | "not-in") {
        let codes = terminology.codes_of(value).ok_or_else(|| {
            Problem::value(
                code,
                &format!("the value set {value} is not known or cannot be expanded"),
            )
        })?;
        return Ok(codes.iter().map(|(s, c)| token(s, c)).collect());
    }
    let parts = split_escaped(value, '|');
    let [system, concept] = parts.as_slice() else {
        return Err(Problem::value(
            code,
            &format!("':{modifier}' takes system|code"),
        ));
    };
    let codes = terminology
        .hierarchy(system, concept, modifier == "below")
        .ok_or_else(|| {
            Problem::value(
                code,
                &format!("{system}|{concept} is not a code of a code system held here"),
            )
        })?;
    Ok(codes.iter().map(|c| token(system, c)).collect())
}

/// `system|code`, `|code` (no system), `system|` (any code) or `code`.
pub fn token(value: &str) -> ValueTest {
    let parts = split_escaped(value, '|');
    match parts.as_slice() {
        [system, code] => ValueTest::Token {
            system: Some(clip(system).to_owned()),
            code: (!code.is_empty()).then(|| clip(code).to_owned()),
        },
        [code] => ValueTest::Token {
            system: None,
            code: Some(clip(code).to_owned()),
        },
        _ => ValueTest::Token {
            system: None,
            code: Some(value.to_owned()),
        },
    }
}

fn date(code: &str, value: &str) -> Result<ValueTest, Problem> {
    let (prefix, rest) = Prefix::split(value);
    let range = DateRange::parse(rest).ok_or_else(|| {
        Problem::value(
            code,
            &format!("'{rest}' is not a date, dateTime or instant"),
        )
    })?;
    let (mut low, mut high) = (range.start.0, range.end.0);
    if prefix == Prefix::Ap {
        // "Approximately": 10% of the distance from now, at least a day.
        let now = tillit_model::Instant::now().0;
        let margin = ((now - low).abs() / 10).max(86_400_000);
        low = low.saturating_sub(margin);
        high = high.saturating_add(margin);
    }
    Ok(ValueTest::Date { prefix, low, high })
}

/// A decimal search value with the implicit range its precision gives:
/// `100` is `[99.5, 100.5)`, `1.50` is `[1.495, 1.505)`, `1e2` is `[50, 150)`.
fn number(code: &str, text: &str) -> Result<(f64, f64, f64), Problem> {
    let value: f64 = text
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| Problem::value(code, &format!("'{text}' is not a number")))?;
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
    // Digits beyond what a double holds (`66.899999999999991`) would give a
    // range narrower than the rounding of stored values: keep a few ulps.
    let half = (0.5 * 10f64.powi(exponent - decimals)).max(value.abs() * 4.0 * f64::EPSILON);
    Ok((value, value - half, value + half))
}

/// A quantity search value, and whether it was converted to base units (and
/// so searches the `:canonical` rows).
fn quantity(code: &str, value: &str) -> Result<(bool, ValueTest), Problem> {
    let (prefix, rest) = Prefix::split(value);
    let parts = split_escaped(rest, '|');
    let (number_text, system, unit) = match parts.as_slice() {
        [n] => (n.as_str(), None, None),
        [n, s, u] => (
            n.as_str(),
            (!s.is_empty()).then(|| s.clone()),
            (!u.is_empty()).then(|| u.clone()),
        ),
        _ => {
            return Err(Problem::value(
                code,
                "a quantity is number, number|system|code or number||code",
            ))
        }
    };
    let (mut value, mut low, mut high) = number(code, number_text)?;
    let (mut system, mut unit) = (system, unit);
    if prefix == Prefix::Ap {
        let margin = (value.abs() * 0.1).max(high - low);
        low = value - margin;
        high = value + margin;
    }
    let mut converted = false;
    if system.as_deref() == Some(UCUM) {
        if let Some(c) = unit.as_deref().and_then(canonical) {
            value *= c.factor;
            low *= c.factor;
            high *= c.factor;
            system = Some(UCUM.into());
            unit = Some(c.unit);
            converted = true;
        }
    }
    Ok((
        converted,
        ValueTest::Quantity {
            system,
            code: unit,
            prefix,
            value,
            low,
            high,
        },
    ))
}

/// A quantity compared in the units as written (composite components are
/// indexed without base-unit rows).
fn quantity_as_written(code: &str, value: &str) -> Result<ValueTest, Problem> {
    let (prefix, rest) = Prefix::split(value);
    let parts = split_escaped(rest, '|');
    let number_text = parts.first().map_or("", String::as_str);
    let (value, low, high) = number(code, number_text)?;
    let part = |i: usize| parts.get(i).filter(|s| !s.is_empty()).cloned();
    Ok(ValueTest::Quantity {
        system: part(1),
        code: part(2),
        prefix,
        value,
        low,
        high,
    })
}

fn reference(
    code: &str,
    value: &str,
    target_type: Option<&str>,
    base_url: &str,
) -> Result<ValueTest, Problem> {
    if value.is_empty() {
        return Err(Problem::value(code, "a reference value is empty"));
    }
    let (url, canonical_version) = match value.split_once('|') {
        Some((u, v)) if u.contains("://") => (u, Some(v.to_owned())),
        _ => (value, None),
    };
    // A bare id: any type (or the modifier's).
    if !url.contains('/') && !url.contains(':') {
        return Ok(ValueTest::Reference {
            target_type: target_type.map(str::to_owned),
            target_id: url.to_owned(),
            version: None,
        });
    }
    match reference_value(url, base_url) {
        Some(tillit_store::IndexValue::Reference {
            target_type: ty,
            target_id,
            version,
        }) => Ok(ValueTest::Reference {
            target_type: Some(ty),
            target_id,
            version: canonical_version.or((!version.is_empty()).then_some(version)),
        }),
        _ => Err(Problem::value(
            code,
            &format!("'{value}' is not a reference"),
        )),
    }
}

fn composite(param: &Param, value: &str) -> Result<ValueTest, Problem> {
    let code = param.code.as_str();
    let parts = split_escaped(value, '$');
    let ([first, second], [_, second_component]) = (parts.as_slice(), param.components.as_slice())
    else {
        return Err(Problem::value(
            code,
            "a composite value is two components joined by '$'",
        ));
    };
    let ValueTest::Token {
        system,
        code: Some(first_code),
    } = token(first)
    else {
        return Err(Problem::value(code, "the first component needs a code"));
    };
    let second = match second_component.kind {
        Kind::Token => token(second),
        Kind::String => ValueTest::String(StringTest::Prefix(fold(second))),
        Kind::Quantity => quantity_as_written(code, second)?,
        Kind::Date => date(code, second)?,
        Kind::Number => {
            let (prefix, rest) = Prefix::split(second);
            let (value, low, high) = number(code, rest)?;
            ValueTest::Number {
                prefix,
                value,
                low,
                high,
            }
        }
        other => {
            return Err(Problem::unsupported(
                code,
                &format!("a composite whose second component is {other:?}"),
            ))
        }
    };
    Ok(ValueTest::Composite {
        system,
        code: first_code,
        second: Box::new(second),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_carry_their_precision() {
        let (v, low, high) = number("n", "100").expect("a number");
        assert_eq!((v, low, high), (100.0, 99.5, 100.5));
        let (_, low, high) = number("n", "1.50").expect("a number");
        assert!((low - 1.495).abs() < 1e-9 && (high - 1.505).abs() < 1e-9);
        let (_, low, high) = number("n", "1e2").expect("a number");
        assert_eq!((low, high), (50.0, 150.0));
        assert!(number("n", "banana").is_err());
    }

    #[test]
    fn quantities_are_searched_in_canonical_units() {
        let (converted, test) =
            quantity("q", "5.4|http://unitsofmeasure.org|mg").expect("a quantity");
        assert!(converted);
        let ValueTest::Quantity { code, value, .. } = test else {
            panic!("not a quantity test");
        };
        assert_eq!(code.as_deref(), Some("g"));
        assert!((value - 0.0054).abs() < 1e-12);
    }
}
