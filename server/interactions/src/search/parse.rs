//! A search's query string as a store query: conditions (with chains and
//! `_has`), sort keys, includes, paging and the result parameters. Used by
//! search and by every conditional interaction.
//! <https://hl7.org/fhir/R4/search.html>

use tillit_model::{DateRange, Issue, IssueType};
use tillit_store::{
    Condition, Cursor, Include, IndexTable, SearchQuery, SortBy, SortKey, TimeWindow, Visibility,
};

use crate::index::{Kind, SearchIndex};
use crate::{Error, Repository};

use super::values;

/// The largest page a client may ask for.
pub const MAX_COUNT: u32 = 1000;
/// The page size when the client names none.
pub const DEFAULT_COUNT: u32 = 20;
/// The most comma-separated alternatives one parameter may carry.
pub const MAX_ALTERNATIVES: usize = 1000;
/// The deepest chain (`a.b.c…`) or `_has` nesting accepted.
pub const MAX_CHAIN_DEPTH: usize = 4;

/// A parsed search: the store query plus the result parameters.
#[derive(Clone, Debug)]
pub struct Search {
    /// What to ask the store.
    pub query: SearchQuery,
    /// `_include` and `_revinclude`.
    pub includes: Vec<Include>,
    /// Parameters that are not supported and were ignored (for a warning).
    pub ignored: Vec<String>,
    /// `_summary=count`: only the total.
    pub count_only: bool,
    /// The search parameters as given, for the `self` link.
    pub echo: Vec<(String, String)>,
    /// `_text` (false) and `_content` (true) queries, answered by the
    /// full-text index before the query runs.
    pub text: Vec<(bool, String)>,
}

/// Why a parameter cannot be used: the 400 (or, leniently, the warning) text.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The issue type.
    kind: IssueType,
    /// What is wrong, naming the parameter.
    message: String,
}

impl Problem {
    /// A malformed value of `param`.
    pub fn value(param: &str, what: &str) -> Problem {
        Problem {
            kind: IssueType::Value,
            message: format!("Search parameter '{param}': {what}"),
        }
    }

    /// Something of `param` this server does not support.
    pub fn unsupported(param: &str, what: &str) -> Problem {
        Problem {
            kind: IssueType::NotSupported,
            message: format!("Search parameter '{param}': {what} is not supported"),
        }
    }

    fn into_error(self) -> Error {
        Error::invalid(Issue::error(self.kind, self.message))
    }
}

/// Parses `params` for a search over `types` (one type, or several for system
/// and compartment searches). Unknown parameters are collected in
/// [`Search::ignored`]; with `strict`, they are an error. Malformed values are
/// always an error.
pub fn parse(
    repo: &Repository,
    types: &[String],
    params: &[(String, String)],
    strict: bool,
) -> Result<Search, Error> {
    let index = repo.search_index();
    let mut search = Search {
        query: SearchQuery {
            types: types.to_vec(),
            condition: Condition::All(Vec::new()),
            sort: Vec::new(),
            count: DEFAULT_COUNT,
            cursor: None,
            total: true,
            visibility: Visibility::default(),
        },
        includes: Vec::new(),
        ignored: Vec::new(),
        count_only: false,
        echo: Vec::new(),
        text: Vec::new(),
    };
    let mut conditions = Vec::new();
    for (name, value) in params {
        let (code, modifier) = match name.split_once(':') {
            Some((code, modifier)) => (code, Some(modifier)),
            None => (name.as_str(), None),
        };
        match code {
            "_format" | "_pretty" | "_summary" | "_elements" => {
                if code == "_summary" && value == "count" {
                    search.count_only = true;
                }
            }
            "_count" => search.query.count = parse_count(value)?,
            "_text" | "_content" if modifier.is_none() => {
                search.text.push((code == "_content", value.clone()))
            }
            "_cursor" => {
                search.query.cursor = Some(Cursor::decode(value).ok_or_else(|| {
                    Problem::value("_cursor", "not a cursor this server issued").into_error()
                })?);
                continue;
            }
            "_total" => {
                search.query.total = match value.as_str() {
                    "none" => false,
                    "estimate" | "accurate" => true,
                    _ => {
                        return Err(
                            Problem::value("_total", "must be none, estimate or accurate")
                                .into_error(),
                        )
                    }
                }
            }
            "_sort" => search.query.sort = parse_sort(&index, types, value)?,
            "_include" | "_revinclude" => {
                let iterate = matches!(modifier, Some("iterate" | "recurse"));
                search.includes.push(
                    parse_include(repo, &index, types, value, code == "_revinclude", iterate)
                        .map_err(Problem::into_error)?,
                );
            }
            _ => match parameter(repo, &index, types, name, value, 0) {
                Ok(condition) => conditions.push(condition),
                Err(Parsed::Unknown(what)) => {
                    if strict {
                        return Err(Error::invalid(Issue::error(
                            IssueType::NotSupported,
                            format!("The search parameter '{what}' is not supported"),
                        )));
                    }
                    search.ignored.push(name.clone());
                    continue;
                }
                Err(Parsed::Bad(problem)) => return Err(problem.into_error()),
            },
        }
        search.echo.push((name.clone(), value.clone()));
    }
    search.query.condition = Condition::All(merge_date_bounds(conditions));
    Ok(search)
}

