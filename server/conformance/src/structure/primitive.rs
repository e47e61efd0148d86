//! Rules for the values of primitive types: the JSON type each is written as,
//! the regex from its StructureDefinition and the ranges of the integer types.
//! <https://hl7.org/fhir/R4/datatypes.html#primitive>

use regex::Regex;
use serde_json::Value;
use tillit_model::IssueType;

/// The extension on `<type>.value` that holds the lexical regex of a primitive type.
const REGEX_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/regex";

/// The JSON type a primitive is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonKind {
    /// `true` or `false`.
    Boolean,
    /// A number without fraction or exponent (checked on its text).
    Integer,
    /// Any JSON number.
    Decimal,
    /// A non-empty string.
    String,
    /// A string holding an XHTML `<div>`.
    Xhtml,
}

impl JsonKind {
    fn of(type_name: &str) -> JsonKind {
        match type_name {
            "boolean" => JsonKind::Boolean,
            "integer" | "positiveInt" | "unsignedInt" => JsonKind::Integer,
            "decimal" => JsonKind::Decimal,
            "xhtml" => JsonKind::Xhtml,
            _ => JsonKind::String,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            JsonKind::Boolean => "a JSON boolean",
            JsonKind::Integer => "a JSON integer number",
            JsonKind::Decimal => "a JSON number",
            JsonKind::String | JsonKind::Xhtml => "a JSON string",
        }
    }
}

/// What is wrong with a primitive value: the issue type and a text that reads
/// after the element's path ("Patient.birthDate has an invalid value …").
#[derive(Debug)]
pub(crate) struct Problem {
    /// The issue type to report.
    pub code: IssueType,
    /// The text, starting with a verb.
    pub text: String,
}

/// How to check the values of one primitive type.
#[derive(Debug)]
pub(crate) struct PrimitiveRule {
    type_name: Box<str>,
    json: JsonKind,
    /// The type's regex, anchored at both ends.
    pattern: Option<Regex>,
    /// The allowed range of an integer type.
    range: Option<(i64, i64)>,
}

impl PrimitiveRule {
    /// The rule for primitive `type_name` described by `definition`.
    pub fn from_definition(type_name: &str, definition: &Value) -> PrimitiveRule {
        let max = i64::from(i32::MAX);
        PrimitiveRule {
            type_name: type_name.into(),
            json: JsonKind::of(type_name),
            pattern: value_regex(type_name, definition)
                .and_then(|source| compile(type_name, source)),
            range: match type_name {
                "integer" => Some((i64::from(i32::MIN), max)),
                "positiveInt" => Some((1, max)),
                "unsignedInt" => Some((0, max)),
                _ => None,
            },
        }
    }

    /// Checks one JSON value (not null: the walker handles nulls).
    pub fn check(&self, value: &Value) -> Result<(), Problem> {
        match (self.json, value) {
            (JsonKind::Boolean, Value::Bool(_)) => Ok(()),
            (JsonKind::Integer, Value::Number(n)) => self.check_integer(n.as_str()),
            (JsonKind::Decimal, Value::Number(n)) => self.check_text(n.as_str()),
            (JsonKind::String, Value::String(s)) if s.is_empty() => Err(Problem {
                code: IssueType::Value,
                text: format!(
                    "is an empty string; a value of type {} has at least one character",
                    self.type_name
                ),
            }),
            (JsonKind::String, Value::String(s)) => self.check_text(s),
            (JsonKind::Xhtml, Value::String(s)) if s.starts_with("<div") => Ok(()),
            (JsonKind::Xhtml, Value::String(s)) => Err(Problem {
                code: IssueType::Value,
                text: format!(
                    "has an invalid value '{}' for type xhtml; expected a <div> element",
                    shorten(s)
                ),
            }),
            (expected, found) => Err(Problem {
                code: IssueType::Structure,
                text: format!(
                    "must be {} (type {}), found {}",
                    expected.describe(),
                    self.type_name,
                    describe(found)
                ),
            }),
        }
    }

