//! `tillit validate`: validates files like the HL7 validator's command line —
//! JSON resources and Bundles, NDJSON, and folders of them — against their base
//! definitions, declared profiles and `--profile`; prints a summary per file and
//! every issue with its location, and exits with status 1 when an error is found.
//! Needs no database.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tillit_model::{Issue, IssueSeverity, IssueType};
use tillit_validation::{locate, Validator};

use crate::config::Config;
use crate::startup::{self, StartupError};

/// One resource read from a file, with where it was.
struct Input {
    /// The file, and the line for NDJSON.
    label: String,
    /// The JSON text, for line and column of issues (whole files only).
    text: Option<String>,
    /// The resource, or why it could not be read.
    resource: Result<Value, Issue>,
    /// The line of an NDJSON resource, added to the issues' lines.
    line: Option<usize>,
}

/// How failed best-practice invariants are reported.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum BestPractice {
    /// Not checked.
    Ignore,
    /// As information.
    Information,
    /// As warnings.
    Warning,
    /// As errors.
    Error,
}

/// What `tillit validate` was asked beyond the paths.
pub struct Options<'a> {
    /// Profiles (canonical URLs) every resource must conform to.
    pub profiles: &'a [String],
    /// Where to write the outcome, if anywhere.
    pub output: Option<&'a Path>,
    /// How failed best-practice invariants are reported.
    pub best_practice: BestPractice,
}

/// Validates `paths`; returns whether no error was found.
pub fn run(config: &Config, paths: &[PathBuf], options: &Options) -> Result<bool, StartupError> {
    let (_, validator) = startup::load_definitions(&config.packages)?;
    let validator = validator.with_best_practice(match options.best_practice {
        BestPractice::Ignore => None,
        BestPractice::Information => Some(IssueSeverity::Information),
        BestPractice::Warning => Some(IssueSeverity::Warning),
        BestPractice::Error => Some(IssueSeverity::Error),
    });
    let (profiles, output) = (options.profiles, options.output);
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    if files.is_empty() {
        return Err(StartupError::Other(
            "no .json or .ndjson files to validate".into(),
        ));
    }
    let profiles: Vec<&str> = profiles.iter().map(String::as_str).collect();
    let mut outcomes = Vec::new();
    let (mut total_errors, mut total_warnings, mut resources) = (0, 0, 0);
    for file in &files {
        for input in read(file)? {
            resources += 1;
            let issues = check(&validator, &input, &profiles);
            let errors = issues.iter().filter(|i| i.is_error()).count();
            let warnings = issues
                .iter()
                .filter(|i| i.severity == IssueSeverity::Warning)
                .count();
            total_errors += errors;
            total_warnings += warnings;
            let verdict = if errors == 0 { "valid" } else { "INVALID" };
            println!(
                "{}: {verdict} ({errors} errors, {warnings} warnings)",
                input.label
            );
            for issue in &issues {
                if issue.severity == IssueSeverity::Information {
                    continue;
                }
                let at = issue.expression.as_deref().unwrap_or("");
                let position = issue
                    .position
                    .map(|(l, c)| format!(" (line {l}, column {c})"))
                    .unwrap_or_default();
                println!(
                    "  {:7} {at}{position}: {}",
                    issue.severity.code(),
                    issue.diagnostics
                );
            }
            let mut outcome = tillit_model::operation_outcome(&issues);
            outcome["extension"] = json!([{
                "url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-file",
                "valueString": input.label,
            }]);
            outcomes.push(outcome);
        }
    }
    println!(
        "{resources} resources in {} files: {total_errors} errors, {total_warnings} warnings",
        files.len()
    );
    if let Some(output) = output {
        let document = match <[Value; 1]>::try_from(outcomes) {
            Ok([one]) => one,
            Err(many) => json!({
                "resourceType": "Bundle",
                "type": "collection",
                "entry": many.into_iter().map(|o| json!({"resource": o})).collect::<Vec<_>>(),
            }),
        };
        let text = serde_json::to_string_pretty(&document)
            .map_err(|e| StartupError::Other(e.to_string()))?;
        std::fs::write(output, text)
            .map_err(|e| StartupError::Other(format!("cannot write {}: {e}", output.display())))?;
    }
    Ok(total_errors == 0)
}

/// The issues of one input, located by line and column where the text is known.
fn check(validator: &Validator, input: &Input, profiles: &[&str]) -> Vec<Issue> {
    let resource = match &input.resource {
        Ok(resource) => resource,
        Err(issue) => return vec![issue.clone()],
    };
    let mut issues = validator.validate(resource, profiles);
    for issue in &mut issues {
        let Some(expression) = &issue.expression else {
            continue;
        };
        issue.position = match (&input.text, input.line) {
            (Some(text), _) => locate(text, expression),
            (None, Some(line)) => Some((line, 1)),
            _ => None,
        };
    }
    issues
}

/// The .json and .ndjson files under `path`, sorted.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), StartupError> {
    if path.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| StartupError::Other(format!("cannot read {}: {e}", path.display())))?;
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            if child.is_dir() || has_extension(&child) {
                collect(&child, out)?;
            }
        }
    } else if path.exists() {
        out.push(path.to_owned());
    } else {
        return Err(StartupError::Other(format!(
            "{} does not exist",
            path.display()
        )));
    }
    Ok(())
}

fn has_extension(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("json" | "ndjson")
    )
}

/// The resources of one file: one for JSON, one per line for NDJSON.
fn read(file: &Path) -> Result<Vec<Input>, StartupError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| StartupError::Other(format!("cannot read {}: {e}", file.display())))?;
    let text = text.trim_start_matches('\u{feff}').to_owned();
    let label = file.display().to_string();
    let parse = |text: &str| {
        serde_json::from_str::<Value>(text).map_err(|e| {
            Issue::error(IssueType::Structure, format!("not valid JSON: {e}"))
                .at_position(e.line(), e.column())
        })
    };
    if file.extension().and_then(|e| e.to_str()) == Some("ndjson") {
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| Input {
                label: format!("{label}:{}", n + 1),
                text: None,
                resource: parse(line),
                line: Some(n + 1),
            })
            .collect());
    }
    Ok(vec![Input {
        label,
        resource: parse(&text),
        text: Some(text),
        line: None,
    }])
}
