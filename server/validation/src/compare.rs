//! Comparing instance values with a profile's `fixed[x]` and `pattern[x]`.
//! <https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.fixed_x_>

use serde_json::Value;

/// Whether `value` is exactly `fixed`: the same properties, no more, no fewer,
/// and arrays of the same length in the same order.
pub(crate) fn equals_fixed(value: &Value, fixed: &Value) -> bool {
    match (value, fixed) {
        (Value::Object(v), Value::Object(f)) => {
            v.len() == f.len()
                && f.iter()
                    .all(|(key, fv)| v.get(key).is_some_and(|vv| equals_fixed(vv, fv)))
        }
        (Value::Array(v), Value::Array(f)) => {
            v.len() == f.len() && v.iter().zip(f).all(|(vv, fv)| equals_fixed(vv, fv))
        }
        _ => same_primitive(value, fixed),
    }
}

/// Whether `value` contains `pattern`: every property of the pattern is in the
/// value with a matching value, and every item of a pattern array matches
/// some item of the value's array.
pub(crate) fn matches_pattern(value: &Value, pattern: &Value) -> bool {
    match (value, pattern) {
        (Value::Object(v), Value::Object(p)) => p
            .iter()
            .all(|(key, pv)| v.get(key).is_some_and(|vv| matches_pattern(vv, pv))),
        (Value::Array(v), Value::Array(p)) => p
            .iter()
            .all(|pv| v.iter().any(|vv| matches_pattern(vv, pv))),
        (Value::Array(v), p) => v.iter().any(|vv| matches_pattern(vv, p)),
        (v, Value::Array(p)) => p.iter().all(|pv| matches_pattern(v, pv)),
        _ => same_primitive(value, pattern),
    }
}

/// Primitive equality; numbers compare by value (`1.0` is `1.00`).
fn same_primitive(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((number(a), number(b)), (Some(x), Some(y)) if x == y)
        }
        _ => a == b,
    }
}

/// A JSON number as a float, for comparisons with bounds.
pub(crate) fn number(value: &Value) -> Option<f64> {
    value.as_number()?.as_str().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{equals_fixed, matches_pattern};
    use serde_json::json;

    #[test]
    fn a_pattern_is_contained_and_a_fixed_value_is_whole() {
        let value = json!({"coding": [{"system": "http://loinc.org", "code": "1-8", "display": "x"}, {"code": "2"}]});
        assert!(matches_pattern(
            &value,
            &json!({"coding": [{"system": "http://loinc.org", "code": "1-8"}]})
        ));
        assert!(!matches_pattern(
            &value,
            &json!({"coding": [{"system": "http://snomed.info/sct"}]})
        ));
        assert!(!equals_fixed(&value, &json!({"coding": [{"code": "2"}]})));
        assert!(equals_fixed(&json!(1.0), &json!(1.00)));
        assert!(matches_pattern(&json!("a"), &json!("a")));
    }
}
