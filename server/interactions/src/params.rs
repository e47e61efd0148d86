//! Search parameters as this release understands them, parsed from a query
//! string into store criteria. Used by search and by every conditional interaction.
//! <https://hl7.org/fhir/R4/search.html>

use tillit_model::{DateRange, Issue, IssueType};
use tillit_store::{Criterion, SearchQuery, TimeWindow};

use crate::index::normalize;
use crate::{Error, Repository};

/// The largest page a client may ask for.
pub const MAX_COUNT: u32 = 1000;
/// The page size when the client names none.
pub const DEFAULT_COUNT: u32 = 20;

/// A parsed search: the store query plus the result parameters.
#[derive(Clone, Debug)]
pub struct Search {
    /// What to ask the store.
    pub query: SearchQuery,
    /// Parameters that are not supported and were ignored (for a warning).
    pub ignored: Vec<String>,
    /// `_summary=count`: only the total.
    pub count_only: bool,
    /// `_elements`, if given.
    pub elements: Option<Vec<String>>,
    /// The search parameters as given, for the `self` link.
    pub echo: Vec<(String, String)>,
}

/// Parses `params` for a search of `resource_type`. Unknown parameters are
/// collected in [`Search::ignored`]; with `strict`, they are an error.
pub fn parse(
    repo: &Repository,
    resource_type: &str,
    params: &[(String, String)],
    strict: bool,
) -> Result<Search, Error> {
    let supported = supported_params(repo, resource_type);
    let mut search = Search {
        query: SearchQuery {
            resource_type: resource_type.to_owned(),
            criteria: Vec::new(),
            count: DEFAULT_COUNT,
            after: None,
            total: true,
        },
        ignored: Vec::new(),
        count_only: false,
        elements: None,
        echo: Vec::new(),
    };
    for (name, value) in params {
        let (code, modifier) = match name.split_once(':') {
            Some((code, modifier)) => (code, Some(modifier)),
            None => (name.as_str(), None),
        };
        match code {
            "_format" | "_pretty" => continue,
            "_count" => search.query.count = parse_count(value)?,
            "_cursor" => search.query.after = Some(value.clone()),
            "_total" => search.query.total = value != "none",
            "_summary" if value == "count" => search.count_only = true,
            "_elements" => {
                search.elements = Some(value.split(',').map(|e| e.trim().to_owned()).collect())
            }
            _ if modifier.is_some_and(|m| m != "exact" || code != "name") => {
                unsupported(&mut search, name, strict)?;
                continue;
            }
            _ if supported.contains(&code) => {
                let criterion = criterion(code, modifier, value)?;
                search.query.criteria.push(criterion);
            }
            _ => {
                unsupported(&mut search, name, strict)?;
                continue;
            }
        }
        if code != "_cursor" {
            search.echo.push((name.clone(), value.clone()));
        }
    }
    Ok(search)
}

/// The parameters of this release that apply to `resource_type`.
pub fn supported_params(repo: &Repository, resource_type: &str) -> Vec<&'static str> {
    let defined: Vec<&str> = repo
        .registry
        .search_parameters(resource_type)
        .into_iter()
        .map(|sp| sp.code.as_str())
        .collect();
    let mut params = vec!["_id", "_lastUpdated", "_tag", "_profile", "_security"];
    for code in ["identifier", "url", "version", "name"] {
        if defined.contains(&code) {
            params.push(code);
        }
    }
    params
}

fn unsupported(search: &mut Search, name: &str, strict: bool) -> Result<(), Error> {
    if strict {
        return Err(Error::invalid(Issue::error(
            IssueType::NotSupported,
            format!("The search parameter '{name}' is not supported"),
        )));
    }
    search.ignored.push(name.to_owned());
    Ok(())
}

fn parse_count(value: &str) -> Result<u32, Error> {
    value.parse::<u32>().map(|n| n.min(MAX_COUNT)).map_err(|_| {
        Error::invalid(Issue::error(
            IssueType::Value,
            format!("_count must be a whole number, not '{value}'"),
        ))
    })
}

/// The most comma-separated alternatives one parameter may carry.
pub const MAX_ALTERNATIVES: usize = 1000;

