//! Search conformance over the R4 examples. A dedicated server per database is
//! loaded with the examples of `hl7.fhir.r4.examples@4.0.1` (all but the
//! specification's own SearchParameters, StructureDefinitions, CodeSystems and
//! ValueSets, and the Bundles of megabytes that collect them), then:
//! - every SearchParameter of R4 with an expression is checked on every loaded
//!   example of its base types. The expression is evaluated here, with the
//!   FHIRPath engine over the package's definitions; the server must find the
//!   example by one of the values it yields, searching without any other
//!   condition, and must list it under `:missing=false` exactly when the
//!   expression yields a searchable value and under `:missing=true` otherwise;
//! - the queries of `tests/fixtures/r4-examples-searches.txt`, worked out by hand
//!   from the examples, must return exactly the resources listed there.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use tillit_fhirpath::{Environment, Expression, Item, Model};

use crate::support::{client, match_ids, r4_examples, typed_entries, Backend, Database, Server};

/// Types of the specification's own definitions, left out of the load: they
/// are thousands of resources that add nothing to search semantics (and a
/// SearchParameter stored on the server becomes active).
const DEFINITION_TYPES: &[&str] = &[
    "SearchParameter",
    "StructureDefinition",
    "CodeSystem",
    "ValueSet",
];

/// Examples larger than this are definition collections, left out of the load.
const MAX_EXAMPLE_BYTES: usize = 1_000_000;

/// Value searches per resource type, parameter (with modifier) and number of
/// `|`-separated parts; the `:missing` checks cover every example.
const EXAMPLES_PER_SHAPE: usize = 4;

/// Searches run at once against the server.
const CONCURRENCY: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    r4_example_searches(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    r4_example_searches(Backend::Postgres).await;
}

async fn r4_example_searches(backend: Backend) {
    let srv = Server::start_on(&Database::fresh(backend));
    let loaded = load(&srv).await;
    let mut failures = Vec::new();
    failures.extend(every_parameter_finds_its_values(&srv, &loaded).await);
    failures.extend(fixture_queries(&srv).await);
    srv.assert_no_panics().await;
    assert!(
        failures.is_empty(),
        "{} search failures on {backend:?}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Stores the examples with batch Bundles of PUTs; returns those accepted, by
/// type and id. (The few the structural check rejects are the round-trip test's
/// business.)
async fn load(srv: &Server) -> BTreeMap<(String, String), Value> {
    let examples: Vec<&Value> = r4_examples()
        .iter()
        .map(|(_, r)| r)
        .filter(|r| {
            let t = r["resourceType"].as_str().unwrap_or_default();
            !DEFINITION_TYPES.contains(&t)
                || r["id"].as_str().is_some_and(|id| id.contains("example"))
        })
        // The specification's definitions also come as Bundles of many
        // megabytes (`Bundle/resources` is 30 MB): only their size is new.
        .filter(|r| r.to_string().len() < MAX_EXAMPLE_BYTES)
        .collect();
    // Batches of about a megabyte stay well under the server's body limit.
    let mut batches: Vec<Vec<&Value>> = vec![Vec::new()];
    let mut size = 0;
    for resource in examples {
        let len = resource.to_string().len();
        if size + len > 1_000_000 && !batches.last().unwrap().is_empty() {
            batches.push(Vec::new());
            size = 0;
        }
        size += len;
        batches.last_mut().unwrap().push(resource);
    }
    let mut loaded = BTreeMap::new();
    for chunk in &batches {
        let entries: Vec<Value> = chunk
            .iter()
            .map(|r| {
                json!({"resource": r, "request": {"method": "PUT",
                    "url": format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap())}})
            })
            .collect();
        let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": entries});
        let resp = srv.send(Method::POST, "", &bundle).await;
        assert_eq!(resp.status(), 200, "batch load");
        let answer: Value = resp.json().await.unwrap();
        for (resource, entry) in chunk.iter().zip(answer["entry"].as_array().unwrap()) {
            let status = entry["response"]["status"].as_str().unwrap_or_default();
            if status.starts_with('2') {
                loaded.insert(
                    (
                        resource["resourceType"].as_str().unwrap().to_owned(),
                        resource["id"].as_str().unwrap().to_owned(),
                    ),
                    (*resource).clone(),
                );
            }
        }
    }
    assert!(loaded.len() > 850, "loaded only {} examples", loaded.len());
    loaded
}

/// An R4 SearchParameter with an expression, as the package defines it.
struct Parameter {
    code: String,
    kind: String,
    bases: Vec<String>,
    expression: Expression,
}

/// Every SearchParameter of the package whose expression this test can check:
/// composite and special parameters have their own fixture queries.
fn parameters() -> Vec<Parameter> {
    r4_examples()
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r["resourceType"] == "SearchParameter")
        .filter(|r| {
            r["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http://hl7.org/fhir/SearchParameter/"))
        })
        .filter_map(|r| {
            let kind = r["type"].as_str()?.to_owned();
            if kind == "composite" || kind == "special" {
                return None;
            }
            Some(Parameter {
                code: r["code"].as_str()?.to_owned(),
                kind,
                bases: r["base"]
                    .as_array()?
                    .iter()
                    .filter_map(|b| b.as_str().map(str::to_owned))
                    .collect(),
                expression: Expression::parse(r["expression"].as_str()?).ok()?,
            })
        })
        .collect()
}