    fn check_integer(&self, text: &str) -> Result<(), Problem> {
        let Some((min, max)) = self.range else {
            return self.check_text(text);
        };
        let out_of_range = || {
            Problem {
            code: IssueType::Value,
            text: format!(
                "has an invalid value {text} for type {}; expected a whole number from {min} to {max}",
                self.type_name
            ),
        }
        };
        match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => self.check_text(text),
            Ok(_) => Err(out_of_range()),
            // Not an i64: a fraction or exponent, or a whole number far out of range.
            Err(_) => self.check_text(text).and(Err(out_of_range())),
        }
    }

    fn check_text(&self, text: &str) -> Result<(), Problem> {
        // FHIR strings may not hold characters below U+0020 other than tab, CR and LF.
        // <https://hl7.org/fhir/R4/datatypes.html#string>
        if let Some(bad) = text
            .chars()
            .find(|c| (*c as u32) < 0x20 && !matches!(c, '\t' | '\r' | '\n'))
        {
            return Err(Problem {
                code: IssueType::Value,
                text: format!(
                    "contains the control character U+{:04X}, which FHIR strings may not hold",
                    bad as u32
                ),
            });
        }
        match &self.pattern {
            Some(pattern) if !pattern.is_match(text) => Err(Problem {
                code: IssueType::Value,
                text: format!(
                    "has an invalid value '{}' for type {}; expected {}",
                    shorten(text),
                    self.type_name,
                    expectation(&self.type_name, pattern)
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// What a valid value of `type_name` looks like, in words where the regex is hard to read.
fn expectation(type_name: &str, pattern: &Regex) -> String {
    let form = match type_name {
        "date" => "YYYY, YYYY-MM or YYYY-MM-DD",
        "dateTime" => "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss(.sss) with a time zone",
        "instant" => "YYYY-MM-DDThh:mm:ss(.sss) with a time zone",
        "time" => "hh:mm:ss(.sss)",
        "id" => "1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'",
        "code" => "text without leading, trailing or double whitespace",
        "integer" | "positiveInt" | "unsignedInt" => "a whole number without fraction or exponent",
        _ => return format!("a match of {}", pattern.as_str()),
    };
    form.to_owned()
}

/// The regex on the `value` element of a primitive type's snapshot.
fn value_regex<'d>(type_name: &str, definition: &'d Value) -> Option<&'d str> {
    let value_path = format!("{type_name}.value");
    definition
        .pointer("/snapshot/element")?
        .as_array()?
        .iter()
        .find(|e| e.get("path").and_then(Value::as_str) == Some(value_path.as_str()))?
        .get("type")?
        .as_array()?
        .iter()
        .filter_map(|t| t.get("extension").and_then(Value::as_array))
        .flatten()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(REGEX_EXTENSION))?
        .get("valueString")?
        .as_str()
}

/// Compiles a type's regex anchored at both ends; a regex the engine rejects
/// is logged and skipped, so values of that type are not checked against it.
fn compile(type_name: &str, source: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{})$", from_xml_schema(source)))
        .inspect_err(|error| tracing::warn!(type_name, %error, "primitive regex ignored"))
        .ok()
}

/// FHIR's regexes follow XML Schema, where `\s` is only space, tab, CR and LF;
/// the regex crate's `\s` is Unicode white space, no-break space included, and
/// would reject strings the specification allows. Nested classes keep the
/// replacement valid inside brackets too: `[ \S]` becomes `[ [^ \t\n\r]]`.
fn from_xml_schema(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 16);
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push_str(r"[ \t\n\r]"),
            Some('S') => out.push_str(r"[^ \t\n\r]"),
            Some(escaped) => {
                out.push('\\');
                out.push(escaped);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// How a JSON value is described in issue texts.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most 64 characters of `text`, for issue texts.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