fn criterion(code: &str, modifier: Option<&str>, value: &str) -> Result<Criterion, Error> {
    let alternatives = split_escaped(value, ',');
    if alternatives.len() > MAX_ALTERNATIVES {
        return Err(Error::invalid(Issue::error(
            IssueType::TooLong,
            format!(
                "{code} has {} values; at most {MAX_ALTERNATIVES} are allowed",
                alternatives.len()
            ),
        )));
    }
    Ok(match code {
        "_id" => Criterion::Id(alternatives),
        "_lastUpdated" => Criterion::LastUpdated(
            alternatives
                .iter()
                .map(|v| time_window(v))
                .collect::<Result<_, _>>()?,
        ),
        "name" if modifier == Some("exact") => Criterion::Token {
            param: "name".into(),
            any_of: alternatives
                .iter()
                .map(|v| (None, Some(normalize(v))))
                .collect(),
        },
        "name" => Criterion::StringPrefix {
            param: "name".into(),
            any_of: alternatives.iter().map(|v| normalize(v)).collect(),
        },
        "url" | "_profile" => Criterion::Token {
            param: code.into(),
            any_of: alternatives.into_iter().map(|v| (None, Some(v))).collect(),
        },
        _ => Criterion::Token {
            param: code.into(),
            any_of: alternatives.iter().map(|v| token(v)).collect(),
        },
    })
}

/// `system|code`, `|code`, `system|` or `code`.
fn token(value: &str) -> (Option<String>, Option<String>) {
    let parts = split_escaped(value, '|');
    match parts.as_slice() {
        [code] => (None, Some(code.clone())),
        [system, code] => (
            Some(system.clone()),
            (!code.is_empty()).then(|| code.clone()),
        ),
        _ => (None, Some(value.to_owned())),
    }
}

/// A `_lastUpdated` value with its prefix, as the window of time it matches.
fn time_window(value: &str) -> Result<TimeWindow, Error> {
    let (prefix, date) = match value.get(..2) {
        Some(p @ ("eq" | "ne" | "gt" | "lt" | "ge" | "le" | "sa" | "eb")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let range = DateRange::parse(date).ok_or_else(|| {
        Error::invalid(Issue::error(
            IssueType::Value,
            format!("'{date}' is not a FHIR date, dateTime or instant"),
        ))
    })?;
    let (start, end) = (Some(range.start.0), Some(range.end.0));
    Ok(match prefix {
        "ne" => TimeWindow {
            from: start,
            to: end,
            negate: true,
        },
        "gt" | "sa" => TimeWindow {
            from: end,
            to: None,
            negate: false,
        },
        "ge" => TimeWindow {
            from: start,
            to: None,
            negate: false,
        },
        "lt" | "eb" => TimeWindow {
            from: None,
            to: start,
            negate: false,
        },
        "le" => TimeWindow {
            from: None,
            to: end,
            negate: false,
        },
        _ => TimeWindow {
            from: start,
            to: end,
            negate: false,
        },
    })
}

/// Splits on `separator` where it is not escaped by a backslash, unescaping
/// `\,`, `\|`, `\$` and `\\`.
pub(crate) fn split_escaped(value: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some(next @ (',' | '|' | '$' | '\\')) => push(&mut parts, next),
                Some(next) => {
                    push(&mut parts, '\\');
                    push(&mut parts, next);
                }
                None => push(&mut parts, '\\'),
            },
            c if c == separator => parts.push(String::new()),
            c => push(&mut parts, c),
        }
    }
    parts
}

fn push(parts: &mut [String], ch: char) {
    if let Some(last) = parts.last_mut() {
        last.push(ch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_separators_stay_in_the_value() {
        assert_eq!(split_escaped(r"a\,b,c", ','), vec!["a,b", "c"]);
        assert_eq!(split_escaped(r"s\|x|v", '|'), vec!["s|x", "v"]);
    }

    #[test]
    fn tokens_read_system_and_code() {
        assert_eq!(token("s|c"), (Some("s".into()), Some("c".into())));
        assert_eq!(token("|c"), (Some(String::new()), Some("c".into())));
        assert_eq!(token("s|"), (Some("s".into()), None));
        assert_eq!(token("c"), (None, Some("c".into())));
    }

    #[test]
    fn last_updated_prefixes_become_windows() {
        let day = DateRange::parse("2024-01-02").expect("a date");
        assert_eq!(
            time_window("gt2024-01-02").expect("valid"),
            TimeWindow {
                from: Some(day.end.0),
                to: None,
                negate: false
            }
        );
        assert_eq!(
            time_window("2024-01-02").expect("valid"),
            TimeWindow {
                from: Some(day.start.0),
                to: Some(day.end.0),
                negate: false
            }
        );
        assert!(time_window("ge2024-99").is_err());
    }
}
