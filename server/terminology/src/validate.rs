//! `$validate-code` on a ValueSet or a CodeSystem: is this code (or Coding,
//! or CodeableConcept) valid — does its code system exist and have the code,
//! is it in the value set, is its display right, is it active — answered as
//! the operation's output Parameters with an OperationOutcome of every issue.
//! <https://hl7.org/fhir/R4/valueset-operation-validate-code.html>

use serde_json::{json, Value};

use crate::code_system::CodeSystem;
use crate::expand::{self, canonical_of, Options, SystemVersions};
use crate::outcome::TxIssue;
use crate::{Scope, TxError};

/// The form the code arrived in, which decides the paths issues name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `code` (+ `system`, `version`, `display`) parameters.
    Code,
    /// A `coding` parameter.
    Coding,
    /// A `codeableConcept` parameter.
    CodeableConcept,
}

/// One coding to check.
#[derive(Debug, Clone, Default)]
pub struct Coding {
    /// Its system.
    pub system: Option<String>,
    /// Its system's version.
    pub version: Option<String>,
    /// The code.
    pub code: Option<String>,
    /// The display it claims.
    pub display: Option<String>,
}

impl Coding {
    /// Reads a Coding JSON object.
    pub fn from_json(coding: &Value) -> Coding {
        let text = |key: &str| coding.get(key).and_then(Value::as_str).map(str::to_owned);
        Coding {
            system: text("system"),
            version: text("version"),
            code: text("code"),
            display: text("display"),
        }
    }
}

/// A `$validate-code` request, parameters read.
#[derive(Debug, Clone)]
pub struct Request {
    /// How the code arrived.
    pub form: Form,
    /// The codings (one, except for a CodeableConcept).
    pub codings: Vec<Coding>,
    /// The CodeableConcept as sent, echoed in the answer.
    pub codeable_concept: Option<Value>,
    /// Whether a code without a system may take the one system of the value set that has it.
    pub infer_system: bool,
    /// Whether inactive codes count as invalid.
    pub active_only: bool,
    /// Whether abstract (not selectable) codes are acceptable.
    pub abstract_allowed: bool,
    /// Whether a wrong display is only a warning.
    pub lenient_display: bool,
    /// Code system versions the request pins.
    pub versions: SystemVersions,
    /// The language displays are asked in (`displayLanguage` or `Accept-Language`), as sent.
    pub display_language: Option<String>,
}

impl Default for Request {
    fn default() -> Request {
        Request {
            form: Form::Code,
            codings: Vec::new(),
            codeable_concept: None,
            infer_system: false,
            active_only: false,
            abstract_allowed: true,
            lenient_display: false,
            versions: SystemVersions::default(),
            display_language: None,
        }
    }
}

/// What checking one coding found.
#[derive(Debug, Default)]
struct Checked {
    /// Whether it is valid (in the code system, and in the value set if one is asked about).
    valid: bool,
    issues: Vec<TxIssue>,
    /// The system, version, code and display as the code system has them.
    system: Option<String>,
    version: Option<String>,
    code: Option<String>,
    display: Option<String>,
    inactive: bool,
    status: Option<String>,
    unknown_system: Option<String>,
    /// Whether the unknown system is one the value set itself names.
    caused_by_value_set: bool,
    /// Whether the code system has the code.
    found: bool,
    /// The code as the code system writes it, when the request wrote it in another case.
    normalized: Option<String>,
    /// Whether the code is in the value set (whatever else is wrong).
    member: bool,
}