/// One date test: prefix and the search value's `[low, high)`.
type DateBound = (tillit_store::Prefix, i64, i64);

/// Joins repeated single-valued conditions on one date parameter
/// (`date=ge2024-01-01&date=lt2024-02-01`) into one range that a single
/// value must fall in, as users mean and as other servers read it; the
/// index can then answer it with one range scan.
fn merge_date_bounds(conditions: Vec<Condition>) -> Vec<Condition> {
    use tillit_store::ValueTest;
    let mut out: Vec<Condition> = Vec::with_capacity(conditions.len());
    let mut ranges: Vec<(String, Vec<DateBound>)> = Vec::new();
    for condition in conditions {
        match condition {
            Condition::Match { param, tests }
                if matches!(tests.as_slice(), [ValueTest::Date { .. }]) =>
            {
                let Some(ValueTest::Date { prefix, low, high }) = tests.into_iter().next() else {
                    continue;
                };
                match ranges.iter_mut().find(|(p, _)| *p == param) {
                    Some((_, bounds)) => bounds.push((prefix, low, high)),
                    None => ranges.push((param, vec![(prefix, low, high)])),
                }
            }
            other => out.push(other),
        }
    }
    for (param, bounds) in ranges {
        let test = match bounds.as_slice() {
            [(prefix, low, high)] => ValueTest::Date {
                prefix: *prefix,
                low: *low,
                high: *high,
            },
            _ => ValueTest::DateAll(bounds),
        };
        out.push(Condition::Match {
            param,
            tests: vec![test],
        });
    }
    out
}

/// Why a parameter did not parse: unknown (ignored leniently) or malformed (400).
pub(crate) enum Parsed {
    /// No such parameter here.
    Unknown(String),
    /// A malformed value or unsupported use.
    Bad(Problem),
}

impl From<Problem> for Parsed {
    fn from(problem: Problem) -> Parsed {
        Parsed::Bad(problem)
    }
}

/// The condition for one `name=value` pair over `types`: special parameters,
/// chains, `_has`, and the types' own parameters.
fn parameter(
    repo: &Repository,
    index: &SearchIndex,
    types: &[String],
    name: &str,
    value: &str,
    depth: usize,
) -> Result<Condition, Parsed> {
    if depth > MAX_CHAIN_DEPTH {
        return Err(Problem::value(name, "chains nest at most four deep").into());
    }
    if let Some(rest) = name.strip_prefix("_has:") {
        return has(repo, index, types, rest, value, depth);
    }
    // A chain: `subject:Patient.name`, `subject.organization.name`.
    if let Some((head, rest)) = name.split_once('.') {
        return chain(repo, index, types, head, rest, value, depth);
    }
    let (code, modifier) = match name.split_once(':') {
        Some((code, modifier)) => (code, Some(modifier)),
        None => (name, None),
    };
    let alternatives = split_escaped(value, ',');
    if alternatives.len() > MAX_ALTERNATIVES {
        return Err(Problem::value(
            code,
            &format!(
                "{} values; at most {MAX_ALTERNATIVES} are allowed",
                alternatives.len()
            ),
        )
        .into());
    }
    match (code, modifier) {
        ("_id", None) => return Ok(Condition::Id(alternatives)),
        ("_id", Some("missing")) => {
            return Ok(Condition::All(Vec::new()));
        }
        ("_lastUpdated", None) => {
            return Ok(Condition::LastUpdated(
                alternatives
                    .iter()
                    .map(|v| time_window(v))
                    .collect::<Result<_, _>>()?,
            ))
        }
        ("_type", None) => {
            for ty in &alternatives {
                if !repo.registry.is_resource_type(ty) {
                    return Err(
                        Problem::value("_type", &format!("'{ty}' is not a resource type")).into(),
                    );
                }
            }
            return Ok(Condition::Type(alternatives));
        }
        ("_list", None) => {
            return Ok(Condition::Has {
                source_type: "List".into(),
                param: "item".into(),
                condition: Box::new(Condition::Id(alternatives)),
            })
        }
        _ => {}
    }
    let param = types
        .iter()
        .find_map(|ty| index.param(ty, code))
        .ok_or_else(|| Parsed::Unknown(name.to_owned()))?;
    if param.kind == Kind::Special {
        return Err(Parsed::Unknown(name.to_owned()));
    }
    // Empty values (`name=`) are ignored, as most servers do.
    let alternatives: Vec<String> = alternatives.into_iter().filter(|v| !v.is_empty()).collect();
    if alternatives.is_empty() {
        return Ok(Condition::All(Vec::new()));
    }
    Ok(values::condition(
        param,
        modifier,
        &alternatives,
        &repo.base_url,
        repo.validation.terminology.as_deref(),
    )?)
}