/// What one search must show: `query` on `resource_type` lists `id` (`true`)
/// or does not (`false`).
struct Expectation {
    resource_type: String,
    query: String,
    id: String,
    listed: bool,
}

async fn every_parameter_finds_its_values(
    srv: &Server,
    loaded: &BTreeMap<(String, String), Value>,
) -> Vec<String> {
    let model = Model::from_definitions(
        r4_examples()
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r["resourceType"] == "StructureDefinition"),
    );
    let env = Environment::new(&model);
    let mut expectations = Vec::new();
    let mut checked_pairs = 0;
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    for parameter in parameters() {
        for ((resource_type, id), resource) in loaded {
            if !parameter.bases.iter().any(|b| b == resource_type) {
                continue;
            }
            let Ok(items) = parameter.expression.evaluate(resource, &env) else {
                continue;
            };
            checked_pairs += 1;
            let query = items.iter().find_map(|item| query_for(&parameter, item));
            // Present means the expression yields something, searchable or not.
            let has_value = !items.is_empty();
            if let Some(query) = query.filter(|q| {
                // A few examples per shape of value keep the run short.
                let (name, value) = q.split_once('=').unwrap_or_default();
                let shape = format!("{resource_type}?{name}={}", value.matches("%7C").count());
                let seen = shapes.entry(shape).or_insert(0);
                *seen += 1;
                *seen <= EXAMPLES_PER_SHAPE
            }) {
                expectations.push(Expectation {
                    resource_type: resource_type.clone(),
                    query: format!("{query}&_count=1000&_elements=id"),
                    id: id.clone(),
                    listed: true,
                });
            }
            for (missing, listed) in [("true", !has_value), ("false", has_value)] {
                expectations.push(Expectation {
                    resource_type: resource_type.clone(),
                    query: format!(
                        "{}:missing={missing}&_count=1000&_elements=id",
                        parameter.code
                    ),
                    id: id.clone(),
                    listed,
                });
            }
        }
    }
    assert!(
        checked_pairs > 10_000,
        "only {checked_pairs} parameter values checked"
    );
    // One request per distinct query; every expectation on it is checked against its answer.
    let mut by_query: BTreeMap<String, Vec<Expectation>> = BTreeMap::new();
    for e in expectations {
        by_query
            .entry(format!("{}?{}", e.resource_type, e.query))
            .or_default()
            .push(e);
    }
    let answers = search_all(srv, by_query.keys().cloned().collect()).await;
    let mut failures = Vec::new();
    for (url, expectations) in by_query {
        match &answers[&url] {
            Err(problem) => failures.push(format!("{url}: {problem}")),
            Ok(ids) => {
                for e in expectations {
                    if ids.contains(&e.id) != e.listed {
                        let verb = if e.listed { "misses" } else { "lists" };
                        failures.push(format!("{url} {verb} {}/{}", e.resource_type, e.id));
                    }
                }
            }
        }
    }
    failures
}