/// Validates `request` against `value_set`, or against the code systems
/// alone (`CodeSystem/$validate-code`) without one.
pub fn validate_code(
    scope: &Scope,
    value_set: Option<&Value>,
    request: &Request,
) -> Result<Value, TxError> {
    // A value set that cannot be expanded because something it names is
    // missing still gets an answer: not valid, and why.
    let (members, problem) = match value_set {
        Some(vs) => {
            // Membership by code; which version a coding is read in is
            // decided per coding (`choose_version`). Forced versions hold.
            let options = Options {
                versions: SystemVersions {
                    force: request.versions.force.clone(),
                    ..SystemVersions::default()
                },
                ..Options::default()
            };
            match expand::expand(scope, vs, &options) {
                Ok(members) => (Some(members), None),
                Err(error) if error.status == 404 => (None, Some(error)),
                Err(error) => return Err(error),
            }
        }
        None => (None, None),
    };
    let vs_name = value_set.map(canonical_of);
    // The systems the value set includes directly, with the versions it pins.
    let includes: Vec<(String, Option<String>)> = value_set
        .and_then(|vs| vs.pointer("/compose/include"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|include| {
            Some((
                include.get("system")?.as_str()?.to_owned(),
                include
                    .get("version")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ))
        })
        .collect();
    // Concepts the value set lists as deprecated (in it, not in their system).
    let deprecated: Vec<(String, String)> = value_set
        .and_then(|vs| vs.pointer("/compose/include"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|include| {
            let system = include.get("system").and_then(Value::as_str).unwrap_or_default();
            include
                .get("concept")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|concept| {
                    concept
                        .get("extension")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|e| match e.get("url").and_then(Value::as_str) {
                            Some("http://hl7.org/fhir/StructureDefinition/valueset-deprecated") => {
                                e.get("valueCode").and_then(Value::as_str) == Some("true")
                                    || e.get("valueBoolean") == Some(&Value::Bool(true))
                            }
                            Some("http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status") => {
                                e.get("valueCode").and_then(Value::as_str) == Some("deprecated")
                            }
                            _ => false,
                        })
                })
                .filter_map(move |concept| {
                    Some((system.to_owned(), concept.get("code")?.as_str()?.to_owned()))
                })
        })
        .collect();
    let mut results: Vec<Checked> = Vec::new();
    for (n, coding) in request.codings.iter().enumerate() {
        let path = match request.form {
            Form::Code => String::new(),
            Form::Coding => "Coding".to_owned(),
            Form::CodeableConcept => format!("CodeableConcept.coding[{n}]"),
        };
        let judged_vs = if problem.is_some() {
            None
        } else {
            vs_name.as_deref()
        };
        let context = Judged {
            members: members.as_deref(),
            vs_name: judged_vs,
            in_value_set: value_set.is_some(),
            includes: &includes,
            deprecated: &deprecated,
            active_only: value_set
                .and_then(|vs| vs.pointer("/compose/inactive"))
                .is_some_and(|inactive| inactive == &Value::Bool(false)),
        };
        let mut result = check(scope, &context, request, coding, &path);
        if let Some(problem) = &problem {
            let same_system = problem.missing_code_system.is_some()
                && problem.missing_code_system == result.system;
            if same_system {
                result.caused_by_value_set = true;
            } else if !result.issues.contains(&problem.issue) {
                result.issues.push((*problem.issue).clone());
            }
            result.valid = false;
        }
        results.push(result);
    }
    let valid_index = results.iter().position(|r| r.valid);
    // Codings of systems we do not know (local codes, often) beside a valid
    // one are no error; a wrong code of a known system still is.
    if let Some(valid) = valid_index {
        for (n, result) in results.iter_mut().enumerate() {
            if n != valid {
                for issue in &mut result.issues {
                    if issue.severity == "error" && issue.tx_code == "not-found" {
                        issue.severity = "warning";
                    }
                }
            }
        }
    }
    let mut issues: Vec<TxIssue> = Vec::new();
    // "No valid coding" is said when no coding is in the value set (not when
    // one is, but fails on its version).
    if request.form == Form::CodeableConcept
        && problem.is_none()
        && !results.iter().any(|r| r.valid || r.member)
    {
        if let Some(vs) = &vs_name {
            issues.push(
                TxIssue::error(
                    "code-invalid",
                    "not-in-vs",
                    format!("No valid coding was found for the value set '{vs}'"),
                )
                .id("TX_GENERAL_CC_ERROR_MESSAGE"),
            );
        }
    }
    if let Some(vs) = value_set {
        let standards = vs
            .get("extension")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|e| {
                e.get("url").and_then(Value::as_str)
                    == Some("http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status")
            })
            .and_then(|e| e.get("valueCode"))
            .and_then(Value::as_str);
        issues.extend(status_checks(
            "ValueSet",
            &canonical_of(vs),
            vs.get("status").and_then(Value::as_str),
            vs.get("experimental") == Some(&Value::Bool(true)),
            standards,
        ));
    }
    for result in &results {
        for issue in &result.issues {
            if !issues.contains(issue) {
                issues.push(issue.clone());
            }
        }
    }
    let chosen = valid_index.map(|i| &results[i]).or_else(|| results.first());
    let mut parameters = Vec::new();
    if let Some(cc) = &request.codeable_concept {
        parameters.push(json!({"name": "codeableConcept", "valueCodeableConcept": cc}));
    }
    if let Some(chosen) = chosen {
        if request.form != Form::CodeableConcept || valid_index.is_some() || chosen.member {
            if let Some(code) = &chosen.code {
                parameters.push(json!({"name": "code", "valueCode": code}));
            }
            if let Some(system) = &chosen.system {
                parameters.push(json!({"name": "system", "valueUri": system}));
            }
            if let Some(version) = &chosen.version {
                parameters.push(json!({"name": "version", "valueString": version}));
            }
            if let Some(display) = &chosen.display {
                parameters.push(json!({"name": "display", "valueString": display}));
            }
            if chosen.inactive {
                parameters.push(json!({"name": "inactive", "valueBoolean": true}));
            }
            if let Some(normalized) = &chosen.normalized {
                parameters.push(json!({"name": "normalized-code", "valueCode": normalized}));
            }
            if let Some(status) = chosen.status.as_deref().filter(|s| *s != "active") {
                parameters.push(json!({"name": "status", "valueCode": status}));
            }
        }
        if let Some(system) = &chosen.unknown_system {
            let name = if chosen.caused_by_value_set {
                "x-caused-by-unknown-system"
            } else {
                "x-unknown-system"
            };
            parameters.push(json!({"name": name, "valueCanonical": system}));
        }
    }
    // The message repeats the errors and warnings, in alphabetical order as
    // other servers give them.
    let errors = issues.iter().filter(|i| i.severity == "error").count();
    let mut message: Vec<&str> = issues
        .iter()
        .filter(|i| {
            i.severity == "error"
                || (i.severity == "warning"
                    && i.tx_code != "vs-invalid"
                    && !matches!(
                        i.message_id,
                        Some("UNKNOWN_CODE_IN_FRAGMENT" | "CONCEPT_DEPRECATED_IN_VALUESET")
                    ))
        })
        .map(|i| i.text.as_str())
        .collect();
    if message.is_empty() {
        // A display accepted in the default language is still worth saying.
        message.extend(
            issues
                .iter()
                .filter(|i| i.tx_code == "invalid-display")
                .map(|i| i.text.as_str()),
        );
    }
    message.sort_unstable();
    message.dedup();
    let valid = valid_index.is_some() && errors == 0;
    parameters.push(json!({"name": "result", "valueBoolean": valid}));
    if !message.is_empty() {
        parameters.push(json!({"name": "message", "valueString": message.join("; ")}));
    }
    if !issues.is_empty() {
        parameters.push(json!({"name": "issues", "resource": {
            "resourceType": "OperationOutcome",
            "issue": issues.iter().map(TxIssue::to_json).collect::<Vec<_>>(),
        }}));
    }
    Ok(json!({"resourceType": "Parameters", "parameter": parameters}))
}