/// `head.rest=value` where `head` is a reference parameter (with an optional
/// `:Type`) and `rest` a parameter of the referenced types.
fn chain(
    repo: &Repository,
    index: &SearchIndex,
    types: &[String],
    head: &str,
    rest: &str,
    value: &str,
    depth: usize,
) -> Result<Condition, Parsed> {
    let (code, target) = match head.split_once(':') {
        Some((code, target)) => (code, Some(target)),
        None => (head, None),
    };
    // A chain is never ignored: its head must be a reference parameter here.
    let param = types
        .iter()
        .find_map(|ty| index.param(ty, code))
        .ok_or_else(|| {
            Problem::value(
                code,
                &format!("is not a search parameter of {}", types.join(", ")),
            )
        })?;
    if param.kind != Kind::Reference {
        return Err(Problem::value(code, "only reference parameters can be chained").into());
    }
    let candidates: Vec<String> = match target {
        Some(ty) => {
            if !repo.registry.is_resource_type(ty) {
                return Err(Problem::value(code, &format!("'{ty}' is not a resource type")).into());
            }
            vec![ty.to_owned()]
        }
        None if param.targets.is_empty() => {
            repo.registry.resource_types().map(str::to_owned).collect()
        }
        None => param.targets.clone(),
    };
    // Only the targets on which the chained parameter exists.
    let next_code = rest.split(['.', ':']).next().unwrap_or(rest);
    let target_types: Vec<String> = candidates
        .into_iter()
        .filter(|ty| {
            next_code.starts_with("_has")
                || matches!(next_code, "_id" | "_lastUpdated")
                || index.param(ty, next_code).is_some()
        })
        .collect();
    if target_types.is_empty() {
        return Err(Problem::value(
            head,
            &format!("no type it references has a parameter '{next_code}'"),
        )
        .into());
    }
    let inner =
        parameter(repo, index, &target_types, rest, value, depth + 1).map_err(|e| match e {
            Parsed::Unknown(what) => {
                Parsed::Bad(Problem::value(head, &format!("cannot chain to '{what}'")))
            }
            bad => bad,
        })?;
    Ok(Condition::Chain {
        param: code.to_owned(),
        target_types,
        condition: Box::new(inner),
    })
}

/// `_has:Type:param:rest=value`: resources of `Type` whose reference `param`
/// points here and that meet `rest=value`.
fn has(
    repo: &Repository,
    index: &SearchIndex,
    types: &[String],
    spec: &str,
    value: &str,
    depth: usize,
) -> Result<Condition, Parsed> {
    let mut parts = spec.splitn(3, ':');
    let (Some(source_type), Some(code), Some(rest)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Problem::value("_has", "expected _has:Type:reference:parameter").into());
    };
    if !repo.registry.is_resource_type(source_type) {
        return Err(
            Problem::value("_has", &format!("'{source_type}' is not a resource type")).into(),
        );
    }
    let reference = index
        .param(source_type, code)
        .filter(|p| p.kind == Kind::Reference)
        .ok_or_else(|| {
            Problem::value(
                "_has",
                &format!("'{code}' is not a reference parameter of {source_type}"),
            )
        })?;
    if !reference.targets.is_empty() && !types.iter().any(|t| reference.targets.contains(t)) {
        return Err(Problem::value(
            "_has",
            &format!(
                "{source_type}.{code} does not refer to {}",
                types.join(", ")
            ),
        )
        .into());
    }
    let source = [source_type.to_owned()];
    let inner = parameter(repo, index, &source, rest, value, depth + 1).map_err(|e| match e {
        Parsed::Unknown(what) => Parsed::Bad(Problem::value(
            "_has",
            &format!("{source_type} has no search parameter '{what}'"),
        )),
        bad => bad,
    })?;
    Ok(Condition::Has {
        source_type: source_type.to_owned(),
        param: code.to_owned(),
        condition: Box::new(inner),
    })
}