/// Runs the searches `CONCURRENCY` at a time; the match ids of each, or why it failed.
async fn search_all(
    srv: &Server,
    urls: Vec<String>,
) -> BTreeMap<String, Result<BTreeSet<String>, String>> {
    let client = client();
    let base = Arc::new(srv.base.clone());
    let urls = Arc::new(std::sync::Mutex::new(urls));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, base, urls) = (client.clone(), base.clone(), urls.clone());
        workers.spawn(async move {
            let mut out = Vec::new();
            loop {
                let Some(url) = urls.lock().unwrap().pop() else {
                    return out;
                };
                let answer = every_page(&client, format!("{base}/{url}")).await;
                out.push((url, answer));
            }
        });
    }
    let mut answers = BTreeMap::new();
    while let Some(done) = workers.join_next().await {
        answers.extend(done.expect("search worker"));
    }
    answers
}

/// The match ids of every page of the search at `url`, following `next` links
/// (the server holds the 1,400 SearchParameters of R4, for one).
async fn every_page(client: &reqwest::Client, url: String) -> Result<BTreeSet<String>, String> {
    let mut ids = BTreeSet::new();
    let mut next = Some(url);
    while let Some(url) = next.take() {
        let resp = client.get(&url).send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status != 200 {
            return Err(format!(
                "HTTP {status}: {}",
                body["issue"][0]["diagnostics"]
            ));
        }
        ids.extend(match_ids(&body));
        next = body["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
    }
    Ok(ids)
}

/// The query (`code[:modifier]=value`, URL-encoded) that must find the resource
/// holding `item` through `parameter`, or `None` when the item holds nothing
/// searchable for that parameter's type.
fn query_for(parameter: &Parameter, item: &Item<'_>) -> Option<String> {
    let fhir_type = item.type_name();
    let value = item.to_json();
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (modifier, search_value) = match parameter.kind.as_str() {
        "string" => match fhir_type {
            "HumanName" => (
                "",
                escape(
                    text("family")
                        .or_else(|| value["given"][0].as_str())
                        .or(text("text"))?,
                ),
            ),
            "Address" => (
                "",
                escape(
                    value["line"][0]
                        .as_str()
                        .or_else(|| text("city"))
                        .or_else(|| text("postalCode"))
                        .or_else(|| text("country"))
                        .or_else(|| text("text"))?,
                ),
            ),
            _ => ("", escape(value.as_str().filter(|s| !s.is_empty())?)),
        },
        "token" => match fhir_type {
            "CodeableConcept" => {
                let coded = value["coding"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(token_of_coding);
                match coded {
                    Some(token) => ("", token),
                    None => (":text", escape(text("text")?)),
                }
            }
            "Coding" => ("", token_of_coding(&value)?),
            "Identifier" => ("", system_and(text("system"), text("value")?)),
            "ContactPoint" => ("", escape(text("value")?)),
            "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "Money" => {
                ("", system_and(text("system"), text("code")?))
            }
            "Reference" => (
                "",
                system_and(
                    value["identifier"]["system"].as_str(),
                    value["identifier"]["value"].as_str()?,
                ),
            ),
            _ => match &value {
                Value::String(s) if !s.is_empty() => ("", escape(s)),
                Value::Bool(b) => ("", b.to_string()),
                _ => return None,
            },
        },
        "reference" => match fhir_type {
            "Reference" => match text("reference") {
                Some(r) if !r.starts_with('#') => ("", escape(r)),
                Some(_) => return None,
                None => (
                    ":identifier",
                    system_and(
                        value["identifier"]["system"].as_str(),
                        value["identifier"]["value"].as_str()?,
                    ),
                ),
            },
            _ => (
                "",
                escape(
                    value
                        .as_str()
                        .filter(|s| !s.is_empty() && !s.starts_with('#'))?,
                ),
            ),
        },
        "date" => match fhir_type {
            "Period" => match (text("start"), text("end")) {
                (Some(start), _) => ("", format!("ge{start}")),
                (None, Some(end)) => ("", format!("le{end}")),
                _ => return None,
            },
            "Timing" => ("", value["event"][0].as_str()?.to_owned()),
            "date" | "dateTime" | "instant" => ("", value.as_str()?.to_owned()),
            _ => return None,
        },
        "number" => ("", value.as_number()?.to_string()),
        "quantity" => match fhir_type {
            "Quantity" | "Age" | "Duration" | "Distance" | "Count" | "Money" => {
                let number = value["value"].as_number()?.to_string();
                match (text("system"), text("code").or(text("currency"))) {
                    (Some(system), Some(code)) => {
                        ("", format!("{number}|{}|{}", escape(system), escape(code)))
                    }
                    (None, Some(code)) => ("", format!("{number}||{}", escape(code))),
                    _ => ("", number),
                }
            }
            _ => return None,
        },
        "uri" => ("", escape(value.as_str().filter(|s| !s.is_empty())?)),
        _ => return None,
    };
    Some(format!(
        "{}{modifier}={}",
        parameter.code,
        percent_encode(&search_value)
    ))
}

/// `system|code` of a Coding with a code, or the code alone (any system).
fn token_of_coding(coding: &Value) -> Option<String> {
    let code = coding["code"].as_str().filter(|s| !s.is_empty())?;
    Some(system_and(coding["system"].as_str(), code))
}

/// `system|value` when there is a system, else `value` (any system).
fn system_and(system: Option<&str>, value: &str) -> String {
    match system.filter(|s| !s.is_empty()) {
        Some(system) => format!("{}|{}", escape(system), escape(value)),
        None => escape(value),
    }
}

/// Escapes the search syntax characters `\ , $ |` in one part of a value.
fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, '\\' | ',' | '$' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The hand-written queries and what each must return.
async fn fixture_queries(srv: &Server) -> Vec<String> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/r4-examples-searches.txt");
    let text = std::fs::read_to_string(path).expect("fixture");
    let mut failures = Vec::new();
    let mut queries = 0;
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (query, expected) = line.split_once(" =>").expect("'query => results' lines");
        let mut parts = expected.split(';').map(str::trim);
        let matches: Vec<&str> = parts
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let (mut included, mut total) = (BTreeSet::new(), None);
        for part in parts {
            if let Some(list) = part.strip_prefix("include:") {
                included = list.split_whitespace().map(str::to_owned).collect();
            } else if let Some(n) = part.strip_prefix("total:") {
                total = Some(n.trim().parse::<u64>().expect("total"));
            }
        }
        queries += 1;
        let resp = srv.get(query).await;
        let status = resp.status().as_u16();
        let bundle: Value = resp.json().await.unwrap_or(Value::Null);
        if status != 200 {
            failures.push(format!(
                "{query}: HTTP {status}: {}",
                bundle["issue"][0]["diagnostics"]
            ));
            continue;
        }
        let mut got = typed_entries(&bundle, "match");
        let mut want: Vec<String> = matches.iter().map(|m| (*m).to_owned()).collect();
        if !query.contains("_sort") {
            got.sort();
            want.sort();
        }
        if got != want {
            failures.push(format!("{query}: matches {got:?}, expected {want:?}"));
        }
        let got_included: BTreeSet<String> =
            typed_entries(&bundle, "include").into_iter().collect();
        if got_included != included {
            failures.push(format!(
                "{query}: includes {got_included:?}, expected {included:?}"
            ));
        }
        if let Some(total) = total {
            if bundle["total"].as_u64() != Some(total) {
                failures.push(format!(
                    "{query}: total {}, expected {total}",
                    bundle["total"]
                ));
            }
        }
    }
    assert!(queries >= 50, "only {queries} fixture queries");
    failures
}