/// The path of element `name` under `path` (`Coding.code`, or `code` for bare codes).
fn at(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Checks one coding.
/// What a coding is judged against: the value set's members, its name and
/// the systems (with pinned versions) it includes.
struct Judged<'a> {
    members: Option<&'a expand::Expansion>,
    vs_name: Option<&'a str>,
    /// Whether a value set is asked about (even one that cannot be expanded).
    in_value_set: bool,
    /// Whether the value set leaves inactive codes out (`compose.inactive` false).
    active_only: bool,
    /// The (system, code)s the value set marks deprecated.
    deprecated: &'a [(String, String)],
    includes: &'a [(String, Option<String>)],
}

fn check(
    scope: &Scope,
    judged: &Judged,
    request: &Request,
    coding: &Coding,
    path: &str,
) -> Checked {
    let (members, vs_name) = (judged.members, judged.vs_name);
    let mut out = Checked {
        code: coding.code.clone(),
        system: coding.system.clone(),
        version: coding.version.clone(),
        ..Checked::default()
    };
    let in_cc = request.form == Form::CodeableConcept;
    // "Not in the value set", when a value set is asked about.
    let not_in = |system: Option<&str>, code: &str| {
        vs_name.map(|vs| not_in_vs(system, code, coding.display.as_deref(), vs, path, in_cc))
    };
    let Some(code) = coding.code.as_deref() else {
        out.issues.push(
            TxIssue::error(
                "invalid",
                "invalid-data",
                "No code was provided, so nothing can be validated",
            )
            .at(at(path, "code")),
        );
        return out;
    };
    let system = match coding.system.as_deref() {
        Some(system) => system.to_owned(),
        None => {
            // The systems of the value set that have the code.
            let mut systems: Vec<&str> = members
                .map(|m| {
                    m.entries
                        .iter()
                        .filter(|e| e.code == code)
                        .map(|e| e.system.as_str())
                        .collect()
                })
                .unwrap_or_default();
            systems.sort_unstable();
            systems.dedup();
            let may_infer = request.infer_system || request.form == Form::Code;
            match (systems.as_slice(), may_infer, vs_name) {
                ([one], true, _) => {
                    out.system = Some((*one).to_owned());
                    (*one).to_owned()
                }
                (found, true, Some(vs)) => {
                    // Several candidates is a code problem; none, a missing system.
                    let issue_type = if found.is_empty() {
                        "not-found"
                    } else {
                        "code-invalid"
                    };
                    let why = if found.is_empty() {
                        let mut held: Vec<&str> = members
                            .map(|m| m.entries.iter().map(|e| e.system.as_str()).collect())
                            .unwrap_or_default();
                        held.sort_unstable();
                        held.dedup();
                        format!(
                            "the code is not in the value set's expansion (of [{}])",
                            held.join(", ")
                        )
                    } else {
                        format!(
                            "value set expansion has multiple matches: [{}]",
                            found.join(", ")
                        )
                    };
                    out.issues.push(
                        TxIssue::error(
                            issue_type,
                            "cannot-infer",
                            format!(
                                "The System URI could not be determined for the code '{code}' in the ValueSet '{vs}': {why}"
                            ),
                        )
                        .id("UNABLE_TO_INFER_CODESYSTEM")
                        .at(at(path, "code")),
                    );
                    out.issues.extend(not_in(None, code));
                    return out;
                }
                _ => {
                    out.issues.push(
                        TxIssue::warning(
                            "invalid",
                            "invalid-data",
                            "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided",
                        )
                        .id("Coding_has_no_system__cannot_validate")
                        .at(path_or(path, "code")),
                    );
                    out.issues.extend(not_in(None, code));
                    return out;
                }
            }
        }
    };
    if !system.contains(':') {
        out.issues.push(
            TxIssue::error(
                "invalid",
                "invalid-data",
                format!(
                    "{} must be an absolute reference, not a local reference",
                    at(path_or(path, "Coding").as_str(), "system")
                ),
            )
            .id("Terminology_TX_System_Relative")
            .at(at(path, "system")),
        );
    }
    // Grammars (language tags, MIME types): a code is whatever is well formed.
    if crate::grammar::is_grammar(&system) {
        if crate::grammar::accepts(&system, code) {
            out.found = true;
            out.member = members.is_none_or(|m| m.contains(&system, code));
            out.valid = out.member || vs_name.is_none();
            if !out.member {
                out.issues.extend(not_in(Some(&system), code));
            }
        } else {
            out.issues.push(
                TxIssue::error(
                    "code-invalid",
                    "invalid-code",
                    format!("Unknown code '{code}' in the CodeSystem '{system}'"),
                )
                .id("Unknown_Code_in")
                .at(at(path, "code")),
            );
            out.issues.extend(not_in(Some(&system), code));
        }
        return out;
    }
    // One include of the system: its version, the request's version
    // parameters and the coding's version decide together.
    let pinned: Vec<&Option<String>> = judged
        .includes
        .iter()
        .filter(|(s, _)| *s == system)
        .map(|(_, v)| v)
        .collect();
    let mut version_errors = false;
    let mut chosen: Option<std::sync::Arc<CodeSystem>> = None;
    if let ([include], true) = (pinned.as_slice(), judged.in_value_set) {
        if !scope.code_system_versions(&system).is_empty() {
            let choice = choose_version(scope, &system, include.as_deref(), coding, request, path);
            version_errors = choice.issues.iter().any(|i| i.severity == "error");
            out.issues.extend(choice.issues);
            if choice.unknown.is_some() {
                out.unknown_system = choice.unknown;
                out.caused_by_value_set = true;
            }
            chosen = choice.cs;
        }
    }
    // Otherwise: the forced version, the coding's, or the value set's latest.
    let version = chosen
        .is_none()
        .then(|| {
            request
                .versions
                .force
                .get(&system)
                .cloned()
                .or_else(|| coding.version.clone())
                .or_else(|| {
                    // The latest version the value set holds the code in (else of the system).
                    members.and_then(|m| {
                        let of_system = || m.entries.iter().filter(|e| e.system == system);
                        let latest = |entries: Vec<&expand::Entry>| {
                            entries
                                .into_iter()
                                .filter_map(|e| e.version.clone())
                                .max_by(|a, b| crate::compare_versions(a, b))
                        };
                        latest(of_system().filter(|e| e.code == code).collect())
                            .or_else(|| latest(of_system().collect()))
                    })
                })
                .or_else(|| request.versions.default.get(&system).cloned())
        })
        .flatten();
    let Some(cs) = chosen.or_else(|| scope.code_system(&system, version.as_deref())) else {
        if scope.value_set(&system, None).is_some() {
            out.issues.push(
                TxIssue::error(
                    "invalid",
                    "invalid-data",
                    format!("The Coding references a value set, not a code system ('{system}')"),
                )
                .id("Terminology_TX_System_ValueSet2")
                .at(at(path, "system")),
            );
            out.issues.extend(not_in(Some(&system), code));
            return out;
        }
        let known = scope.code_system_versions(&system);
        let text = match (&version, known.is_empty()) {
            (Some(version), false) => format!(
                "A definition for CodeSystem '{system}' version '{version}' could not be found, so the code cannot be validated. Valid versions: {}",
                known.join(" or ")
            ),
            (Some(version), true) => format!(
                "A definition for CodeSystem '{system}' version '{version}' could not be found, so the code cannot be validated. No versions of this code system are known"
            ),
            // Inside a value set that was expanded, the system is named bare.
            (None, _) if members.is_some() && system.contains(':') => format!(
                "A definition for CodeSystem {system} could not be found, so the code cannot be validated"
            ),
            (None, _) => format!(
                "A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"
            ),
        };
        out.issues.push(
            TxIssue::error("not-found", "not-found", text)
                .id(match (&version, known.is_empty()) {
                    (Some(_), false) => "UNKNOWN_CODESYSTEM_VERSION",
                    (Some(_), true) => "UNKNOWN_CODESYSTEM_VERSION_NONE",
                    (None, _) => "UNKNOWN_CODESYSTEM",
                })
                .at(at(path, "system")),
        );
        out.issues.extend(not_in(Some(&system), code));
        // A system we hold no version of is unknown as a whole.
        out.unknown_system = Some(match &version {
            Some(version) if !known.is_empty() => format!("{system}|{version}"),
            _ => system.clone(),
        });
        out.version = None;
        return out;
    };
    out.version = cs.version.clone();
    out.issues.extend(status_checks(
        "CodeSystem",
        &cs.versioned_url(),
        cs.status.as_deref(),
        cs.experimental,
        cs.standards_status.as_deref(),
    ));
    if cs.content == "supplement" {
        out.issues.push(
            TxIssue::error(
                "invalid",
                "invalid-data",
                format!(
                    "CodeSystem {} is a supplement, so can't be used as a value in Coding.system",
                    cs.versioned_url()
                ),
            )
            .id("CODESYSTEM_CS_NO_SUPPLEMENT")
            .at(at(path, "system")),
        );
        return out;
    }
    let Some(index) = cs.index(code) else {
        let issue = if cs.content == "fragment" {
            TxIssue::warning(
                "code-invalid",
                "invalid-code",
                format!(
                    "Unknown Code '{code}' in the CodeSystem '{}' version '{}' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment",
                    cs.url,
                    cs.version.as_deref().unwrap_or_default()
                ),
            )
            .id("UNKNOWN_CODE_IN_FRAGMENT")
        } else {
            TxIssue::error("code-invalid", "invalid-code", unknown_code(&cs, code)).id(
                if cs.version.is_some() {
                    "Unknown_Code_in_Version"
                } else {
                    "Unknown_Code_in"
                },
            )
        };
        let fragment = cs.content == "fragment";
        out.issues.push(issue.at(at(path, "code")));
        if !fragment {
            out.issues.extend(not_in(Some(&system), code));
        }
        // A code a fragment lacks may be valid: not an error, in the value set or not.
        out.valid = fragment;
        return out;
    };
    let concept = &cs.concepts[index];
    out.found = true;
    let language = request
        .display_language
        .as_deref()
        .and_then(crate::first_language);
    out.display = cs.display_in(index, language);
    out.inactive = concept.inactive;
    out.status = concept.status.clone();
    if concept.code != code {
        out.normalized = Some(concept.code.clone());
        out.issues.push(
            TxIssue::information(
                "business-rule",
                "code-rule",
                format!(
                    "The code '{code}' differs from the correct code '{}' by case. Although the code system '{}' is case insensitive, implementers are strongly encouraged to use the correct case anyway",
                    concept.code,
                    cs.versioned_url()
                ),
            )
            .id("CODE_CASE_DIFFERENCE")
            .at(at(path, "code")),
        );
    }
    let mut valid = true;
    if let (Some(members), Some(vs)) = (members, vs_name) {
        let member = members.contains(&system, &concept.code);
        out.member = member;
        if member
            && judged
                .deprecated
                .iter()
                .any(|(s, c)| *s == system && *c == concept.code)
        {
            out.issues.push(
                TxIssue::warning(
                    "business-rule",
                    "code-comment",
                    format!(
                        "The presence of the concept '{}' in the system '{system}' in the value set {vs} is marked with a status of deprecated and its use should be reviewed",
                        concept.code
                    ),
                )
                .id("CONCEPT_DEPRECATED_IN_VALUESET")
                .at(at(path, "code")),
            );
        }
        if !member {
            out.issues.extend(not_in(Some(&system), &concept.code));
            valid = false;
        }
    }
    if let Some(display) = coding.display.as_deref() {
        let before = out.issues.len();
        check_display(&cs, index, display, request, path, &mut out.issues);
        // A wrong display makes the answer "not valid", unless the request is
        // lenient about displays (then it is a warning).
        let wrong = out.issues[before..]
            .iter()
            .any(|i| i.tx_code == "invalid-display" && i.severity != "information");
        if wrong && !request.lenient_display {
            valid = false;
        }
    }
    if concept.inactive {
        let status = match concept.status.as_deref().unwrap_or("inactive") {
            "inactive" => "inactive".to_owned(),
            other => format!("{other} and inactive"),
        };
        out.issues.push(
            TxIssue::warning(
                "business-rule",
                "code-comment",
                format!(
                    "The concept '{code}' has a status of {status} and its use should be reviewed"
                ),
            )
            .id("INACTIVE_CONCEPT_FOUND")
            .at(path_or(path, "code")),
        );
        if request.active_only || judged.active_only {
            // Not active is not in the value set, for this request.
            out.issues.push(
                TxIssue::error(
                    "business-rule",
                    "code-rule",
                    format!("The concept '{code}' is valid but is not active"),
                )
                .id("STATUS_CODE_WARNING_CODE")
                .at(at(path, "code")),
            );
            if out.member {
                out.issues.extend(not_in(Some(&system), &concept.code));
            }
            valid = false;
        }
    } else if concept.deprecated() {
        out.issues.push(
            TxIssue::warning(
                "business-rule",
                "code-comment",
                format!("The concept '{code}' is deprecated and its use should be reviewed"),
            )
            .id("DEPRECATED_CONCEPT_FOUND")
            .at(path_or(path, "code")),
        );
    }
    if concept.abstract_ && !request.abstract_allowed {
        out.issues.push(
            TxIssue::error(
                "business-rule",
                "code-rule",
                format!("Code '{system}#{code}' is abstract, and not allowed in this context"),
            )
            .id("ABSTRACT_CODE_NOT_ALLOWED")
            .at(at(path, "code")),
        );
        // Not selectable here means not in the value set, for this request.
        if out.member {
            out.issues.extend(not_in(Some(&system), &concept.code));
        }
        valid = false;
    }
    out.valid = valid && !version_errors;
    out
}