fn parse_sort(index: &SearchIndex, types: &[String], value: &str) -> Result<Vec<SortKey>, Error> {
    value
        .split(',')
        .filter(|key| !key.is_empty())
        .map(|key| {
            let (descending, code) = match key.strip_prefix('-') {
                Some(code) => (true, code),
                None => (false, key),
            };
            let by = match code {
                "_id" => SortBy::Id,
                "_lastUpdated" => SortBy::LastUpdated,
                _ => {
                    let param = types
                        .iter()
                        .find_map(|ty| index.param(ty, code))
                        .ok_or_else(|| {
                            Problem::value("_sort", &format!("'{code}' is not a parameter here"))
                                .into_error()
                        })?;
                    let table = param
                        .kind
                        .table()
                        .filter(|t| *t != IndexTable::Composite)
                        .ok_or_else(|| {
                            Problem::unsupported("_sort", &format!("sorting by '{code}'"))
                                .into_error()
                        })?;
                    SortBy::Param {
                        param: code.to_owned(),
                        table,
                    }
                }
            };
            Ok(SortKey { by, descending })
        })
        .collect()
}

/// `Type:param[:target]`, or `*` / `Type:*` for every reference parameter.
fn parse_include(
    repo: &Repository,
    index: &SearchIndex,
    types: &[String],
    value: &str,
    reverse: bool,
    iterate: bool,
) -> Result<Include, Problem> {
    let name = if reverse { "_revinclude" } else { "_include" };
    let mut parts = value.split(':');
    let (source_type, code, target) = match (parts.next(), parts.next(), parts.next()) {
        (Some("*"), None, None) if !reverse => {
            (types.first().cloned().unwrap_or_default(), "*", None)
        }
        (Some(ty), Some(code), target) => (ty.to_owned(), code, target),
        _ => return Err(Problem::value(name, "expected Type:parameter[:targetType]")),
    };
    if !repo.registry.is_resource_type(&source_type) {
        return Err(Problem::value(
            name,
            &format!("'{source_type}' is not a resource type"),
        ));
    }
    if let Some(target) = target {
        if !repo.registry.is_resource_type(target) {
            return Err(Problem::value(
                name,
                &format!("'{target}' is not a resource type"),
            ));
        }
    }
    let params: Vec<String> = if code == "*" {
        index
            .params(&source_type)
            .filter(|p| p.kind == Kind::Reference)
            .map(|p| p.code.clone())
            .collect()
    } else {
        index
            .param(&source_type, code)
            .filter(|p| p.kind == Kind::Reference)
            .ok_or_else(|| {
                Problem::value(
                    name,
                    &format!("'{code}' is not a reference parameter of {source_type}"),
                )
            })?;
        vec![code.to_owned()]
    };
    Ok(Include {
        source_type,
        params,
        target_type: target.map(str::to_owned),
        reverse,
        iterate,
    })
}

fn parse_count(value: &str) -> Result<u32, Error> {
    value.parse::<u32>().map(|n| n.min(MAX_COUNT)).map_err(|_| {
        Problem::value(
            "_count",
            &format!("must be a whole number of 0 or more, not '{value}'"),
        )
        .into_error()
    })
}

/// A `_lastUpdated` value with its prefix, as the window of time it matches.
fn time_window(value: &str) -> Result<TimeWindow, Problem> {
    let (prefix, date) = tillit_store::Prefix::split(value);
    let range = DateRange::parse(date).ok_or_else(|| {
        Problem::value(
            "_lastUpdated",
            &format!("'{date}' is not a date, dateTime or instant"),
        )
    })?;
    let (start, end) = (Some(range.start.0), Some(range.end.0));
    use tillit_store::Prefix as P;
    let window = |from, to, negate| TimeWindow { from, to, negate };
    Ok(match prefix {
        P::Ne => window(start, end, true),
        P::Gt | P::Sa => window(end, None, false),
        P::Ge => window(start, None, false),
        P::Lt | P::Eb => window(None, start, false),
        P::Le => window(None, end, false),
        P::Eq | P::Ap => window(start, end, false),
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
        assert_eq!(split_escaped(r"a\$b$c", '$'), vec!["a$b", "c"]);
    }

    #[test]
    fn last_updated_prefixes_become_windows() {
        let day = DateRange::parse("2024-01-02").expect("a date");
        let gt = time_window("gt2024-01-02").expect("valid");
        assert_eq!((gt.from, gt.to), (Some(day.end.0), None));
        let eq = time_window("2024-01-02").expect("valid");
        assert_eq!((eq.from, eq.to), (Some(day.start.0), Some(day.end.0)));
        assert!(time_window("ge2024-99").is_err());
    }
}