/// `path` itself, or `name` for bare codes (which have no enclosing element).
fn path_or(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        path.to_owned()
    }
}

fn unknown_code(cs: &CodeSystem, code: &str) -> String {
    match &cs.version {
        Some(version) => format!(
            "Unknown code '{code}' in the CodeSystem '{}' version '{version}'",
            cs.url
        ),
        None => format!("Unknown code '{code}' in the CodeSystem '{}'", cs.url),
    }
}

/// The issue for a code not in the value set: an error, or information for
/// one coding of a CodeableConcept (the concept as a whole is judged once).
fn not_in_vs(
    system: Option<&str>,
    code: &str,
    display: Option<&str>,
    vs: &str,
    path: &str,
    in_cc: bool,
) -> TxIssue {
    let mut coded = format!("{}#{code}", system.unwrap_or_default());
    if let Some(display) = display {
        coded = format!("{coded} ('{display}')");
    }
    let text = format!("The provided code '{coded}' was not found in the value set '{vs}'");
    let issue = if in_cc {
        TxIssue::information("code-invalid", "this-code-not-in-vs", text)
    } else {
        TxIssue::error("code-invalid", "not-in-vs", text)
    };
    let issue = issue.id("None_of_the_provided_codes_are_in_the_value_set_one");
    issue.at(at(path, "code"))
}

/// Checks a claimed display against the concept's displays in the language
/// asked for (any language without one).
fn check_display(
    cs: &CodeSystem,
    index: usize,
    display: &str,
    request: &Request,
    path: &str,
    issues: &mut Vec<TxIssue>,
) {
    let concept = &cs.concepts[index];
    let asked = request.display_language.as_deref();
    let language = asked.and_then(crate::first_language);
    let all = cs.displays(index);
    let candidates: Vec<(&str, Option<&str>)> = match language {
        Some(wanted) => all
            .iter()
            .copied()
            .filter(|(_, l)| l.is_none_or(|l| crate::language_matches(wanted, l)))
            .collect(),
        None => all.clone(),
    };
    // Case is forgiven; spacing is not (`Display  1` is another display).
    let normal = |s: &str| s.to_lowercase();
    if candidates.iter().any(|(v, _)| normal(v) == normal(display)) {
        return;
    }
    // Nothing in the language asked for, but right in the default language: fine.
    if let (true, Some(asked)) = (candidates.is_empty(), asked) {
        if all.iter().any(|(v, _)| normal(v) == normal(display)) {
            issues.push(
                TxIssue::information(
                    "invalid",
                    "invalid-display",
                    format!(
                        "There are no valid display names found for the code {}#{} for language(s) '{asked}'. The display is '{display}' which is a valid display for the default language",
                        cs.url, concept.code
                    ),
                )
                .id("NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK")
                .at(at(path, "display")),
            );
            return;
        }
    }
    let named = |(text, language): &(&str, Option<&str>)| match language {
        Some(language) => format!("'{text}' ({language})"),
        None => format!("'{text}'"),
    };
    let coded = format!("{}#{}", cs.url, concept.code);
    let mut text = match candidates.as_slice() {
        [] if language.is_some() => format!(
            "Wrong Display Name '{display}' for {coded}. There are no valid display names found for language(s) '{}'. Default display is '{}'",
            asked.unwrap_or_default(),
            concept.display.as_deref().unwrap_or_default()
        ),
        [] => format!("Wrong Display Name '{display}' for {coded}: the code has no display"),
        [one] => format!(
            "Wrong Display Name '{display}' for {coded}. Valid display is {}",
            named(one)
        ),
        many => format!(
            "Wrong Display Name '{display}' for {coded}. Valid display is one of {} choices: {}",
            many.len(),
            many.iter().map(named).collect::<Vec<_>>().join(" or ")
        ),
    };
    if !(candidates.is_empty() && language.is_some()) {
        text.push_str(&format!(
            " (for the language(s) '{}')",
            asked.unwrap_or("--")
        ));
    }
    let warning = request.lenient_display;
    let issue = if warning {
        TxIssue::warning("invalid", "invalid-display", text)
    } else {
        TxIssue::error("invalid", "invalid-display", text)
    };
    // Right but for its spacing is told apart.
    let spaced = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let only_spacing = candidates.iter().any(|(v, _)| spaced(v) == spaced(display));
    let issue = if only_spacing {
        TxIssue {
            text: issue
                .text
                .replacen("Wrong Display Name", "Wrong whitespace in Display Name", 1),
            ..issue
        }
        .id("Display_Name_WS_for__should_be_one_of__instead_of")
    } else if candidates.is_empty() && language.is_some() {
        issue.id("NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR")
    } else {
        issue.id("Display_Name_for__should_be_one_of__instead_of")
    };
    issues.push(issue.at(at(path, "display")));
}

/// Information on a definition used that is draft, experimental,
/// deprecated or withdrawn.
fn status_checks(
    kind: &str,
    canonical: &str,
    status: Option<&str>,
    experimental: bool,
    standards_status: Option<&str>,
) -> Vec<TxIssue> {
    expand::status_warnings(status, experimental, standards_status)
        .into_iter()
        .filter(|(name, applies)| {
            *applies
                && (kind == "CodeSystem"
                    || matches!(*name, "warning-deprecated" | "warning-withdrawn"))
        })
        .map(|(name, _)| {
            let what = name.trim_start_matches("warning-");
            TxIssue::information(
                "business-rule",
                "status-check",
                format!("Reference to {what} {kind} {canonical}"),
            )
            .id(match what {
                "draft" => "MSG_DRAFT",
                "experimental" => "MSG_EXPERIMENTAL",
                "deprecated" => "MSG_DEPRECATED",
                _ => "MSG_WITHDRAWN",
            })
        })
        .collect()
}

/// The code system version a coding is checked in, when the value set
/// includes its system once, and the issues on the way.
struct VersionChoice {
    cs: Option<std::sync::Arc<CodeSystem>>,
    issues: Vec<TxIssue>,
    /// `system|version` of a version that was asked for and is not held.
    unknown: Option<String>,
}

/// Where the version the value set is read at came from.
#[derive(PartialEq)]
enum Source {
    /// `force-system-version`.
    Force,
    /// The include's own `version`.
    Include,
    /// `system-version` or `check-system-version`, for a versionless include.
    Parameter,
    /// Nothing: the latest version held.
    Latest,
}

fn choose_version(
    scope: &Scope,
    system: &str,
    include: Option<&str>,
    coding: &Coding,
    request: &Request,
    path: &str,
) -> VersionChoice {
    let versions = &request.versions;
    let known = scope.code_system_versions(system).join(" or ");
    let coded = coding.version.as_deref();
    let coded_cs = coded.and_then(|v| scope.code_system(system, Some(v)));
    let fallback = versions
        .default
        .get(system)
        .or_else(|| versions.check.get(system))
        .map(String::as_str);
    let (stated, source) = if let Some(forced) = versions.force.get(system) {
        (Some(forced.as_str()), Source::Force)
    } else if let Some(include) = include {
        (Some(include), Source::Include)
    } else if coded_cs.is_some() {
        (None, Source::Latest)
    } else if let Some(fallback) = fallback {
        (Some(fallback), Source::Parameter)
    } else {
        (None, Source::Latest)
    };
    // A coding's version that the stated one allows is the one used.
    let resolved = match (stated, &coded_cs) {
        (Some(stated), Some(cs))
            if cs
                .version
                .as_deref()
                .is_some_and(|v| crate::version_matches(stated, v)) =>
        {
            Some(cs.clone())
        }
        (stated, _) => scope.code_system(system, stated),
    };
    let not_found = |version: &str| {
        TxIssue::error(
            "not-found",
            "not-found",
            format!(
                "A definition for CodeSystem '{system}' version '{version}' could not be found, so the code cannot be validated. Valid versions: {known}"
            ),
        )
        .id("UNKNOWN_CODESYSTEM_VERSION")
        .at(at(path, "system"))
    };
    let mismatch = |text: String, severity: &'static str, id: &'static str| {
        let issue = TxIssue::error("invalid", "vs-invalid", text)
            .id(id)
            .at(at(path, "version"));
        TxIssue { severity, ..issue }
    };
    let mut choice = VersionChoice {
        cs: None,
        issues: Vec::new(),
        unknown: None,
    };
    let Some(cs) = resolved else {
        // The value set pins a version we do not hold.
        let stated = stated.unwrap_or_default();
        choice.issues.push(not_found(stated));
        choice.unknown = Some(format!("{system}|{stated}"));
        if let Some(coded) = coded.filter(|c| *c != stated) {
            choice.issues.push(mismatch(
                format!(
                    "The code system '{system}' version '{stated}' in the ValueSet include is different to the one in the value ('{coded}')"
                ),
                "error",
                "VALUESET_VALUE_MISMATCH",
            ));
        }
        choice.cs = coded_cs.or_else(|| scope.code_system(system, fallback));
        return choice;
    };
    let used = cs.version.clone().unwrap_or_default();
    if let Some(coded) = coded {
        if coded_cs.is_none() {
            choice.issues.push(not_found(coded));
            choice.unknown = Some(format!("{system}|{coded}"));
        }
    }
    if let Some(required) = versions.check.get(system) {
        if !crate::version_matches(required, &used) {
            choice.issues.push(
                TxIssue::error(
                    "exception",
                    "version-error",
                    format!(
                        "The version '{used}' is not allowed for system '{system}': required to be '{required}' by a version-check parameter"
                    ),
                )
                .id("VALUESET_VERSION_CHECK")
                .at(at(path, "version")),
            );
        }
    }
    if let Some(coded) = coded.filter(|c| *c != used) {
        let issue = match source {
            Source::Include => mismatch(
                format!(
                    "The code system '{system}' version '{used}' in the ValueSet include is different to the one in the value ('{coded}')"
                ),
                "error",
                "VALUESET_VALUE_MISMATCH",
            ),
            Source::Force | Source::Parameter => mismatch(
                format!(
                    "The code system '{system}' version '{}' resulting from the version '{}' in the ValueSet include is different to the one in the value ('{coded}')",
                    stated.unwrap_or_default(),
                    include.unwrap_or_default()
                ),
                "error",
                "VALUESET_VALUE_MISMATCH_CHANGED",
            ),
            Source::Latest if coded_cs.is_some() => mismatch(
                format!(
                    "The code system '{system}' version '{used}' in the ValueSet include is different to the one in the value ('{coded}')"
                ),
                "error",
                "VALUESET_VALUE_MISMATCH",
            ),
            Source::Latest => mismatch(
                format!(
                    "The code system '{system}' version '{used}' for the versionless include in the ValueSet include is different to the one in the value ('{coded}')"
                ),
                "warning",
                "VALUESET_VALUE_MISMATCH_DEFAULT",
            ),
        };
        choice.issues.push(issue);
    }
    choice.cs = Some(cs);
    choice
}
